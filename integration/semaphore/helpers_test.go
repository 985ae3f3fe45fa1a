package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// waitLimit bounds every blocking call and "eventually" in these tests:
// generous, because a loaded 2-core machine under -race can be slow, and
// only a bug needs it all.
const waitLimit = 20 * time.Second

// promptly bounds a handoff that must happen at once (no idle permit): far
// below waitLimit, so a permit left idle until some other event fails.
const promptly = 5 * time.Second

var bg = context.Background()

// cluster starts a three-member cluster: the members a line spans are the
// ones it must stay ordered across.
func cluster(t *testing.T) *integration.Cluster { return testcluster.Cluster(t, 3) }

// name gives each test its own semaphore.
func name(t *testing.T) string { return "/" + t.Name() }

// node is one simulated client machine: its own client (on member i%3),
// session and Semaphore.
type node struct {
	cli *clientv3.Client
	s   *concurrency.Session
	sm  *semaphore.Semaphore
}

func newNode(t *testing.T, c *integration.Cluster, i int, name string, limit, ttl int) *node {
	t.Helper()
	cli := testcluster.Client(t, c, i)
	s := testcluster.Session(t, cli, ttl)
	sm, err := semaphore.New(s, name, limit)
	if err != nil {
		t.Fatalf("New(%q, %d): %v", name, limit, err)
	}
	return &node{cli: cli, s: s, sm: sm}
}

// mustAcquire takes a permit that must be granted within waitLimit.
func mustAcquire(t *testing.T, sm *semaphore.Semaphore) *semaphore.Permit {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	p, err := sm.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return p
}

func mustRelease(t *testing.T, p *semaphore.Permit) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	if err := p.Release(ctx); err != nil {
		t.Fatalf("Release of permit %d: %v", p.Token(), err)
	}
}

// result is what an Acquire in the background returned.
type result struct {
	p   *semaphore.Permit
	err error
}

// acquiring runs Acquire in the background, with ctx bounded by waitLimit.
func acquiring(ctx context.Context, sm *semaphore.Semaphore) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, waitLimit)
		defer cancel()
		p, err := sm.Acquire(ctx)
		ch <- result{p, err}
	}()
	return ch
}

// await returns what ch delivers, failing the test if nothing comes in d.
func await(t *testing.T, ch <-chan result, d time.Duration, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("%s: no result after %v", what, d)
		return result{}
	}
}

// granted waits (at most d) for a background Acquire that must succeed.
func granted(t *testing.T, ch <-chan result, d time.Duration, what string) *semaphore.Permit {
	t.Helper()
	r := await(t, ch, d, what)
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	return r.p
}

// waiting checks that a background Acquire has not returned.
func waiting(t *testing.T, ch <-chan result, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned (permit %v, err %v) while it must still wait", what, r.p != nil, r.err)
	default:
	}
}

// noKeys checks that nothing of the name is left in etcd.
func noKeys(t *testing.T, cli *clientv3.Client, name string) {
	t.Helper()
	if keys := testcluster.Keys(t, cli, name+"/"); len(keys) != 0 {
		t.Fatalf("keys left under %s/: %q", name, keys)
	}
}

// holding returns the keys of the permit entries that List reports as
// holding, and of those that wait, in line order.
func holding(t *testing.T, s *concurrency.Session, name string) (holders, waiters []string) {
	t.Helper()
	q, err := queue.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	entries, err := q.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, e := range entries {
		if e.Kind != queue.Permit {
			continue
		}
		if e.Holds {
			holders = append(holders, e.Key)
		} else {
			waiters = append(waiters, e.Key)
		}
	}
	return holders, waiters
}

// isLoss reports whether err says the entry or its session is gone.
func isLoss(err error) bool {
	return errors.Is(err, semaphore.ErrLost) || errors.Is(err, semaphore.ErrSessionExpired)
}

func openChan(c <-chan struct{}) bool {
	select {
	case <-c:
		return false
	default:
		return true
	}
}

// fencedPut writes key through the permit's fence and reports whether the
// write was applied.
func fencedPut(t *testing.T, cli *clientv3.Client, p *semaphore.Permit, key string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	resp, err := cli.Txn(ctx).If(p.IsOwner()).Then(clientv3.OpPut(key, fmt.Sprint(p.Token()))).Commit()
	if err != nil {
		t.Fatalf("fenced put: %v", err)
	}
	return resp.Succeeded
}
