package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/semaphore"
)

// The first Lock of a fresh session returns a hold whose HeldUntil is
// usable at once (issue 25: it used to be zero, so the README's
// context.WithDeadline(ctx, m.HeldUntil()) gave an expired context): the
// grant waits for the session's first guard keep-alive.
func TestHeldUntilRightAfterFirstLock(t *testing.T) {
	const ttl = 10
	c := testcluster.Cluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for i := range 5 { // a fresh session each time: its guard has never answered
		ct := newContender(t, c, 0, ttl, "/lifecycle/held-until", "first")
		if err := ct.m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if left := time.Until(ct.m.HeldUntil()); left <= 0 || left > ttl*time.Second {
			t.Errorf("round %d: HeldUntil right after a session's first Lock is %v from now, want within the TTL (%ds) and ahead", i, left, ttl)
		}
		if err := ct.m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		sm, err := semaphore.New(testcluster.Session(t, testcluster.Client(t, c, 0), ttl), "/lifecycle/held-until-sem", 2)
		if err != nil {
			t.Fatal(err)
		}
		p, err := sm.TryAcquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if left := time.Until(p.HeldUntil()); left <= 0 {
			t.Errorf("round %d: HeldUntil right after a session's first TryAcquire is %v from now, want ahead", i, left)
		}
		if err := p.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
