package fairmutex_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// node is one simulated machine: its own client (on member i) and session.
type node struct {
	cli *clientv3.Client
	s   *concurrency.Session
	m   *fairmutex.Mutex
}

func newNode(t *testing.T, c *clusterT, i int, name string, ttl int) *node {
	t.Helper()
	cli := testcluster.Client(t, c.Cluster, i)
	s := testcluster.Session(t, cli, ttl)
	m, err := fairmutex.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	return &node{cli: cli, s: s, m: m}
}

func mustLock(t *testing.T, m *fairmutex.Mutex) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
}

func TestFIFOAcrossMembersWithRisingTokens(t *testing.T) {
	c := cluster(t)
	const n = 9
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = newNode(t, c, i, "/fifo", 10)
	}
	first := newNode(t, c, 0, "/fifo", 10)
	mustLock(t, first.m)

	// Queue the nodes one by one, each only after the previous one is in
	// line, so that arrival order is known.
	grants := make(chan int, n)
	tokens := make([]int64, n)
	var g errgroup.Group
	for i, nd := range nodes {
		g.Go(func() error {
			if err := nd.m.Lock(within(t)); err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			tokens[i] = nd.m.Token()
			grants <- i
			return nd.m.Unlock(within(t))
		})
		testcluster.WaitKeys(t, first.cli, "/fifo/", i+2)
	}
	if err := first.m.Unlock(within(t)); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	close(grants)
	var order, want []int
	for i := range grants {
		order = append(order, i)
	}
	for i := range n {
		want = append(want, i)
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("grant order differs from arrival order (-want +got):\n%s", diff)
	}
	for i := 1; i < n; i++ {
		if tokens[i] <= tokens[i-1] {
			t.Errorf("tokens do not rise with arrival: %v", tokens)
		}
	}
	if keys := testcluster.Keys(t, first.cli, "/fifo/"); len(keys) != 0 {
		t.Errorf("keys left behind: %v", keys)
	}
}

func TestMutualExclusionUnderCancellation(t *testing.T) {
	c := cluster(t)
	var inside, granted, cancelled atomic.Int64
	var g errgroup.Group
	for i := range 6 {
		nd := newNode(t, c, i, "/mutex", 10)
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		g.Go(func() error {
			for range 25 {
				// Most attempts give up soon; one in four waits its turn, so
				// that the lock is granted however loaded the machine is.
				patience := time.Duration(rng.IntN(30)) * time.Millisecond
				if rng.IntN(4) == 0 {
					patience = 20 * time.Second
				}
				ctx, cancel := context.WithTimeout(context.Background(), patience)
				err := nd.m.Lock(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						return err
					}
					cancelled.Add(1)
					continue
				}
				if inside.Add(1) != 1 {
					return errors.New("two holders at once")
				}
				granted.Add(1)
				time.Sleep(time.Millisecond) // hold briefly, so overlaps would show
				inside.Add(-1)
				if err := nd.m.Unlock(within(t)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if granted.Load() == 0 || cancelled.Load() == 0 {
		t.Errorf("workload did not exercise both paths: %d grants, %d cancellations", granted.Load(), cancelled.Load())
	}
	// A Lock cancelled mid-join returns at once and removes its entry as
	// soon as etcd answers the join.
	cli := testcluster.Client(t, c.Cluster, 0)
	testcluster.WaitKeys(t, cli, "/mutex/", 0)
}

func TestTryLockOnHeldLockWritesNothing(t *testing.T) {
	c := cluster(t)
	a, b := newNode(t, c, 0, "/try", 10), newNode(t, c, 1, "/try", 10)
	ctx := within(t)
	if err := a.m.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
	before := testcluster.Revision(t, b.cli)
	for range 3 {
		if err := b.m.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
			t.Fatalf("TryLock on a held lock = %v, want ErrLocked", err)
		}
	}
	if after := testcluster.Revision(t, b.cli); after != before {
		t.Errorf("failed TryLock moved the store revision from %d to %d", before, after)
	}
	if b.m.Token() != 0 {
		t.Error("failed TryLock left a token")
	}
	if err := a.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.m.TryLock(ctx); err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	if err := b.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNestedNamesAreIndependent(t *testing.T) {
	c := cluster(t)
	for _, names := range [][2]string{{"/a", "/a/b"}, {"/a/b", "/a"}} {
		t.Run(strings.Join(names[:], "_then_"), func(t *testing.T) {
			outer, inner := newNode(t, c, 0, names[0], 10), newNode(t, c, 1, names[1], 10)
			mustLock(t, outer.m)
			// Lock, not TryLock: a waiter that saw the other lock's entry
			// would block here.
			mustLock(t, inner.m)
			if err := inner.m.Unlock(within(t)); err != nil {
				t.Fatal(err)
			}
			if err := outer.m.Unlock(within(t)); err != nil {
				t.Fatal(err)
			}
			// And the fast path sees only its own line.
			if err := outer.m.TryLock(within(t)); err != nil {
				t.Fatal(err)
			}
			if err := inner.m.TryLock(within(t)); err != nil {
				t.Fatalf("TryLock %s while %s is held: %v", names[1], names[0], err)
			}
			for _, m := range []*fairmutex.Mutex{outer.m, inner.m} {
				if err := m.Unlock(within(t)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestHolderLeaseRevoked(t *testing.T) {
	c := cluster(t)
	holder, next := newNode(t, c, 0, "/revoke", 10), newNode(t, c, 1, "/revoke", 10)
	admin := testcluster.Client(t, c.Cluster, 2)
	mustLock(t, holder.m)
	lostToken, lostKey := holder.m.Token(), holder.m.Key()
	done := holder.m.Done()
	if !openChan(done) {
		t.Fatal("Done closed while held")
	}
	fence := holder.m.IsOwner()

	granted := make(chan error, 1)
	go func() { granted <- next.m.Lock(within(t)) }()
	testcluster.WaitKeys(t, admin, "/revoke/", 2)

	if _, err := admin.Revoke(within(t), holder.s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the holder's lease was revoked")
	}
	if err := <-granted; err != nil {
		t.Fatalf("next waiter: %v", err)
	}
	if next.m.Token() <= lostToken {
		t.Errorf("new token %d not above the lost one %d", next.m.Token(), lostToken)
	}
	// The old holder's fence and Unlock must not touch the new hold.
	resp, err := holder.cli.Txn(within(t)).If(fence).Then(clientv3.OpPut("/revoke-data", "stale")).Commit()
	if err != nil || resp.Succeeded {
		t.Errorf("write fenced by the lost hold: succeeded=%v err=%v", resp != nil && resp.Succeeded, err)
	}
	if err := holder.m.Unlock(within(t)); !errors.Is(err, fairmutex.ErrLost) {
		t.Errorf("Unlock of a lost hold = %v, want ErrLost", err)
	}
	if got := testcluster.Keys(t, admin, "/revoke/"); !cmp.Equal(got, []string{next.m.Key()}) || got[0] == lostKey {
		t.Errorf("line after the stale Unlock = %v, want just the new holder %s", got, next.m.Key())
	}
	if err := next.m.Unlock(within(t)); err != nil {
		t.Fatal(err)
	}
}

func TestWaiterLeaseRevoked(t *testing.T) {
	c := cluster(t)
	holder, waiter := newNode(t, c, 0, "/wrevoke", 10), newNode(t, c, 1, "/wrevoke", 10)
	admin := testcluster.Client(t, c.Cluster, 2)
	mustLock(t, holder.m)
	result := make(chan error, 1)
	go func() { result <- waiter.m.Lock(within(t)) }()
	testcluster.WaitKeys(t, admin, "/wrevoke/", 2)

	revoked := time.Now()
	if _, err := admin.Revoke(within(t), waiter.s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, fairmutex.ErrLost) && !errors.Is(err, fairmutex.ErrSessionExpired) {
			t.Fatalf("waiter whose lease was revoked: Lock = %v, want ErrLost or ErrSessionExpired", err)
		}
		// The own-key watch reports it at once; the session's keepalive
		// would take a third of the TTL (over 3 s).
		if d := time.Since(revoked); d > 3*time.Second {
			t.Errorf("waiter noticed its lost entry after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter still waiting 10s after its lease was revoked")
	}
	if waiter.m.Token() != 0 {
		t.Error("waiter holds a token after failing")
	}
	if err := holder.m.Unlock(within(t)); err != nil {
		t.Fatalf("holder Unlock: %v", err)
	}
	testcluster.WaitKeys(t, admin, "/wrevoke/", 0)
}

func TestTwoMutexesOnOneSessionExclude(t *testing.T) {
	c := cluster(t)
	cli := testcluster.Client(t, c.Cluster, 0)
	s := testcluster.Session(t, cli, 10)
	m1, err := fairmutex.New(s, "/same")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := fairmutex.New(s, "/same")
	if err != nil {
		t.Fatal(err)
	}
	mustLock(t, m1)
	if err := m2.TryLock(within(t)); !errors.Is(err, fairmutex.ErrLocked) {
		t.Fatalf("second Mutex on the same session: TryLock = %v, want ErrLocked", err)
	}
	got := make(chan error, 1)
	go func() { got <- m2.Lock(within(t)) }()
	testcluster.WaitKeys(t, cli, "/same/", 2) // two values, two keys (etcd #10756)
	select {
	case err := <-got:
		t.Fatalf("second Mutex granted while the first holds (err %v)", err)
	default:
	}
	if err := m1.Unlock(within(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := m2.Unlock(within(t)); err != nil {
		t.Fatal(err)
	}
}

func TestOneMutexManyGoroutines(t *testing.T) {
	c := cluster(t)
	nd := newNode(t, c, 0, "/shared-value", 10)
	var inside atomic.Int32
	var g errgroup.Group
	for range 4 {
		g.Go(func() error {
			for range 5 {
				if err := nd.m.Lock(within(t)); err != nil {
					return err
				}
				if inside.Add(1) != 1 {
					return errors.New("two goroutines hold one Mutex's lock at once")
				}
				inside.Add(-1)
				if err := nd.m.Unlock(within(t)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestLockCancelledLeavesNothing(t *testing.T) {
	c := cluster(t)
	holder, waiter := newNode(t, c, 0, "/cancel", 10), newNode(t, c, 1, "/cancel", 10)
	mustLock(t, holder.m)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- waiter.m.Lock(ctx) }()
	testcluster.WaitKeys(t, holder.cli, "/cancel/", 2)
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Lock = %v, want context.Canceled", err)
	}
	if got := testcluster.Keys(t, holder.cli, "/cancel/"); !cmp.Equal(got, []string{holder.m.Key()}) {
		t.Errorf("line after a cancelled Lock = %v, want only the holder's key", got)
	}
	if err := waiter.m.Unlock(within(t)); !errors.Is(err, fairmutex.ErrNotLocked) {
		t.Errorf("Unlock after a cancelled Lock = %v, want ErrNotLocked", err)
	}
}

func TestStateWhenNotHeld(t *testing.T) {
	c := cluster(t)
	nd := newNode(t, c, 0, "/idle", 10)
	ctx := within(t)
	check := func(when string) {
		t.Helper()
		if nd.m.Token() != 0 || nd.m.Key() != "" || openChan(nd.m.Done()) {
			t.Errorf("%s: Token %d, Key %q, Done open %v; want 0, \"\", closed", when, nd.m.Token(), nd.m.Key(), openChan(nd.m.Done()))
		}
		resp, err := nd.cli.Txn(ctx).If(nd.m.IsOwner()).Commit()
		if err != nil || resp.Succeeded {
			t.Errorf("%s: IsOwner held (err %v)", when, err)
		}
		if err := nd.m.Unlock(ctx); !errors.Is(err, fairmutex.ErrNotLocked) {
			t.Errorf("%s: Unlock = %v, want ErrNotLocked", when, err)
		}
	}
	check("before Lock")
	mustLock(t, nd.m)
	done := nd.m.Done()
	resp, err := nd.cli.Txn(ctx).If(nd.m.IsOwner()).Then(clientv3.OpPut("/idle-data", "x")).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("write fenced by a live hold failed: %v", err)
	}
	if err := nd.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed by Unlock")
	}
	check("after Unlock")
}

func TestContendedPathCost(t *testing.T) {
	c := cluster(t)
	const contenders, rounds = 3, 20
	type counted struct {
		m     *fairmutex.Mutex
		calls *testcluster.Calls
	}
	var all []counted
	for i := range contenders {
		cli, calls := testcluster.CountingClient(t, c.Cluster, i)
		s := testcluster.Session(t, cli, 10)
		m, err := fairmutex.New(s, "/cost")
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, counted{m, calls})
	}
	start := make([]int64, contenders)
	for i, cm := range all {
		start[i] = cm.calls.Unary()
	}
	// Every call has a deadline, and the first failure cancels the rest:
	// an Unlock that fails (say during a leader election) must fail the
	// test at once, not leave the others waiting behind its entry until
	// go test's own timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	var contended atomic.Int64
	for i, cm := range all {
		g.Go(func() error {
			for r := range rounds {
				if err := callWithin(gctx, cm.m.Lock); err != nil {
					return fmt.Errorf("contender %d, round %d: Lock: %w", i, r, err)
				}
				time.Sleep(2 * time.Millisecond) // hold long enough for others to queue
				if err := callWithin(gctx, cm.m.Unlock); err != nil {
					return fmt.Errorf("contender %d, round %d: Unlock: %w", i, r, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	var unary int64
	var watches []int64
	for i, cm := range all {
		unary += cm.calls.Unary() - start[i]
		watches = append(watches, cm.calls.WatchStartRevs()...)
	}
	for _, rev := range watches {
		if rev != 0 {
			t.Errorf("a watch was created with start revision %d: etcd serves such watches from its 100 ms resync loop", rev)
		}
	}
	contended.Store(int64(len(watches)))
	perAcq := float64(unary) / float64(contenders*rounds)
	t.Logf("%.2f unary calls per acquisition, %d watches for %d acquisitions", perAcq, len(watches), contenders*rounds)
	if perAcq > 4 {
		t.Errorf("%.2f server calls per acquisition, want at most 4 (join, check, wakeup read, fenced delete)", perAcq)
	}
	if contended.Load() == 0 {
		t.Error("no acquisition waited: the test did not exercise the contended path")
	}
}

func openChan(c <-chan struct{}) bool {
	select {
	case <-c:
		return false
	default:
		return true
	}
}

// callWithin runs a blocking call of the lock with a deadline of its own,
// within ctx.
func callWithin(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return call(ctx)
}

// within returns a context that ends after 20 s, or with the test: every
// blocking call of these tests has a deadline, so that a hang fails the
// test within seconds instead of at go test's own timeout.
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
