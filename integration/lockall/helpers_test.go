package lockall_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// callTimeout bounds every blocking call: generous, for a loaded 2-core
// machine under -race. A LockAll that deadlocked fails the test after it.
const callTimeout = 20 * time.Second

// node is one simulated machine: its own client, on one member, and session.
type node struct {
	cli *clientv3.Client
	s   *concurrency.Session
}

func newNode(t *testing.T, c *integration.Cluster, member, ttl int) node {
	t.Helper()
	cli := testcluster.Client(t, c, member)
	return node{cli: cli, s: testcluster.Session(t, cli, ttl)}
}

func (n node) mutex(t *testing.T, name string) *fairmutex.Mutex {
	t.Helper()
	m, err := fairmutex.New(n.s, name)
	if err != nil {
		t.Fatalf("fairmutex.New(%q): %v", name, err)
	}
	return m
}

func (n node) rw(t *testing.T, name string) *rwmutex.RWMutex {
	t.Helper()
	rw, err := rwmutex.New(n.s, name)
	if err != nil {
		t.Fatalf("rwmutex.New(%q): %v", name, err)
	}
	return rw
}

// within runs a blocking call with a deadline of its own, inside ctx.
func within(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return call(ctx)
}

// bounded returns a context that ends after callTimeout or with the test.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// keys returns the keys of a line.
func keys(t *testing.T, cli *clientv3.Client, name string) []string {
	t.Helper()
	return testcluster.Keys(t, cli, name+"/")
}

// await returns what ch delivers, failing the test if nothing comes in time.
func await(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(callTimeout):
		t.Fatalf("%s: no result after %v", what, callTimeout)
		return nil
	}
}

// async runs f in a goroutine and delivers its result.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}
