package scoped_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// waitLimit bounds every blocking call: generous, for a loaded 2-core
// machine under -race; only a bug needs it all.
const waitLimit = 20 * time.Second

// lossBound is how soon fn's context must end once its hold is lost: one
// watch event, which a second covers on a loaded machine.
const lossBound = time.Second

// scoped runs fn under a hold of one kind, as Do or Lead does.
type scoped func(ctx context.Context, fn func(context.Context) error) error

// kind is one kind of hold with its scoped call.
type kind struct {
	name string
	// make returns the scoped call on session s; joined, if not nil, is
	// told when its entry is in the line.
	make func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped
	// block takes, on session s, a hold that makes make's call wait, and
	// returns its release.
	block func(t *testing.T, s *concurrency.Session, name string) (release func())
	// shutdownNil: a ctx that ends inside fn is a clean shutdown (Lead),
	// not an error.
	shutdownNil bool
}

// hooks tells joined of every join, when it is set.
func hooks(joined func()) queue.Option {
	if joined == nil {
		return nil
	}
	return queue.WithHooks(&queue.Hooks{Joined: func(queue.JoinInfo) { joined() }})
}

// semLimit is the semaphore's limit: Do takes it all, a blocker one permit.
const semLimit = 2

var kinds = []kind{
	{
		name: "Mutex.Do",
		make: func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped {
			m, err := fairmutex.New(s, name, hooks(joined))
			must(t, err)
			return m.Do
		},
		block: func(t *testing.T, s *concurrency.Session, name string) func() {
			m, err := fairmutex.New(s, name)
			must(t, err)
			must(t, m.Lock(bounded(t)))
			return func() { must(t, m.Unlock(bounded(t))) }
		},
	},
	{
		name: "RWMutex.Do",
		make: func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped {
			rw, err := rwmutex.New(s, name, hooks(joined))
			must(t, err)
			return rw.Do
		},
		block: func(t *testing.T, s *concurrency.Session, name string) func() {
			rw, err := rwmutex.New(s, name)
			must(t, err)
			must(t, rw.RLock(bounded(t))) // a reader keeps a writer out
			return func() { must(t, rw.RUnlock(bounded(t))) }
		},
	},
	{
		name: "RWMutex.RDo",
		make: func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped {
			rw, err := rwmutex.New(s, name, hooks(joined))
			must(t, err)
			return rw.RDo
		},
		block: func(t *testing.T, s *concurrency.Session, name string) func() {
			rw, err := rwmutex.New(s, name)
			must(t, err)
			must(t, rw.Lock(bounded(t))) // a writer keeps readers out
			return func() { must(t, rw.Unlock(bounded(t))) }
		},
	},
	{
		name: "Semaphore.Do",
		make: func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped {
			sm, err := semaphore.New(s, name, semLimit, hooks(joined))
			must(t, err)
			return func(ctx context.Context, fn func(context.Context) error) error { return sm.Do(ctx, semLimit, fn) }
		},
		block: func(t *testing.T, s *concurrency.Session, name string) func() {
			sm, err := semaphore.New(s, name, semLimit)
			must(t, err)
			p, err := sm.Acquire(bounded(t)) // one permit: Do's weight no longer fits
			must(t, err)
			return func() { must(t, p.Release(bounded(t))) }
		},
	},
	{
		name: "Election.Lead",
		make: func(t *testing.T, s *concurrency.Session, name string, joined func()) scoped {
			e, err := election.New(s, name, hooks(joined))
			must(t, err)
			return func(ctx context.Context, fn func(context.Context) error) error { return e.Lead(ctx, "lead", fn) }
		},
		block: func(t *testing.T, s *concurrency.Session, name string) func() {
			e, err := election.New(s, name)
			must(t, err)
			must(t, e.Campaign(bounded(t), "blocker"))
			return func() { must(t, e.Resign(bounded(t))) }
		},
		shutdownNil: true,
	},
}

// world is one cluster and an admin client that sees every key.
type world struct {
	t     *testing.T
	c     *integration.Cluster
	admin *clientv3.Client
	line  *queue.Queue // the line, seen from the admin's session
	name  string
}

func newWorld(t *testing.T, size int) *world {
	c := testcluster.Cluster(t, size)
	w := &world{t: t, c: c, admin: testcluster.Client(t, c, 0), name: "/" + strings.ReplaceAll(t.Name(), "/", "-")}
	q, err := queue.New(testcluster.Session(t, w.admin, 10), w.name)
	must(t, err)
	w.line = q
	return w
}

// session is a new node's session on member i, with a TTL of ttl seconds.
func (w *world) session(i, ttl int) *concurrency.Session {
	return testcluster.Session(w.t, testcluster.Client(w.t, w.c, i), ttl)
}

// entries is the line of the world's name, oldest first, as etcd has it:
// exclusive and shared entries, then permits.
func (w *world) entries() []queue.Entry {
	w.t.Helper()
	es, err := w.line.List(bounded(w.t))
	must(w.t, err)
	return es
}

// holdOf returns the entry of session s at the head of the line; it fails
// the test when the head is not s's.
func (w *world) holdOf(s *concurrency.Session) queue.Entry {
	w.t.Helper()
	es := w.entries()
	if len(es) == 0 || es[0].Lease != s.Lease() {
		w.t.Fatalf("the line's head is not the scoped hold's (lease %x): %+v", s.Lease(), es)
	}
	return es[0]
}

// noKeysLeft fails unless nothing is left under the name.
func (w *world) noKeysLeft() {
	w.t.Helper()
	testcluster.Eventually(w.t, waitLimit, "no key left under "+w.name, func() bool {
		return len(testcluster.Keys(w.t, w.admin, w.name+"/")) == 0
	})
}

// run calls do in a goroutine and delivers its result; the test's cleanup
// waits for it, so that no call outlives its test.
func run(t *testing.T, ctx context.Context, do scoped, fn func(context.Context) error) <-chan error {
	ch := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch <- do(ctx, fn)
	}()
	t.Cleanup(func() { <-done })
	return ch
}

// await returns what ch delivers, failing the test if nothing comes within
// waitLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("%s: nothing within %v", what, waitLimit)
		panic("unreachable")
	}
}

// closed fails the test unless ch closes within waitLimit.
func closed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s: not within %v", what, waitLimit)
	}
}

// bounded is a context for one call of a test, ended with it.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// isCtxErr reports whether err is a context's ending.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
