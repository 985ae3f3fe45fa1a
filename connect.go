package fairlock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Connect validates cfg, connects to etcd and opens the session that every
// lock of the returned Client is held through. It returns within ctx and
// cfg.DialTimeout, whichever ends first: an unreachable cluster is an error
// naming the endpoints and the last connection error gRPC saw (no such
// host, connection refused, a TLS handshake's failure) that matches
// ErrUnreachable, never a hang. It names the dial timeout when that ended
// the wait; when ctx ended it, the error matches ctx.Err() and does not. A
// bad Config is an error matching ErrNoEndpoints, ErrInvalidTTL or
// ErrInvalidDialTimeout, and nothing is dialled. On any error nothing is
// left behind: no client, no lease.
//
// ctx bounds Connect only; the Client lives until Close.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, cfg.ended(err, "")
	}
	var seen connErrs
	cli, err := newClient(ctx, clientv3.Config{
		Endpoints: cfg.Endpoints,
		// gRPC's own account of a failed dial ("no such host", "connection
		// refused", a TLS handshake's failure) reaches this interceptor
		// only: etcd's client replaces it with ctx.Err().
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(seen.interceptor)},
		DialTimeout: cfg.DialTimeout,
		TLS:         cfg.TLS,
		Username:    cfg.Username,
		Password:    cfg.Password,
		// etcd's client logs a JSON warning for every failed call, a
		// cancelled Unlock included; the locks report errors themselves.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, cfg.connectErr(ctx, err, seen.stop())
	}
	// Grant the lease here, bounded: concurrency.NewSession's own grant
	// waits forever for an unreachable cluster.
	ttl := int(cfg.TTL / time.Second)
	gctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	lease, err := cli.Grant(gctx, int64(ttl))
	cause := seen.stop() // before the revoke below, whose errors are not Connect's
	if err == nil && gctx.Err() != nil {
		err = gctx.Err() // granted too late to be sure the lease is useful; give it back
	}
	cancel()
	if err != nil {
		if lease != nil {
			revoke(cli, lease.ID, cfg.DialTimeout)
		}
		cli.Close()
		return nil, cfg.connectErr(ctx, err, cause)
	}
	s, err := concurrency.NewSession(cli, concurrency.WithLease(lease.ID), concurrency.WithTTL(ttl))
	if err != nil {
		revoke(cli, lease.ID, cfg.DialTimeout)
		cli.Close()
		return nil, fmt.Errorf("fairlock: session on etcd at %s: %w", cfg.endpoints(), err)
	}
	return &Client{cli: cli, s: s, opts: cfg.options()}, nil
}

// newClient runs clientv3.New, which, with a username, authenticates for up
// to DialTimeout regardless of ctx, and gives up waiting when ctx ends (the
// client is then closed as soon as New returns).
func newClient(ctx context.Context, cc clientv3.Config) (*clientv3.Client, error) {
	type result struct {
		cli *clientv3.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		cli, err := clientv3.New(cc)
		done <- result{cli, err}
	}()
	select {
	case r := <-done:
		return r.cli, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.cli != nil {
				r.cli.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// revoke gives a lease back, bounded; if etcd cannot be reached, the lease
// expires by itself.
func revoke(cli *clientv3.Client, id clientv3.LeaseID, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cli.Revoke(ctx, id) //nolint:errcheck // best effort; the lease expires anyway
}

// connErrs keeps the last connection error gRPC reported to a call of
// Connect's, until stop.
type connErrs struct {
	stopped atomic.Bool // the client's later calls pass through untouched

	mu   sync.Mutex
	last string
}

// interceptor runs inside etcd's retrying interceptor, so it sees each
// attempt's error as gRPC made it.
func (s *connErrs) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil && !s.stopped.Load() {
		if cause := connCause(err); cause != "" {
			s.mu.Lock()
			s.last = cause
			s.mu.Unlock()
		}
	}
	return err
}

// stop ends the recording and returns the last connection error seen, ""
// for none.
func (s *connErrs) stop() string {
	s.stopped.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// connCause extracts from a call's error what gRPC said of the connection
// ("dial tcp: lookup etcd-1: no such host", "dial tcp 127.0.0.1:2379:
// connect: connection refused", "authentication handshake failed: tls:
// ..."), or "" when the error says nothing of it. gRPC words it as
// `[latest balancer error: ][last connection error: ]connection error:
// desc = "transport: Error while dialing: ..."`, depending on its version.
func connCause(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
	default:
		return ""
	}
	msg := st.Message()
	if i := strings.LastIndex(msg, "connection error: desc = "); i >= 0 {
		msg = msg[i+len("connection error: desc = "):]
		if u, err := strconv.Unquote(msg); err == nil {
			msg = u
		}
	} else if i := strings.LastIndex(msg, "last connection error: "); i >= 0 {
		msg = msg[i+len("last connection error: "):]
	} else {
		return ""
	}
	msg = strings.TrimPrefix(msg, "transport: ")
	msg = strings.TrimPrefix(msg, "Error while dialing: ")
	return strings.TrimSpace(msg)
}

// connectErr turns a failure to talk to etcd into one line naming the
// endpoints and, when gRPC reported one, the last connection error.
func (cfg Config) connectErr(ctx context.Context, err error, cause string) error {
	if ctx.Err() != nil {
		return cfg.ended(ctx.Err(), cause)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return cfg.unreachable(err, cause)
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return cfg.unreachable(err, cause)
	}
	if errors.Is(err, rpctypes.ErrAuthFailed) || errors.Is(err, rpctypes.ErrGRPCAuthFailed) {
		return fmt.Errorf("fairlock: etcd at %s: %w (check Config.Username and Password)", cfg.endpoints(), err)
	}
	return fmt.Errorf("fairlock: etcd at %s: %w", cfg.endpoints(), err)
}

// unreachable is ErrUnreachable naming the endpoints, the dial timeout that
// ended the wait, err and the last connection error gRPC saw ("" for none).
func (cfg Config) unreachable(err error, cause string) error {
	return cfg.notReached(fmt.Sprintf("dial timeout %v", cfg.DialTimeout), err, cause)
}

// ended is unreachable for a wait that the caller's ctx ended (ctxErr):
// the dial timeout had nothing to do with it, so the error does not name
// it.
func (cfg Config) ended(ctxErr error, cause string) error {
	return cfg.notReached("before ctx ended", ctxErr, cause)
}

// notReached is ErrUnreachable naming the endpoints, what ended the wait,
// err and the last connection error gRPC saw ("" for none).
func (cfg Config) notReached(why string, err error, cause string) error {
	if cause != "" && !strings.Contains(err.Error(), cause) {
		return fmt.Errorf("%w at %s (%s): %w; last connection error: %s",
			ErrUnreachable, cfg.endpoints(), why, oneLine(err), strings.Join(strings.Fields(cause), " "))
	}
	return fmt.Errorf("%w at %s (%s): %w", ErrUnreachable, cfg.endpoints(), why, oneLine(err))
}

func (cfg Config) endpoints() string { return strings.Join(cfg.Endpoints, ",") }

// oneLine keeps err matchable and its message on one line: gRPC's messages
// may carry newlines from the transport.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return lineErr{err, strings.Join(strings.Fields(msg), " ")}
}

type lineErr struct {
	err error
	msg string
}

func (e lineErr) Error() string { return e.msg }
func (e lineErr) Unwrap() error { return e.err }
