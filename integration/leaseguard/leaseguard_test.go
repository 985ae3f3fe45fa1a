package leaseguard_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/internal/leaseguard"
)

// A holder whose connection is cut past its TTL learns that its lease may
// be gone before etcd expires it: Lost closes before a client on another
// member sees the lease's key deleted, both timed on this process's clock,
// in every repetition. The session is numb (it never reports the loss), so
// the guard alone must tell. Lost(margin) closes before Lost(0).
func TestLostBeforeExpiry(t *testing.T) {
	const (
		reps   = 8
		ttl    = 2
		margin = 500 * time.Millisecond
	)
	c := testcluster.Cluster(t, 3)
	var observers []*clientv3.Client
	for i := range c.Members {
		observers = append(observers, testcluster.Client(t, c, i))
	}
	var leads []time.Duration
	for rep := range reps {
		ok := t.Run(fmt.Sprintf("rep%d", rep), func(t *testing.T) {
			leads = append(leads, cutPastTTL(t, c, rep%3, observers[(rep+1)%3], ttl, margin))
		})
		if !ok {
			break
		}
	}
	t.Logf("Lost(0) closed before the deletion was seen, by %v", leads)
}

// cutPastTTL runs one repetition of TestLostBeforeExpiry with the holder on
// member m and returns by how much Lost(0) preceded the deletion.
func cutPastTTL(t *testing.T, c *integration.Cluster, m int, observer *clientv3.Client, ttl int, margin time.Duration) time.Duration {
	h := newHolder(t, c, m, ttl, true)
	g := h.guard(t)
	key := fmt.Sprintf("/leaseguard/cut/%d", m)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := h.cli.Put(ctx, key, "held", clientv3.WithLease(h.s.Lease())); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	deleted := observeDeletion(t, observer, key)
	lost0, lostM := closedAt(g.Lost(0)), closedAt(g.Lost(margin))

	cut := time.Now()
	c.Members[m].Bridge().Blackhole()
	defer c.Members[m].Bridge().Unblackhole()
	bound := time.Duration(ttl)*time.Second + expirySlack
	l0 := await(t, "Lost(0)", lost0, bound)
	until := g.Until()
	lm := await(t, "Lost(margin)", lostM, bound)
	del := await(t, "deletion of the lease's key", deleted, bound)
	select {
	case <-h.s.Done():
		t.Fatal("the numb session reported the loss: the test does not test the guard")
	default:
	}

	t.Logf("member %d cut: Lost(%v) after %v, Lost(0) after %v (Until was cut%+v), deletion seen after %v",
		m, margin, lm.Sub(cut), l0.Sub(cut), until.Sub(cut), del.Sub(cut))
	if !l0.Before(del) {
		t.Fatalf("Lost(0) closed %v after the lease's key was seen deleted", l0.Sub(del))
	}
	if lm.After(l0) {
		t.Fatalf("Lost(%v) closed %v after Lost(0)", margin, lm.Sub(l0))
	}
	// Lost(0) closes on time, not when something else happens to wake the
	// guard. And Until comes from answers to rounds sent before the cut, or
	// from the one round that can still slip through: the bridge forwards
	// the one read each way that was already waiting when the cut came,
	// and the guard sends a round within TTL/3.
	if late := l0.Sub(until); late > time.Second {
		t.Fatalf("Lost(0) closed %v after Until", late)
	}
	if bound := time.Duration(ttl)*time.Second*4/3 + time.Second; until.Sub(cut) > bound {
		t.Fatalf("Until is cut%+v, want at most cut+%v (TTL %ds)", until.Sub(cut), bound, ttl)
	}
	return del.Sub(l0)
}

// A session whose keep-alives keep succeeding is never reported lost over
// several TTLs; Until keeps moving on; and the guard costs one keep-alive
// per TTL/3.
func TestNeverLostWhileAlive(t *testing.T) {
	const ttl = 2
	c := testcluster.Cluster(t, 3)
	h := newHolder(t, c, 0, ttl, false)
	g := h.guard(t)
	start, u0 := time.Now(), g.Until()
	sent0, _ := g.Rounds()
	if !u0.After(start) {
		t.Fatalf("Until %v is not in the future right after an answer", u0)
	}
	lost, lostM := g.Lost(0), g.Lost(100*time.Millisecond)

	const watch = 4 * ttl * time.Second
	select {
	case <-lost:
		t.Fatalf("Lost(0) closed after %v while keep-alives succeed", time.Since(start))
	case <-lostM:
		t.Fatalf("Lost(100ms) closed after %v while keep-alives succeed", time.Since(start))
	case <-h.s.Done():
		t.Fatalf("session ended after %v", time.Since(start))
	case <-time.After(watch):
	}

	elapsed := time.Since(start)
	u1 := g.Until()
	if moved := u1.Sub(u0); moved < elapsed-time.Duration(ttl)*time.Second {
		t.Fatalf("Until moved by %v in %v", moved, elapsed)
	}
	sent1, answered := g.Rounds()
	rounds, calls := sent1-sent0, h.lease.once.Load()
	maxRounds := uint64(elapsed/(time.Duration(ttl)*time.Second/3)) + 1
	t.Logf("over %v (TTL %ds): Until moved %v; %d rounds (%d answered in all), %d KeepAliveOnce calls",
		elapsed, ttl, u1.Sub(u0), rounds, answered, calls)
	if rounds > maxRounds {
		t.Fatalf("%d keep-alive rounds in %v, want at most %d (one per TTL/3)", rounds, elapsed, maxRounds)
	}
	if uint64(calls) > sent1 {
		t.Fatalf("%d KeepAliveOnce calls, more than the %d rounds the guard counts", calls, sent1)
	}
}

// One guard per session, shared by every caller; it stops with the session:
// Lost closes, Until is past, its goroutines return (goleak checks the
// rest in TestMain). For on an ended session returns a stopped guard.
func TestStopsWithSession(t *testing.T) {
	c := testcluster.Cluster(t, 1)
	h := newHolder(t, c, 0, 5, false)

	guards := make([]*leaseguard.Guard, 8)
	var wg sync.WaitGroup
	for i := range guards {
		wg.Go(func() { guards[i] = leaseguard.For(h.s) })
	}
	wg.Wait()
	for _, g := range guards[1:] {
		if g != guards[0] {
			t.Fatal("For returned two guards for one session")
		}
	}
	g := h.guard(t)
	if g != guards[0] {
		t.Fatal("For returned another guard later")
	}
	lost := g.Lost(0)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := h.s.Close(); err != nil {
		t.Fatalf("session Close: %v", err)
	}
	select {
	case <-g.Stopped():
	case <-ctx.Done():
		t.Fatal("guard still running after the session closed")
	}
	if !closed(lost) || !closed(g.Lost(time.Second)) {
		t.Fatal("Lost open after the session closed")
	}
	if u := g.Until(); u.IsZero() || u.After(time.Now()) {
		t.Fatalf("Until after the session closed = %v, want a time in the past", u)
	}

	late := leaseguard.For(h.s)
	if !closed(late.Stopped()) || !closed(late.Lost(0)) {
		t.Fatal("For on an ended session returned a running guard")
	}
	if err := late.Ready(ctx); err == nil {
		t.Fatal("Ready of a guard started on an ended session = nil, want ErrGone")
	}
}

// A lease revoked behind the session's back is found gone by the guard's
// next round, within TTL/3.
func TestRevokedLease(t *testing.T) {
	const ttl = 6
	c := testcluster.Cluster(t, 3)
	h := newHolder(t, c, 0, ttl, true)
	g := h.guard(t)
	lost := closedAt(g.Lost(0))

	other := testcluster.Client(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	revoked := time.Now()
	if _, err := other.Revoke(ctx, h.s.Lease()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	at := await(t, "Lost(0) after the revoke", lost, callTimeout)
	if took := at.Sub(revoked); took > time.Duration(ttl)*time.Second/3+time.Second {
		t.Fatalf("Lost(0) closed %v after the revoke, want within TTL/3 (%v)", took, time.Duration(ttl)*time.Second/3)
	}
	select {
	case <-g.Stopped():
	case <-ctx.Done():
		t.Fatal("guard still running after its lease was found gone")
	}
	if u := g.Until(); u.After(time.Now()) {
		t.Fatalf("Until %v in the future after the lease was found gone", u)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
