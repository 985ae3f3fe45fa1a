package semaphore_test

import (
	"testing"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/semaphore"
)

// One handoff, counted: a release wakes the oldest waiter once (the
// holder's delete), and the next waiter once (the touch of the waiter it
// lets in, in the release's own transaction). Nobody else, the granted
// waiter itself included, receives anything.
func TestOneHandoffWakesTwoWatches(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 2
	admin := testcluster.Client(t, c, 0)
	h1 := mustAcquire(t, newNode(t, c, 0, name, limit, 10).sm)
	h2 := mustAcquire(t, newNode(t, c, 1, name, limit, 10).sm)
	counted := func(i int) (*semaphore.Semaphore, *testcluster.Calls) {
		cli, calls := testcluster.CountingClient(t, c, i)
		sm, err := semaphore.New(testcluster.Session(t, cli, 10), name, limit)
		if err != nil {
			t.Fatal(err)
		}
		return sm, calls
	}
	sm1, calls1 := counted(1)
	sm2, calls2 := counted(2)
	w1 := acquiring(bg, sm1) // the oldest waiter: watches the line's deletes
	testcluster.WaitKeys(t, admin, name+"/", 3)
	w2 := acquiring(bg, sm2) // behind it: watches w1
	testcluster.WaitKeys(t, admin, name+"/", 4)
	// Both are watching once a read follows their watches' creation; count
	// from there (nothing in the line moves until the release below).
	testcluster.Eventually(t, waitLimit, "both waiters watching", func() bool {
		return len(calls1.WatchStartRevs()) >= 1 && len(calls2.WatchStartRevs()) >= 1
	})
	e1, e2 := calls1.WatchEvents(), calls2.WatchEvents()

	mustRelease(t, h1)
	p1 := granted(t, w1, promptly, "the oldest waiter after a release")
	// w2 is woken by the touch of w1 and becomes the oldest waiter; h2's
	// release then lets it in.
	testcluster.Eventually(t, waitLimit, "the touch to reach the next waiter", func() bool { return calls2.WatchEvents() > e2 })
	mustRelease(t, h2)
	p2 := granted(t, w2, promptly, "the next waiter after the second release")

	// At most: a watch registered after the event it would have carried
	// delivers nothing, and the confirming read sees the change instead.
	if got := calls1.WatchEvents() - e1; got > 1 {
		t.Errorf("the first waiter received %d watch events for its grant, want at most 1 (the holder's delete): a waiter is woken by its own touch", got)
	}
	if got := calls2.WatchEvents() - e2; got > 2 {
		t.Errorf("the second waiter received %d watch events, want at most 2 (the touch, the holder's delete)", got)
	}
	mustRelease(t, p1)
	mustRelease(t, p2)
	noKeys(t, admin, name)
}
