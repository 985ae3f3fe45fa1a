package rwmutex_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// waitLimit bounds every "eventually" in these tests: generous, because a
// loaded 2-core machine under -race can be slow, and only a bug needs it all.
const waitLimit = 20 * time.Second

// node is one simulated client machine: its own client, session and lock.
type node struct {
	cli *clientv3.Client
	s   *concurrency.Session
	rw  *rwmutex.RWMutex
}

// newNode connects to member i%3 with a session of ttl seconds and makes an
// RWMutex for name.
func newNode(t *testing.T, c *integration.Cluster, i int, name string, ttl int) node {
	t.Helper()
	cli := testcluster.Client(t, c, i)
	s := testcluster.Session(t, cli, ttl)
	rw, err := rwmutex.New(s, name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return node{cli: cli, s: s, rw: rw}
}

// lockName gives each test its own lock.
func lockName(t *testing.T) string { return "/" + t.Name() }

// async runs f in a goroutine and delivers its result.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// await returns what ch delivers, failing the test if nothing comes within
// waitLimit.
func await(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("%s: no result after %v", what, waitLimit)
		return nil
	}
}

// mustGrant waits for a lock call that must succeed.
func mustGrant(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	if err := await(t, ch, what); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// notReturned checks that a blocking call has not returned yet.
func notReturned(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned (%v) while it must still wait", what, err)
	default:
	}
}

// noKeys checks that nothing of the lock is left in etcd.
func noKeys(t *testing.T, cli *clientv3.Client, name string) {
	t.Helper()
	if keys := testcluster.Keys(t, cli, name+"/"); len(keys) != 0 {
		t.Fatalf("keys left under %s/: %q", name, keys)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var bg = context.Background()

// grantLog records who was granted, in order.
type grantLog struct {
	mu    sync.Mutex
	names []string
}

// record notes who as granted when err is nil, and passes err on.
func (g *grantLog) record(who string, err error) error {
	if err == nil {
		g.mu.Lock()
		g.names = append(g.names, who)
		g.mu.Unlock()
	}
	return err
}

func (g *grantLog) order() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.names)
}
