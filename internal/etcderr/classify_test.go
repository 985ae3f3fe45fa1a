package etcderr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock/internal/etcderr"
)

func TestClassify(t *testing.T) {
	// How a refused watch reaches the caller: etcd's client turns the
	// cancel reason (a status's full text) into a FailedPrecondition status,
	// or, when the watch never started, into a plain error of that text.
	watchRefused := status.Error(codes.FailedPrecondition, rpctypes.ErrGRPCPermissionDenied.Error())
	watchClosed := errors.New(rpctypes.ErrGRPCPermissionDenied.Error())
	for _, tc := range []struct {
		name string
		err  error
		want etcderr.Class
	}{
		{"nil", nil, etcderr.Other},
		{"plain error", errors.New("boom"), etcderr.Other},
		{"context canceled", context.Canceled, etcderr.Other},
		{"deadline exceeded status", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), etcderr.Other},

		{"no leader (client error)", rpctypes.ErrNoLeader, etcderr.Transient},
		{"no leader (status)", rpctypes.ErrGRPCNoLeader, etcderr.Transient},
		{"request timed out", rpctypes.ErrTimeout, etcderr.Transient},
		{"connection lost (gRPC)", status.Error(codes.Unavailable, "connection refused"), etcderr.Transient},
		{"wrapped unavailable", fmt.Errorf("fairlock: x: %w", rpctypes.ErrNoLeader), etcderr.Transient},

		{"permission denied (client error)", rpctypes.ErrPermissionDenied, etcderr.Refused},
		{"permission denied (status)", rpctypes.ErrGRPCPermissionDenied, etcderr.Refused},
		{"permission denied, wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", rpctypes.ErrPermissionDenied)),
			etcderr.Refused},
		{"permission denied, joined", errors.Join(errors.New("x"), rpctypes.ErrPermissionDenied), etcderr.Refused},
		{"refused watch (status of a status)", watchRefused, etcderr.Refused},
		{"refused watch (plain text of a status)", watchClosed, etcderr.Refused},
		{"refused watch, wrapped", fmt.Errorf("watch: %w", watchRefused), etcderr.Refused},
		{"authentication failed", rpctypes.ErrAuthFailed, etcderr.Refused},
		{"authentication failed (status)", rpctypes.ErrGRPCAuthFailed, etcderr.Refused},
		{"invalid auth token", rpctypes.ErrInvalidAuthToken, etcderr.Refused},
		{"invalid auth token as a watch's cancel reason", errors.New(rpctypes.ErrGRPCInvalidAuthToken.Error()),
			etcderr.Refused},
		{"auth revision old", rpctypes.ErrAuthOldRevision, etcderr.Refused},
		{"user not found", rpctypes.ErrUserNotFound, etcderr.Refused},
		{"role not found", rpctypes.ErrRoleNotFound, etcderr.Refused},
		{"no user on an auth-enabled server", rpctypes.ErrUserEmpty, etcderr.Refused},
		{"role not granted", rpctypes.ErrRoleNotGranted, etcderr.Refused},
		{"gRPC unauthenticated", status.Error(codes.Unauthenticated, "bad credentials"), etcderr.Refused},
		{"gRPC permission denied", status.Error(codes.PermissionDenied, "no"), etcderr.Refused},
		{"refused beside transient: refused decides", errors.Join(rpctypes.ErrNoLeader, rpctypes.ErrPermissionDenied),
			etcderr.Refused},

		{"lease not found", rpctypes.ErrLeaseNotFound, etcderr.Other},
		{"compacted", rpctypes.ErrCompacted, etcderr.Other},
		{"too many operations", rpctypes.ErrTooManyOps, etcderr.Other},
		{"auth not enabled", rpctypes.ErrAuthNotEnabled, etcderr.Other},
		{"text that merely mentions a refusal", errors.New("fairlock: not etcdserver: permission denied"), etcderr.Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := etcderr.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if got := etcderr.IsRefused(tc.err); got != (tc.want == etcderr.Refused) {
				t.Errorf("IsRefused(%v) = %v", tc.err, got)
			}
			if got := etcderr.IsTransient(tc.err); got != (tc.want == etcderr.Transient) {
				t.Errorf("IsTransient(%v) = %v", tc.err, got)
			}
		})
	}
}

// Refusal names etcd's client error value for a refusal, however it came,
// so that errors.Is matches it.
func TestRefusal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"nil", nil, nil},
		{"plain", errors.New("boom"), nil},
		{"no leader", rpctypes.ErrNoLeader, nil},
		{"client value", rpctypes.ErrPermissionDenied, rpctypes.ErrPermissionDenied},
		{"status", rpctypes.ErrGRPCAuthFailed, rpctypes.ErrAuthFailed},
		{"watch cancel reason in a status", status.Error(codes.FailedPrecondition, rpctypes.ErrGRPCPermissionDenied.Error()),
			rpctypes.ErrPermissionDenied},
		{"watch cancel reason as text", errors.New(rpctypes.ErrGRPCInvalidAuthToken.Error()), rpctypes.ErrInvalidAuthToken},
		{"wrapped", fmt.Errorf("x: %w", rpctypes.ErrGRPCUserNotFound), rpctypes.ErrUserNotFound},
		{"joined", errors.Join(rpctypes.ErrNoLeader, rpctypes.ErrRoleNotFound), rpctypes.ErrRoleNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := etcderr.Refusal(tc.err); !errors.Is(got, tc.want) {
				t.Errorf("Refusal(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
