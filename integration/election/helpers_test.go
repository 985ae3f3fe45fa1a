package election_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// waitLimit bounds every "eventually" in these tests: generous, because a
// loaded 2-core machine under -race can be slow, and only a bug needs it all.
const waitLimit = 20 * time.Second

// expirySlack is how late, past its TTL, a lease may be seen expired: etcd
// revokes expired leases in a loop, and the machine is slow.
const expirySlack = 8 * time.Second

// node is one candidate machine: its own client, session and Election.
type node struct {
	who   string
	cli   *clientv3.Client
	s     *concurrency.Session
	e     *election.Election
	value string // its value in the line: who, until it proclaims another
}

// newNode connects to member i%3 with a session of ttl seconds and makes a
// candidate of the election name.
func newNode(t *testing.T, c *integration.Cluster, i int, name string, ttl int, who string) *node {
	t.Helper()
	return nodeOn(t, testcluster.Client(t, c, i), name, ttl, who)
}

// nodeOn is newNode with a client of the test's choosing.
func nodeOn(t *testing.T, cli *clientv3.Client, name string, ttl int, who string) *node {
	t.Helper()
	s := testcluster.Session(t, cli, ttl)
	e, err := election.New(s, name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return &node{who: who, cli: cli, s: s, e: e, value: who}
}

// leader describes n's current term as Leader and Observe should report it.
func (n *node) leader() election.Leader {
	return election.Leader{Value: n.value, Token: n.e.Token(), Key: n.e.Key(), Lease: n.s.Lease()}
}

// electionName gives each test its own election.
func electionName(t *testing.T) string { return "/" + t.Name() }

// async runs f in a goroutine and delivers its result. The test's cleanup
// waits for it, so that no call outlives its test.
func async(t *testing.T, f func() error) <-chan error {
	ch := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch <- f()
	}()
	t.Cleanup(func() { <-done })
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

// pending reports whether the call behind ch, made by async and not yet
// awaited, has not returned, without waiting and without taking its result.
func pending(ch <-chan error) bool { return len(ch) == 0 }

// campaignInLine starts n's Campaign in a goroutine and returns once its
// entry is one of want entries in the line, so the order of arrival is
// known.
func campaignInLine(t *testing.T, ctx context.Context, n *node, name string, want int) <-chan error {
	t.Helper()
	ch := async(t, func() error { return n.e.Campaign(ctx, n.who) })
	testcluster.WaitKeys(t, n.cli, name+"/", want)
	return ch
}

// mustLead fails the test unless n leads, as etcd tells.
func mustLead(t *testing.T, ctx context.Context, n *node) {
	t.Helper()
	l, err := n.e.Leader(ctx)
	if err != nil {
		t.Fatalf("%s: Leader: %v", n.who, err)
	}
	if n.e.Token() == 0 || l.Token != n.e.Token() || l.Key != n.e.Key() || l.Lease != n.s.Lease() {
		t.Fatalf("leader is %+v, want %s (token %d, key %s)", l, n.who, n.e.Token(), n.e.Key())
	}
}

// owner reports whether a transaction guarded by cmp succeeds; it writes
// nothing either way.
func owner(t *testing.T, cli *clientv3.Client, cmp clientv3.Cmp) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	resp, err := cli.Txn(ctx).If(cmp).Commit()
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	return resp.Succeeded
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// errIs fails the test unless errors.Is(err, want).
func errIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}
