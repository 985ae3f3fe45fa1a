package yield_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// waitLimit bounds every blocking call: generous, for a loaded 2-core
// machine under -race; only a bug needs it all.
const waitLimit = 20 * time.Second

// quiet is how long a channel that must stay open is watched: the request
// key is checked in etcd too, so this only has to outlast one watch event.
const quiet = 300 * time.Millisecond

var bg = context.Background()

// world is one cluster, an admin client that sees every key, and nodes:
// each its own client and session, as separate machines would be.
type world struct {
	t     *testing.T
	c     *integration.Cluster
	admin *clientv3.Client
	name  string
}

func newWorld(t *testing.T) *world {
	c := testcluster.Cluster(t, 1)
	return &world{t: t, c: c, admin: testcluster.Client(t, c, 0), name: "/" + strings.ReplaceAll(t.Name(), "/", "-")}
}

// session is a new node's session, with the given hooks on its queues.
func (w *world) session() *concurrency.Session {
	return testcluster.Session(w.t, testcluster.Client(w.t, w.c, 0), 10)
}

// queue is the line on s, with hooks (may be nil).
func (w *world) queue(s *concurrency.Session, h *queue.Hooks) *queue.Queue {
	w.t.Helper()
	q, err := queue.New(s, w.name, queue.WithHooks(h))
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

// ask asks the holders of the line to yield, from a node of its own.
func (w *world) ask(reason string) []queue.Entry {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	asked, err := w.queue(w.session(), nil).AskToYield(ctx, reason)
	if err != nil {
		w.t.Fatalf("AskToYield(%q): %v", reason, err)
	}
	return asked
}

// keys is every key of the line's name.
func (w *world) keys() []string { return testcluster.Keys(w.t, w.admin, w.name+"/") }

// requests is every yield request key of the line.
func (w *world) requests() []string { return testcluster.Keys(w.t, w.admin, w.name+"/.a/") }

// noKeysLeft fails unless nothing is left under the name.
func (w *world) noKeysLeft() {
	w.t.Helper()
	if k := w.keys(); len(k) != 0 {
		w.t.Fatalf("keys left: %q", k)
	}
}

// told waits for ch to close and fails after waitLimit.
func told(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s was not told to yield within %v", what, waitLimit)
	}
}

// notTold fails if ch closes within quiet.
func notTold(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s was told to yield", what)
	case <-time.After(quiet):
	}
}

// keysOf returns the Key of each entry.
func keysOf(es []queue.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
	}
	return out
}

// yieldCounter is a Hooks that records every YieldRequested call.
type yieldCounter struct {
	mu   sync.Mutex
	seen []queue.YieldInfo
}

func (c *yieldCounter) hooks() *queue.Hooks {
	return &queue.Hooks{YieldRequested: func(i queue.YieldInfo) {
		c.mu.Lock()
		c.seen = append(c.seen, i)
		c.mu.Unlock()
	}}
}

func (c *yieldCounter) infos() []queue.YieldInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]queue.YieldInfo(nil), c.seen...)
}

// within is a context bounded by waitLimit.
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	t.Cleanup(cancel)
	return ctx
}
