package integration_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// Three changes to the engine that the whole suite once let through (issue
// 29): each test below fails when its change is made.

// A release touches the permits it lets in, so that their successors wake;
// the touch must keep the let-in entry's lease (WithIgnoreLease), or a
// crashed holder's permit would never go away. Limit 2: A and B hold, C
// waits on its own session and D behind it; A releases, which lets C in.
// C's entry must still be bound to C's lease, and revoking that lease must
// free the permit for D.
func TestReleaseTouchKeepsLease(t *testing.T) {
	const name, ttl, limit = "/unnoticed/touch-lease", 30, 2
	c := testcluster.Cluster(t, 1)
	admin := testcluster.Client(t, c, 0)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	on := func() (*queue.Queue, clientv3.LeaseID) {
		s := testcluster.Session(t, testcluster.Client(t, c, 0), ttl)
		q, err := queue.New(s, name)
		if err != nil {
			t.Fatal(err)
		}
		return q, s.Lease()
	}
	qa, _ := on()
	qb, _ := on()
	qc, leaseC := on()
	qd, _ := on()
	a, err := qa.AcquirePermit(ctx, "a", limit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qb.AcquirePermit(ctx, "b", limit); err != nil {
		t.Fatal(err)
	}
	acquire := func(q *queue.Queue, who string) <-chan *queue.Ticket {
		granted := make(chan *queue.Ticket, 1)
		go func() {
			tk, err := q.AcquirePermit(ctx, who, limit)
			if err != nil {
				t.Errorf("%s: %v", who, err)
			}
			granted <- tk
		}()
		return granted
	}
	grantedC := acquire(qc, "c")
	waitLine(t, admin, name, 3)
	grantedD := acquire(qd, "d")
	waitLine(t, admin, name, 4)

	if err := a.Leave(ctx); err != nil { // lets C in, with a touch
		t.Fatal(err)
	}
	var tc *queue.Ticket
	select {
	case tc = <-grantedC:
	case <-time.After(grantTimeout):
		t.Fatal("C not let in after A's release")
	}
	if tc == nil {
		t.Fatal("C's Acquire failed")
	}
	resp, err := admin.Get(ctx, tc.Key())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision == resp.Kvs[0].CreateRevision {
		t.Fatalf("C's entry after A's release: %v, want it there and touched", resp.Kvs)
	}
	if got := clientv3.LeaseID(resp.Kvs[0].Lease); got != leaseC {
		t.Fatalf("C's entry is bound to lease %x after the release's touch, want C's %x", got, leaseC)
	}
	select {
	case <-grantedD:
		t.Fatal("D granted while B and C hold both permits")
	default:
	}
	if _, err := admin.Revoke(ctx, leaseC); err != nil { // C's process is gone
		t.Fatal(err)
	}
	select {
	case td := <-grantedD:
		if td == nil {
			t.Fatal("D's Acquire failed")
		}
	case <-time.After(grantTimeout):
		t.Fatal("D not let in once C's lease was revoked: C's permit outlived its lease")
	}
}

// A ticket ends once: Leave then Abandon, and a Leave racing a Wait then
// Abandon, must not panic, must leave ErrLeft afterwards, and must tell the
// release hook once. An ended ticket that ended again would give its slot
// back a second time: the slot, by then another live ticket's, would be
// handed out again, and that ticket's entry taken for a stray and removed.
func TestTicketEndsOnce(t *testing.T) {
	const name, ttl = "/unnoticed/ends-once", 30
	c := testcluster.Cluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var released, lost atomic.Int64
	hooks := &queue.Hooks{
		Released: func(queue.ReleaseInfo) { released.Add(1) },
		Lost:     func(queue.LossInfo) { lost.Add(1) },
	}
	q, err := queue.New(testcluster.Session(t, testcluster.Client(t, c, 0), ttl), name, queue.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	assertLeft := func(who string, tk *queue.Ticket) {
		t.Helper()
		if err := tk.Wait(ctx); !errors.Is(err, queue.ErrLeft) {
			t.Errorf("%s: Wait after the end = %v, want ErrLeft", who, err)
		}
		if err := tk.Leave(ctx); !errors.Is(err, queue.ErrLeft) {
			t.Errorf("%s: Leave after the end = %v, want ErrLeft", who, err)
		}
		if _, err := tk.Position(ctx); !errors.Is(err, queue.ErrLeft) {
			t.Errorf("%s: Position after the end = %v, want ErrLeft", who, err)
		}
	}

	// Leave, then Abandon.
	first, err := q.Acquire(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	holder, err := q.Acquire(ctx, "holder") // takes the slot (and key) first had
	if err != nil {
		t.Fatal(err)
	}
	first.Abandon(ctx)
	assertLeft("first", first)
	if n := released.Load(); n != 1 {
		t.Errorf("release hook told %d times of one Leave, want 1", n)
	}

	// A Leave racing a Wait, then Abandon.
	racer, err := q.Join(ctx, "racer")
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- racer.Wait(ctx) }()
	if err := racer.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, queue.ErrLeft) {
			t.Errorf("racer: Wait during its Leave = %v, want ErrLeft", err)
		}
	case <-time.After(callTimeout):
		t.Fatal("racer: Wait still blocked after its Leave")
	}
	racer.Abandon(ctx)
	assertLeft("racer", racer)

	// The holder took first's slot: nothing of first's or racer's ends may
	// touch it, so a new entry gets a key of its own and the holder keeps
	// its place.
	next, err := q.Join(ctx, "next")
	if err != nil {
		t.Fatal(err)
	}
	if next.Key() == holder.Key() {
		t.Fatalf("a new entry got the key %s of a live hold", next.Key())
	}
	if err := holder.Settle(ctx); err != nil {
		t.Fatalf("the holder after the ended tickets' Abandon: %v", err)
	}
	if err := holder.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := next.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if n := released.Load(); n != 2 { // first and holder; racer and next were never granted
		t.Errorf("release hook told %d times, want 2", n)
	}
	if n := lost.Load(); n != 0 {
		t.Errorf("loss hook told %d times, want none", n)
	}
	assertNoKeys(t, name, testcluster.Client(t, c, 0))
}

// The writer adopts an entry found on its slot's key only after a lost
// reply: at the first attempt, an entry there is nobody's (a stray), since
// a free slot has no entry and no write in flight. A stray planted with the
// session's lease on the next free slot's key must not become the new
// ticket, and must be removed.
func TestStrayOnFreeSlotNotAdopted(t *testing.T) {
	const name, ttl = "/unnoticed/stray-slot", 30
	c := testcluster.Cluster(t, 1)
	admin := testcluster.Client(t, c, 0)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s := testcluster.Session(t, testcluster.Client(t, c, 0), ttl)
	q, err := queue.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := q.Acquire(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	key := probe.Key() // the session's lowest slot: the next join's again once free
	if err := probe.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	put, err := admin.Put(ctx, key, "stray", clientv3.WithLease(s.Lease()))
	if err != nil {
		t.Fatal(err)
	}
	stray := put.Header.Revision

	tk, err := q.Join(ctx, "joiner")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Rev() == stray || tk.Key() == key {
		t.Fatalf("Join took the stray at %s (token %d) for its own entry: got %s, token %d", key, stray, tk.Key(), tk.Rev())
	}
	if err := tk.Wait(ctx); err != nil { // behind the stray until it is removed
		t.Fatalf("Wait behind the stray: %v", err)
	}
	if keys := testcluster.Keys(t, admin, key); len(keys) != 0 {
		t.Fatalf("the stray is still at %s", key)
	}
	if err := tk.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoKeys(t, name, admin)
}
