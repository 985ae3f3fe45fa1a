package fairlock_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// Connect gives a working client and a session whose lease has the TTL
// asked for (whole seconds), or 10s when none is.
func TestConnect(t *testing.T) {
	c := oneMember(t)
	for _, tc := range []struct {
		ttl  time.Duration
		want int64
	}{{0, 10}, {3 * time.Second, 3}, {time.Minute, 60}} {
		fc := connect(t, c, fairlock.Config{TTL: tc.ttl})
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		resp, err := fc.Etcd().TimeToLive(ctx, fc.Session().Lease())
		if err != nil {
			t.Fatal(err)
		}
		if resp.GrantedTTL != tc.want {
			t.Errorf("TTL %v: lease granted for %ds, want %ds", tc.ttl, resp.GrantedTTL, tc.want)
		}
		if _, err := fc.Etcd().Put(ctx, "/connect/k", "v"); err != nil {
			t.Errorf("Put through Etcd(): %v", err)
		}
	}
}

// Close revokes the session: every entry of the Client's locks leaves etcd
// by the time Close returns, and so does the lease. Close is idempotent, and
// the Client makes no locks afterwards.
func TestCloseRevokes(t *testing.T) {
	const name = "/connect/close"
	c := oneMember(t)
	observer := testcluster.Client(t, c, 0)
	fc := connect(t, c, fairlock.Config{TTL: time.Minute}) // expiry cannot be what removes them
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	m, err := fc.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	rw, err := fc.RWMutex(name + "/rw")
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.RLock(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := fc.Queue(name + "/q")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := q.Join(ctx, "job"); err != nil {
			t.Fatal(err)
		}
	}
	if n := countKeys(t, observer, name); n != 4 {
		t.Fatalf("%d entries under %s before Close, want 4", n, name)
	}

	if err := fc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := countKeys(t, observer, name); n != 0 {
		t.Errorf("%d entries under %s right after Close, want 0", n, name)
	}
	ttl, err := observer.TimeToLive(ctx, fc.Session().Lease())
	if err != nil {
		t.Fatal(err)
	}
	if ttl.TTL != -1 {
		t.Errorf("lease TTL after Close = %d, want -1 (revoked)", ttl.TTL)
	}
	select {
	case <-m.Done():
	case <-ctx.Done():
		t.Fatal("the Mutex's Done did not close after Close")
	}

	if err := fc.Close(); err != nil {
		t.Errorf("second Close = %v, want the first one's result (nil)", err)
	}
	if _, err := fc.Mutex(name); !errors.Is(err, fairlock.ErrClosed) {
		t.Errorf("Mutex after Close = %v, want ErrClosed", err)
	}
	if _, err := fc.RWMutex(name); !errors.Is(err, fairlock.ErrClosed) {
		t.Errorf("RWMutex after Close = %v, want ErrClosed", err)
	}
	if _, err := fc.Queue(name); !errors.Is(err, fairlock.ErrClosed) {
		t.Errorf("Queue after Close = %v, want ErrClosed", err)
	}
}

func countKeys(t *testing.T, cli *clientv3.Client, prefix string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// Connect to an etcd that is not there returns a one-line error naming the
// endpoints, once its ctx or its DialTimeout ends, whichever is first:
// never a hang. Two ways of not being there: a closed port (connections
// refused) and a port that accepts connections and says nothing.
func TestConnectUnreachable(t *testing.T) {
	const slack = 3 * time.Second // a loaded machine; a hang would be unbounded
	for _, target := range []struct {
		name string
		addr func(*testing.T) string
	}{{"closed port", closedPort}, {"silent port", silentPort}} {
		t.Run(target.name, func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				ctxTimeout  time.Duration
				dialTimeout time.Duration
				want        error
				says        string // what the message says ended the wait
			}{
				{"ctx deadline first", 500 * time.Millisecond, time.Minute, context.DeadlineExceeded, "(before ctx ended)"},
				{"dial timeout first", time.Minute, 500 * time.Millisecond, context.DeadlineExceeded, "(dial timeout 500ms)"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					addr := target.addr(t)
					ctx, cancel := context.WithTimeout(context.Background(), tc.ctxTimeout)
					defer cancel()
					start := time.Now()
					fc, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: []string{addr}, DialTimeout: tc.dialTimeout})
					took := time.Since(start)
					if err == nil {
						fc.Close()
						t.Fatalf("Connect to %s succeeded", addr)
					}
					bound := min(tc.ctxTimeout, tc.dialTimeout)
					if took > bound+slack {
						t.Errorf("Connect took %v, bound %v", took, bound)
					}
					if !errors.Is(err, fairlock.ErrUnreachable) || !errors.Is(err, tc.want) {
						t.Errorf("err = %v, want ErrUnreachable and %v", err, tc.want)
					}
					if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "\n") {
						t.Errorf("err = %q, want one line naming %s", msg, addr)
					}
					// The dial timeout is named only when it ended the wait.
					if msg := err.Error(); !strings.Contains(msg, tc.says) ||
						strings.Count(msg, "dial timeout") != strings.Count(tc.says, "dial timeout") {
						t.Errorf("err = %q, want it to say %q, and name no other cause", msg, tc.says)
					}
				})
			}
		})
	}
}

// A ctx cancelled while Connect waits ends it with context.Canceled; one
// already ended returns at once.
func TestConnectCancelled(t *testing.T) {
	addr := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		fc, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: []string{addr}, DialTimeout: time.Minute})
		if err == nil {
			fc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, fairlock.ErrUnreachable) {
			t.Errorf("err = %v, want context.Canceled and ErrUnreachable", err)
		}
		if err != nil && strings.Contains(err.Error(), "dial timeout") {
			t.Errorf("err = %q names the dial timeout, which did not end the wait", err)
		}
	case <-time.After(callTimeout):
		t.Fatal("Connect still waiting long after its ctx was cancelled")
	}

	start := time.Now()
	_, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: []string{addr}})
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("Connect with an ended ctx = %v after %v, want context.Canceled at once", err, time.Since(start))
	}
	if err != nil && strings.Contains(err.Error(), "dial timeout") {
		t.Errorf("Connect with an ended ctx = %q, names the dial timeout", err)
	}
}

// A Config that cannot work is refused before anything is dialled, with an
// error errors.Is can tell.
func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  fairlock.Config
		want error
	}{
		{"no endpoints", fairlock.Config{}, fairlock.ErrNoEndpoints},
		{"blank endpoint", fairlock.Config{Endpoints: []string{"127.0.0.1:2379", " "}}, fairlock.ErrNoEndpoints},
		{"TTL below 1s", fairlock.Config{Endpoints: []string{"x:1"}, TTL: 500 * time.Millisecond}, fairlock.ErrInvalidTTL},
		{"TTL not whole seconds", fairlock.Config{Endpoints: []string{"x:1"}, TTL: 1500 * time.Millisecond}, fairlock.ErrInvalidTTL},
		{"negative TTL", fairlock.Config{Endpoints: []string{"x:1"}, TTL: -time.Second}, fairlock.ErrInvalidTTL},
		{"negative dial timeout", fairlock.Config{Endpoints: []string{"x:1"}, DialTimeout: -1}, fairlock.ErrInvalidDialTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A dial would take the whole ctx: nothing listens at x:1.
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			start := time.Now()
			fc, err := fairlock.Connect(ctx, tc.cfg)
			if err == nil {
				fc.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("refused after %v: something was dialled", took)
			}
		})
	}
}

// Every entry of a Client's locks carries Config.Identity, and
// "<hostname>/<pid>" without one; List shows who holds and who waits.
func TestIdentity(t *testing.T) {
	const name = "/connect/identity"
	c := oneMember(t)
	a := connect(t, c, fairlock.Config{Identity: "node-a"})
	joined := make(chan struct{}, 1)
	b := connect(t, c, fairlock.Config{Hooks: &queue.Hooks{
		Joined: func(queue.JoinInfo) { joined <- struct{}{} },
	}})
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	ma, err := a.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ma.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	rb, err := b.RWMutex(name)
	if err != nil {
		t.Fatal(err)
	}
	granted := make(chan error, 1)
	go func() { granted <- rb.RLock(ctx) }()

	q, err := a.Queue(name)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-joined:
	case <-ctx.Done():
		t.Fatal("b's RLock never joined the line")
	}
	want := []entry{{"node-a", true}, {queue.DefaultIdentity(), false}}
	if got := list(t, ctx, q); !slices.Equal(got, want) {
		t.Fatalf("line = %v, want %v", got, want)
	}

	if err := ma.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-granted; err != nil {
		t.Fatal(err)
	}
	if got := list(t, ctx, q); !slices.Equal(got, []entry{{queue.DefaultIdentity(), true}}) {
		t.Fatalf("line after the handoff = %v, want b's read hold alone", got)
	}
	if err := rb.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// entry is what TestIdentity looks at in a line's entry.
type entry struct {
	Value string
	Holds bool
}

func list(t *testing.T, ctx context.Context, q *queue.Queue) []entry {
	t.Helper()
	es, err := q.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	for _, e := range es {
		out = append(out, entry{e.Value, e.Holds})
	}
	return out
}

// An unreachable etcd is reported with the reason gRPC last gave for the
// connection failing, not only the deadline that ended the wait: a host
// that does not resolve, a port that refuses, TLS spoken to a plain etcd.
func TestConnectSaysWhy(t *testing.T) {
	plain := oneMember(t)
	_, clientTLS := testTLS(t)
	for _, tc := range []struct {
		name string
		cfg  fairlock.Config
		want string
	}{
		// .invalid never resolves (RFC 6761).
		{"no such host", fairlock.Config{Endpoints: []string{"etcd.invalid:2379"}}, "lookup etcd.invalid"},
		{"connection refused", fairlock.Config{Endpoints: []string{closedPort(t)}}, "connection refused"},
		{"TLS to a plain etcd", fairlock.Config{Endpoints: []string{plain.Members[0].GRPCURL}, TLS: clientTLS}, "tls:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.DialTimeout = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			fc, err := fairlock.Connect(ctx, tc.cfg)
			if err == nil {
				fc.Close()
				t.Fatalf("Connect to %v succeeded", tc.cfg.Endpoints)
			}
			if !errors.Is(err, fairlock.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want ErrUnreachable and context.DeadlineExceeded", err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, "last connection error: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("err = %q, want the last connection error, with %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("err = %q, want one line", msg)
			}
		})
	}
}
