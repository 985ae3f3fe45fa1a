package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
)

// callTimeout bounds every blocking call of these tests: generous, for a
// loaded 2-core machine under -race; only a bug needs all of it.
const callTimeout = 20 * time.Second

// A waiter whose own entry was deleted while nobody watched it (between its
// Join and its Wait) must learn it from the read that follows its watches,
// and fail with ErrLost: never take the lock when the entry ahead leaves.
func TestWaitAfterUnwatchedDelete(t *testing.T) {
	l := newLine(t, "/unwatched", 2)
	// B on member 0, as the client that deletes its entry: that member has
	// applied the delete when it answers, so B's watches cannot see it.
	a := l.join(1, false, "a")
	b := l.join(0, false, "b")
	ctx, cancel := context.WithTimeout(bg, callTimeout)
	defer cancel()
	if _, err := l.admin.Delete(ctx, b.Key()); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- b.Wait(ctx) }()
	leave(t, a)
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("Wait of a ticket whose entry was deleted took the lock")
		}
		if !errors.Is(err, queue.ErrLost) || errors.Is(err, queue.ErrSessionExpired) {
			t.Fatalf("Wait of a ticket whose entry was deleted = %v, want ErrLost and not ErrSessionExpired (the lease lives)", err)
		}
	case <-time.After(callTimeout):
		t.Fatal("Wait of a ticket whose entry was deleted has not returned")
	}
	testcluster.WaitKeys(t, l.admin, "/unwatched/", 0)
}

// The one rule for a lost entry: whatever the call that finds it gone, the
// error matches ErrLost, and ErrSessionExpired exactly when the session's
// lease ended; its message is one line. Each call meets three losses: the
// key deleted by someone else; the lease revoked (as etcd does when it
// expires) before the session has noticed; and the lease revoked and the
// session ended on the client's side too.
func TestErrorRule(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 2)
	cli := testcluster.Client(t, c, 0)
	holderSession := testcluster.Session(t, testcluster.Client(t, c, 1), 30)

	// Each call sets up an entry of session s on line name, has lose take
	// it away, and returns the error of the call that finds it gone.
	type call struct {
		name string
		run  func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(key string)) error
	}
	calls := []call{
		{"queue-Wait", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			head := mustJoin(ctx, t, mustQueue(t, holderSession, name))
			defer head.Leave(ctx)
			tk := mustJoin(ctx, t, mustQueue(t, s, name))
			waited := make(chan error, 1)
			go func() { waited <- tk.Wait(ctx) }()
			lose(tk.Key())
			return <-waited
		}},
		{"fairmutex-Lock", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			head := mustJoin(ctx, t, mustQueue(t, holderSession, name))
			defer head.Leave(ctx)
			m, err := fairmutex.New(s, name)
			if err != nil {
				t.Fatal(err)
			}
			locked := make(chan error, 1)
			go func() { locked <- m.Lock(ctx) }()
			testcluster.WaitKeys(t, admin, name+"/", 2)
			key := line(ctx, t, admin, name)[1]
			lose(key)
			return <-locked
		}},
		{"queue-Position", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			tk := mustJoin(ctx, t, mustQueue(t, s, name))
			lose(tk.Key())
			_, err := tk.Position(ctx)
			return err
		}},
		{"queue-Leave", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			tk := mustJoin(ctx, t, mustQueue(t, s, name))
			lose(tk.Key())
			return tk.Leave(ctx)
		}},
		{"fairmutex-Unlock", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			m, err := fairmutex.New(s, name)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			lose(m.Key())
			return m.Unlock(ctx)
		}},
		{"rwmutex-Unlock", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			rw := mustRW(t, s, name)
			if err := rw.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			lose(rw.Key())
			return rw.Unlock(ctx)
		}},
		{"rwmutex-RUnlock", func(ctx context.Context, t *testing.T, s *concurrency.Session, name string, lose func(string)) error {
			rw := mustRW(t, s, name)
			if err := rw.RLock(ctx); err != nil {
				t.Fatal(err)
			}
			lose(line(ctx, t, admin, name)[0])
			return rw.RUnlock(ctx)
		}},
	}
	for _, how := range []string{"deleted", "revoked", "ended"} {
		expired := how != "deleted"
		for _, call := range calls {
			t.Run(how+"/"+call.name, func(t *testing.T) {
				name := "/rule/" + how + "/" + call.name
				ctx, cancel := context.WithTimeout(bg, callTimeout)
				defer cancel()
				// A short TTL where the session must notice the revoke: its
				// keep-alives run every third of it.
				ttl := map[bool]int{true: 3, false: 30}[how == "ended"]
				s := testcluster.Session(t, cli, ttl)
				lose := func(key string) {
					var err error
					if expired {
						_, err = admin.Revoke(ctx, s.Lease())
					} else {
						_, err = admin.Delete(ctx, key)
					}
					if err != nil {
						t.Errorf("lose the entry: %v", err)
					}
					if how == "ended" {
						select {
						case <-s.Done():
						case <-ctx.Done():
							t.Errorf("the session has not ended after its lease was revoked")
						}
					}
				}
				err := call.run(ctx, t, s, name, lose)
				switch {
				case err == nil:
					t.Fatalf("%s found no loss", call.name)
				case !errors.Is(err, queue.ErrLost):
					t.Errorf("%s = %q, want an error matching ErrLost", call.name, err)
				case errors.Is(err, queue.ErrSessionExpired) != expired:
					t.Errorf("%s = %q: matches ErrSessionExpired %v, want %v (the lease %s)",
						call.name, err, errors.Is(err, queue.ErrSessionExpired), expired, map[bool]string{true: "ended", false: "lives"}[expired])
				case strings.Contains(err.Error(), "\n"):
					t.Errorf("%s: message of more than one line: %q", call.name, err)
				}
				testcluster.WaitKeys(t, admin, name+"/", 0)
			})
		}
	}
}

func mustQueue(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) *queue.Queue {
	t.Helper()
	q, err := queue.New(s, name, opts...)
	if err != nil {
		t.Fatalf("queue.New(%q): %v", name, err)
	}
	return q
}

func mustRW(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) *rwmutex.RWMutex {
	t.Helper()
	rw, err := rwmutex.New(s, name, opts...)
	if err != nil {
		t.Fatalf("rwmutex.New(%q): %v", name, err)
	}
	return rw
}

func mustJoin(ctx context.Context, t *testing.T, q *queue.Queue) *queue.Ticket {
	t.Helper()
	tk, err := q.Join(ctx, "v")
	if err != nil {
		t.Fatalf("Join %s: %v", q.Name(), err)
	}
	return tk
}

// line returns the keys of the lock's line, oldest first.
func line(ctx context.Context, t *testing.T, cli *clientv3.Client, name string) []string {
	t.Helper()
	resp, err := cli.Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatalf("read the line of %s: %v", name, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return keys
}
