package donefirst_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// queue.WithSafetyMargin moves HeldUntil earlier by the margin: holds on one
// session, read at the same moment (the session's deadline did not move
// between the reads), differ by exactly their margins. A negative margin
// counts as 0; no option means DefaultSafetyMargin.
func TestSafetyMargin(t *testing.T) {
	const margin = 500 * time.Millisecond
	c := testcluster.Cluster(t, 3)
	s := testcluster.Session(t, testcluster.Client(t, c, 0), holdTTL)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	lock := func(name string, opts ...queue.Option) *fairmutex.Mutex {
		t.Helper()
		m, err := fairmutex.New(s, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Lock(ctx); err != nil {
			t.Fatalf("Lock %s: %v", name, err)
		}
		awaitHeldUntil(t, m.HeldUntil)
		return m
	}
	zero := lock("/donefirst/margin-zero", queue.WithSafetyMargin(0))
	wide := lock("/donefirst/margin-wide", queue.WithSafetyMargin(margin))
	negative := lock("/donefirst/margin-negative", queue.WithSafetyMargin(-time.Second))
	dflt := lock("/donefirst/margin-default")

	var z, w, n, d time.Time
	testcluster.Eventually(t, callTimeout, "four HeldUntil reads between two keep-alive answers", func() bool {
		z = zero.HeldUntil()
		w, n, d = wide.HeldUntil(), negative.HeldUntil(), dflt.HeldUntil()
		return zero.HeldUntil().Equal(z)
	})
	if got := z.Sub(w); got != margin {
		t.Errorf("WithSafetyMargin(%v): HeldUntil %v earlier than with 0, want %v", margin, got, margin)
	}
	if !n.Equal(z) {
		t.Errorf("WithSafetyMargin(-1s): HeldUntil %v from the one with 0, want the same", n.Sub(z))
	}
	if got := z.Sub(d); got != queue.DefaultSafetyMargin {
		t.Errorf("no WithSafetyMargin: HeldUntil %v earlier than with 0, want DefaultSafetyMargin (%v)", got, queue.DefaultSafetyMargin)
	}
	if !w.After(time.Now()) {
		t.Errorf("HeldUntil with a %v margin is in the past while keep-alives succeed", margin)
	}
}
