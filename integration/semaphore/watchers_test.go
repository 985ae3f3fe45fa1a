package semaphore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// A waiter deep in line costs etcd one watcher, on its predecessor: a
// waiter ahead of its predecessor leaving wakes it not at all. Its own
// entry deleted by someone else (as `fairlock rm` does) is still noticed
// promptly, by its session's check of its waiters' keys.
func TestDeepWaiterWatchesOnlyItsPredecessor(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 2
	holders := []*semaphore.Permit{
		mustAcquire(t, newNode(t, c, 0, name, limit, 10).sm),
		mustAcquire(t, newNode(t, c, 1, name, limit, 10).sm),
	}
	w1ctx, cancelW1 := context.WithCancel(bg)
	defer cancelW1()
	w1 := acquiring(w1ctx, newNode(t, c, 2, name, limit, 10).sm)
	admin := testcluster.Client(t, c, 0)
	testcluster.WaitKeys(t, admin, name+"/", 3)
	w2 := acquiring(bg, newNode(t, c, 0, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin, name+"/", 4)

	cli, calls := testcluster.CountingClient(t, c, 1)
	sm, err := semaphore.New(testcluster.Session(t, cli, 10), name, limit)
	if err != nil {
		t.Fatal(err)
	}
	deep := acquiring(bg, sm)
	testcluster.Eventually(t, waitLimit, "the deep waiter's watch", func() bool { return len(calls.WatchStartRevs()) >= 1 })
	time.Sleep(300 * time.Millisecond) // time for a second watch, if it wrongly makes one
	if n := len(calls.WatchStartRevs()); n != 1 {
		t.Fatalf("the waiter third in line created %d watches, want 1 (on its predecessor)", n)
	}
	before := calls.WatchEvents()
	cancelW1() // a waiter ahead of the deep one's predecessor leaves
	if r := await(t, w1, waitLimit, "cancelled W1"); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled W1 = %v", r.err)
	}
	time.Sleep(300 * time.Millisecond) // time for an event, if one wrongly comes
	if got := calls.WatchEvents() - before; got != 0 {
		t.Errorf("the deep waiter got %d watch events when a waiter ahead of its predecessor left, want 0", got)
	}
	waiting(t, deep, "the deep waiter, behind two holders and W2")

	// Its own entry deleted: noticed within about OwnKeyCheckInterval.
	lq, err := queue.New(testcluster.Session(t, admin, 10), name)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := lq.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	own := entries[len(entries)-1].Key
	if _, err := admin.Delete(bg, own); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	r := await(t, deep, waitLimit, "the waiter whose entry was deleted")
	if !errors.Is(r.err, semaphore.ErrLost) {
		t.Errorf("Acquire whose entry was deleted = %v, want ErrLost", r.err)
	}
	if took := time.Since(deleted); took > 2*queue.OwnKeyCheckInterval+time.Second {
		t.Errorf("the deletion of a waiter's own entry was noticed after %v, want within about %v", took, queue.OwnKeyCheckInterval)
	}
	for _, p := range holders {
		mustRelease(t, p)
	}
	mustRelease(t, granted(t, w2, promptly, "W2"))
	noKeys(t, admin, name)
}
