package fairlock_test

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock"
)

// The connection error is found in gRPC's wording of every version the
// library supports (grpc 1.59 with etcd's client 3.5, 1.83 with 3.7), and
// nothing is made up when the error says nothing of a connection.
func TestConnCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"grpc 1.59", status.Error(codes.DeadlineExceeded,
			`latest balancer error: last connection error: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`),
			"dial tcp 127.0.0.1:1: connect: connection refused"},
		{"grpc 1.83", status.Error(codes.DeadlineExceeded,
			`latest balancer error: connection error: desc = "transport: Error while dialing: dial tcp: lookup etcd.invalid: no such host"`),
			"dial tcp: lookup etcd.invalid: no such host"},
		{"TLS", status.Error(codes.Unavailable,
			`connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake"`),
			"authentication handshake failed: tls: first record does not look like a TLS handshake"},
		{"unquoted", status.Error(codes.Unavailable, `last connection error: EOF`), "EOF"},
		{"no connection error", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), ""},
		{"another code", status.Error(codes.PermissionDenied, `connection error: desc = "x"`), ""},
		{"not a status", errors.New("connection error: desc = \"x\""), ""},
	} {
		if got := fairlock.ConnCause(tc.err); got != tc.want {
			t.Errorf("%s: connCause = %q, want %q", tc.name, got, tc.want)
		}
	}
}
