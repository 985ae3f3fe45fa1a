package donefirst_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// A hold whose keep-alives keep succeeding is never told it lost: over four
// TTLs its Done stays open, and HeldUntil stays in the future and keeps
// moving on. Then Unlock closes Done: the channel watched was live.
func TestDoneStaysOpenWhileAlive(t *testing.T) {
	const watch = 4 * holdTTL * time.Second
	c := testcluster.Cluster(t, 3)
	s := testcluster.Session(t, testcluster.Client(t, c, 0), holdTTL)
	m, err := fairmutex.New(s, "/donefirst/alive")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	done := m.Done()
	first := awaitHeldUntil(t, m.HeldUntil)
	start, last := time.Now(), first

	tick := time.NewTicker(holdTTL * time.Second / 8)
	defer tick.Stop()
	end := time.After(watch)
	for watching := true; watching; {
		select {
		case <-done:
			t.Fatalf("Done closed after %v while keep-alives succeed (HeldUntil was now%+v)",
				time.Since(start), ms(time.Until(last)))
		case <-s.Done():
			t.Fatalf("session ended after %v", time.Since(start))
		case <-tick.C:
			hu, now := m.HeldUntil(), time.Now()
			if !hu.After(now) {
				t.Fatalf("HeldUntil %v ago after %v while keep-alives succeed", now.Sub(hu), now.Sub(start))
			}
			if hu.Before(last) {
				t.Fatalf("HeldUntil went back by %v", last.Sub(hu))
			}
			last = hu
		case <-end:
			watching = false
		}
	}
	elapsed := time.Since(start)
	// Rounds go out every TTL/3, so HeldUntil trails the present by less
	// than a TTL; a stuck one would have moved by nothing.
	if moved := last.Sub(first); moved < elapsed-holdTTL*time.Second {
		t.Fatalf("HeldUntil moved by %v in %v", moved, elapsed)
	}
	t.Logf("over %v (TTL %ds): Done open, HeldUntil moved %v, last seen now%+v",
		ms(elapsed), holdTTL, ms(last.Sub(first)), ms(time.Until(last)))

	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Done still open after Unlock")
	}
}
