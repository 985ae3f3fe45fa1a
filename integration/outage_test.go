package integration_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// cleanupTarget is how soon after etcd serves again the entry of a call
// that gave up during an outage must be gone (issue 9: it used to stay at
// the head of the line for about 3 s, stalling everyone behind it).
const cleanupTarget = time.Second

// backedOff is how many failed retries of the cleanup worker an outage
// lasts, so that its pause between retries has grown as far as it goes:
// six doublings from 50 ms pass any cap that lets cleanupTarget be met.
const backedOff = 6

// The whole cluster is unreachable (every member's bridge cut) while a
// waiter's Lock gives up: Lock returns its context's error, and its entry,
// which it could not remove, stays until etcd serves again. Then the
// session's cleanup worker must remove it within cleanupTarget, as seen by
// a client that was never cut off.
func TestCleanupAfterOutage(t *testing.T) {
	const name, ttl = "/faults/outage-cleanup", 30 // the sessions outlive the outage
	c := testcluster.Cluster(t, 3)
	observer := directClient(t, c, 2)

	holder := newSettledContender(t, c, 1, ttl, name, "holder")
	retried := make(chan struct{}, 100)
	hooks := &queue.Hooks{CleanupRetried: func(queue.CleanupInfo) {
		select {
		case retried <- struct{}{}:
		default:
		}
	}}
	waiter := newSettledContender(t, c, 0, ttl, name, "waiter")
	m, err := fairmutex.New(waiter.s, name, queue.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	// The whole test's bound: the outage alone lasts several seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*callTimeout)
	defer cancel()
	if err := holder.m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(ctx)
	locked := make(chan error, 1)
	go func() { locked <- m.Lock(lctx) }()
	waitLine(t, observer, name, 2)
	waiterKey := line(t, observer, name)[1].Key

	// Watch the waiter's key from a client no cut reaches.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	deleted := make(chan time.Time, 1)
	watch := observer.Watch(wctx, waiterKey, clientv3.WithCreatedNotify())
	if resp := <-watch; !resp.Created {
		t.Fatalf("observer's watch: %v", resp.Err())
	}
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		for resp := range watch {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					deleted <- time.Now()
					return
				}
			}
		}
	}()
	defer watching.Wait()
	defer wcancel()

	blackhole(t, c.Members, holder.cli, waiter.cli)
	outage := time.Now()
	stop()
	select {
	case err := <-locked:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock cancelled during the outage = %v, want context.Canceled", err)
		}
	case <-time.After(queue.CleanupTimeout + giveUpTimeout + callTimeout):
		t.Fatal("Lock cancelled during the outage has not returned")
	}
	t.Logf("Lock returned %v into the outage", time.Since(outage))
	// Let the outage go on until the worker's retries have backed off as
	// far as they go, and end it just after a failed retry: the next comes
	// after the longest pause the worker takes.
	for n := range backedOff {
		select {
		case <-retried:
		case <-time.After(callTimeout):
			t.Fatalf("%d cleanup retries during the outage, want %d", n, backedOff)
		}
	}
	if got := line(t, observer, name); len(got) != 2 || got[1].Key != waiterKey {
		t.Fatalf("line during the outage = %v, want the holder's entry and the waiter's %s: the fault missed", got, waiterKey)
	}

	for _, m := range c.Members {
		m.Bridge().Unblackhole()
	}
	back := time.Now()
	t.Logf("outage lasted %v", back.Sub(outage))
	select {
	case at := <-deleted:
		d := at.Sub(back)
		t.Logf("the waiter's entry was deleted %v after etcd served again", d)
		if d > cleanupTarget {
			t.Errorf("the entry of a Lock that gave up during the outage was deleted %v after etcd served again, want within %v", d, cleanupTarget)
		}
	case <-time.After(callTimeout):
		t.Fatalf("the entry of a Lock that gave up during the outage is still there %v after etcd served again", callTimeout)
	}
	select {
	case <-waiter.s.Done():
		t.Fatal("the waiter's session ended: its lease, not the cleanup, may have taken the entry")
	default:
	}
	if err := holder.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	awaitNoKeys(t, name, grantTimeout, observer)
}

// Many TryLock calls fail through an outage, each leaving an entry it may
// have written: one cleanup worker per session removes them all, instead
// of a goroutine per failed call, and the line is empty soon after etcd
// serves again.
func TestTryLocksThroughOutageShareOneWorker(t *testing.T) {
	const name, ttl, calls = "/faults/outage-trylock", 30, 40
	c := testcluster.Cluster(t, 3)
	observer := directClient(t, c, 2)
	ct := newSettledContender(t, c, 0, ttl, name, "poller")
	var retries atomic.Int64
	hooks := &queue.Hooks{CleanupRetried: func(queue.CleanupInfo) { retries.Add(1) }}
	ms := make([]*fairmutex.Mutex, calls)
	for i := range ms {
		m, err := fairmutex.New(ct.s, name, queue.WithHooks(hooks))
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}

	bridge := c.Members[0].Bridge()
	blackhole(t, c.Members[:1], ct.cli)
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			errs <- m.TryLock(ctx)
		}()
	}
	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(2*queue.CleanupTimeout + giveUpTimeout + callTimeout):
		t.Fatal("TryLock calls during the outage have not all returned")
	}
	close(errs)
	for err := range errs {
		if err == nil {
			t.Fatal("TryLock succeeded while its member was cut off")
		}
	}
	testcluster.Eventually(t, callTimeout, "a cleanup retry", func() bool { return retries.Load() > 0 })
	// Goroutines of the calls themselves (gRPC streams, timers) wind down;
	// what may stay is the one worker and its delete in flight.
	const bound = 10
	var after int
	testcluster.Eventually(t, callTimeout, "the failed calls' goroutines to end", func() bool {
		after = runtime.NumGoroutine()
		return after <= before+bound
	})
	t.Logf("%d goroutines before %d failed TryLock calls, %d after (%d cleanup retries so far)", before, calls, after, retries.Load())

	bridge.Unblackhole()
	testcluster.Eventually(t, callTimeout, "the line to empty", func() bool { return len(line(t, observer, name)) == 0 })
	select {
	case <-ct.s.Done():
		t.Fatal("the poller's session ended: its lease, not the cleanup, may have taken the entries")
	default:
	}
}

// directClient returns a client of member i that does not go through the
// member's bridge: it sees the cluster while the bridges are cut.
func directClient(t *testing.T, c *integration.Cluster, i int) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"unix://" + c.Members[i].GRPCListener.Addr().String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("direct client of member %d: %v", i, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// blackhole cuts the members' bridges, so that the clients given reach
// nothing, until the test ends or the bridges are unblackholed. A bridge
// cut while its copy loop waits in a read still passes what that read
// returns: a request of each client, bounded and ignored, spends those
// reads, so that no later write of the test's slips through the cut.
func blackhole(t *testing.T, members []*integration.Member, clis ...*clientv3.Client) {
	t.Helper()
	for _, m := range members {
		m.Bridge().Blackhole()
		t.Cleanup(m.Bridge().Unblackhole)
	}
	for _, cli := range clis {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		cli.Get(ctx, "/flush-the-bridge")
		cancel()
	}
}
