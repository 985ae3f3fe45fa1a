package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
)

// A waiter's lease expires while it waits (its connection is cut for longer
// than its TTL). Its Lock returns an error, never the lock, and the waiter
// behind it is not held up beyond the expiry: it is granted as soon as the
// dead entry goes.
func TestWaiterLeaseExpiresWhileWaiting(t *testing.T) {
	const name, ttl, shortTTL = "/faults/waiter-expiry", 5, 2
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 2, ttl, name, "holder")
	doomed := newContender(t, c, 0, shortTTL, name, "doomed")
	next := newContender(t, c, 1, ttl, name, "next")
	hold, waiting := lineUp(t, &h, name, holder, doomed, next)
	ad, an := waiting[0], waiting[1]
	doomedKey := line(t, holder.cli, name)[1].Key

	cut := time.Now()
	c.Members[0].Bridge().Blackhole()
	hold.mustUnlock(t) // the doomed waiter is first in line now, and cannot hear it
	// The dead entry vanishes when etcd expires the lease; note when.
	testcluster.Eventually(t, shortTTL*time.Second+expirySlack, "the doomed waiter's entry to expire", func() bool {
		for _, e := range line(t, holder.cli, name) {
			if e.Key == doomedKey {
				return false
			}
		}
		return true
	})
	expired := time.Now()
	an.granted(t, grantTimeout)
	t.Logf("entry expired %v after the cut (TTL %ds); next granted %v after that",
		expired.Sub(cut), shortTTL, time.Since(expired))
	if d := time.Since(cut); d > shortTTL*time.Second+expirySlack {
		t.Fatalf("next granted %v after the cut, more than TTL %ds + %v", d, shortTTL, expirySlack)
	}

	an.mustUnlock(t)
	assertNoKeys(t, name, holder.cli, next.cli)

	// Its own client's session ends (no keep-alive answered within the
	// TTL), and then its Lock must give up even though its connection is
	// still cut: a waiter whose lease expired must not wait on.
	select {
	case <-doomed.s.Done():
	case <-time.After(shortTTL*time.Second + expirySlack):
		t.Fatalf("doomed waiter's session not ended %v after the cut (TTL %ds)", time.Since(cut), shortTTL)
	}
	ok, err := ad.returned(giveUpTimeout)
	c.Members[0].Bridge().Unblackhole()
	if !ok {
		// Seen before the fix of cfe8b2d: a read sent into the dead
		// connection waited on the caller's context alone.
		t.Fatalf("doomed waiter's Lock still blocked %v after its session ended", giveUpTimeout)
	}
	if !isLossErr(err) {
		t.Fatalf("doomed waiter's Lock = %v, want ErrSessionExpired or ErrLost", err)
	}
	if tok := doomed.m.Token(); tok != 0 {
		t.Fatalf("doomed waiter holds token %d after its Lock failed", tok)
	}
	checkHistory(t, &h)
	assertNoKeys(t, name, holder.cli, next.cli, doomed.cli)
}

// A waiter's lease is revoked (as etcd does when it expires) while it waits
// behind a holder: its Lock fails at once, and the waiter behind it moves up
// and is granted on the holder's release.
func TestWaiterLeaseRevokedWhileWaiting(t *testing.T) {
	const name, ttl = "/faults/waiter-revoked", 5
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 0, ttl, name, "holder")
	doomed := newContender(t, c, 1, ttl, name, "doomed")
	next := newContender(t, c, 2, ttl, name, "next")
	hold, waiting := lineUp(t, &h, name, holder, doomed, next)
	ad, an := waiting[0], waiting[1]

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := holder.cli.Revoke(ctx, doomed.s.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := ad.wait(t, grantTimeout); !isLossErr(err) {
		t.Fatalf("Lock of a waiter whose lease was revoked = %v, want ErrSessionExpired or ErrLost", err)
	}
	assertPending(t, "while the holder holds", an)
	hold.mustUnlock(t)
	an.granted(t, grantTimeout)
	an.mustUnlock(t)

	checkHistory(t, &h)
	assertNoKeys(t, name, holder.cli)
}

// A holder's process crashes without Unlock: its client goes away and its
// lease is left to expire. The next waiter is granted within the TTL (and
// some slack). Twice: once with the session orphaned first (nothing revokes
// the lease), once with the client just closed.
func TestCrashedHolder(t *testing.T) {
	const name, ttl = "/faults/crash", 2
	c := testcluster.Cluster(t, 3)
	var h history.History

	first := newContender(t, c, 0, ttl, name, "first")
	second := newContender(t, c, 1, ttl, name, "second")
	third := newContender(t, c, 2, ttl, name, "third")
	a1, waiting := lineUp(t, &h, name, first, second, third)
	a2, a3 := waiting[0], waiting[1]

	crash := time.Now()
	first.s.Orphan()
	first.cli.Close()
	a1.op.Lost() // its hold ends with its lease; nobody will release it
	a2.granted(t, ttl*time.Second+expirySlack)
	t.Logf("second granted %v after first crashed (TTL %ds)", time.Since(crash), ttl)
	assertPending(t, "while second holds", a3)

	crash = time.Now()
	second.cli.Close()
	a2.op.Lost()
	a3.granted(t, ttl*time.Second+expirySlack)
	t.Logf("third granted %v after second crashed (TTL %ds)", time.Since(crash), ttl)
	a3.mustUnlock(t)

	checkHistory(t, &h)
	if holds := h.Holds(); len(holds) != 3 {
		t.Fatalf("%d grants, want 3:\n%s", len(holds), h.String())
	}
	assertNoKeys(t, name, third.cli)
}

// A session whose lease is gone before the session has noticed (revoked
// here by another client, as etcd does on expiry; the session's next
// keep-alive is seconds away). Every call that joins the line must report
// the lost session, as a sentinel the caller can act on (renew the
// session), never the lock and never a raw etcd error.
func TestCallsOnALeaseGoneUnnoticed(t *testing.T) {
	const name, ttl = "/faults/lease-gone", 30
	c := testcluster.Cluster(t, 3)
	cli := testcluster.Client(t, c, 0)
	other := testcluster.Client(t, c, 1)
	for _, call := range []struct {
		name string
		do   func(ctx context.Context, s *concurrency.Session) error
	}{
		{"fairmutex.Lock", func(ctx context.Context, s *concurrency.Session) error { return newMutex(t, s, name).Lock(ctx) }},
		{"fairmutex.TryLock", func(ctx context.Context, s *concurrency.Session) error { return newMutex(t, s, name).TryLock(ctx) }},
		{"rwmutex.RLock", func(ctx context.Context, s *concurrency.Session) error {
			rw, err := rwmutex.New(s, name)
			if err != nil {
				return err
			}
			return rw.RLock(ctx)
		}},
		{"queue.Join", func(ctx context.Context, s *concurrency.Session) error {
			q, err := queue.New(s, name)
			if err != nil {
				return err
			}
			_, err = q.Join(ctx, "v")
			return err
		}},
	} {
		t.Run(call.name, func(t *testing.T) {
			s := testcluster.Session(t, cli, ttl)
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			if _, err := other.Revoke(ctx, s.Lease()); err != nil {
				t.Fatal(err)
			}
			err := call.do(ctx, s)
			if err == nil {
				t.Fatalf("%s on a revoked lease succeeded", call.name)
			}
			if !errors.Is(err, queue.ErrSessionExpired) {
				t.Errorf("%s on a session whose lease is gone = %q, want ErrSessionExpired "+
					"(etcd's ErrLeaseNotFound from the join's put must not be passed through raw)", call.name, err)
			}
			assertNoKeys(t, name, other)
		})
	}
}
