package queue_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// costHolds is how many holds the cost test takes.
const costHolds = 500

// A hold watched with Done costs no goroutine of its own and shares one
// watch stream with the session's other holds; each still learns of its
// own loss, and only of its own.
func TestDoneCostsNoGoroutinePerHold(t *testing.T) {
	c := testcluster.Cluster(t, 1)
	admin := testcluster.Client(t, c, 0)
	cli, calls := testcluster.CountingClient(t, c, 0)
	s := testcluster.Session(t, cli, 30)
	ctx, cancel := context.WithTimeout(bg, 2*callTimeout)
	defer cancel()

	// Warm the session up: its lease guard and watch stream start with
	// the first Done.
	warm, err := fairmutex.New(s, "/cost/warm")
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	_ = warm.Done()
	testcluster.Eventually(t, callTimeout, "the warm-up watch", func() bool { return len(calls.WatchStartRevs()) == 1 })
	g0 := settledGoroutines()

	locks := make([]*fairmutex.Mutex, costHolds)
	dones := make([]<-chan struct{}, costHolds)
	for i := range locks {
		m, err := fairmutex.New(s, fmt.Sprintf("/cost/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Lock(ctx); err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		locks[i], dones[i] = m, m.Done()
	}
	testcluster.Eventually(t, callTimeout, "every hold's watch", func() bool { return len(calls.WatchStartRevs()) == costHolds+1 })
	g1 := settledGoroutines()
	if extra := g1 - g0; extra > costHolds/50 {
		t.Errorf("%d holds watched with Done added %d goroutines (%.2f per hold), want none per hold (at most %d in all)",
			costHolds, extra, float64(extra)/costHolds, costHolds/50)
	}
	if n := calls.WatchStreams(); n != 1 {
		t.Errorf("%d watch streams for one session's holds, want 1", n)
	}
	for i, ch := range dones {
		if isDone(ch) {
			t.Fatalf("hold %d: Done closed while held", i)
		}
	}

	// Each hold still learns of its loss, and only its own.
	lost := costHolds / 2
	if _, err := admin.Delete(ctx, locks[lost].Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dones[lost]:
	case <-time.After(callTimeout):
		t.Fatal("Done not closed after the hold's key was deleted")
	}
	if _, err := admin.Put(ctx, "/cost-barrier", "x"); err != nil {
		t.Fatal(err)
	}
	for i, ch := range dones {
		if i != lost && isDone(ch) {
			t.Errorf("hold %d: Done closed by another hold's loss", i)
		}
	}
	// Unlock closes Done, as before.
	if err := locks[0].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if !isDone(dones[0]) {
		t.Error("Done open after Unlock")
	}
}

// A hold whose key is deleted while the session's watch stream is broken
// still learns of it once the stream is back: every watch is created again
// and every key read again. The other holds stay open.
func TestDoneSeesLossWhileWatchStreamBroken(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 1)
	cli, calls := testcluster.CountingClient(t, c, 0)
	s := testcluster.Session(t, cli, 30)
	ctx, cancel := context.WithTimeout(bg, 2*callTimeout)
	defer cancel()

	var locks [2]*fairmutex.Mutex
	var dones [2]<-chan struct{}
	for i := range locks {
		m, err := fairmutex.New(s, fmt.Sprintf("/broken-stream/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		locks[i], dones[i] = m, m.Done()
	}
	testcluster.Eventually(t, callTimeout, "both holds' watches", func() bool { return len(calls.WatchStartRevs()) == 2 })

	bridge := c.Members[0].Bridge()
	bridge.PauseConnections() // before the drop, so that the redial waits
	bridge.DropConnections()
	if _, err := admin.Delete(ctx, locks[0].Key()); err != nil {
		t.Fatal(err)
	}
	if isDone(dones[0]) {
		t.Fatal("Done closed while the stream was down: the test cut nothing")
	}
	bridge.UnpauseConnections()
	select {
	case <-dones[0]:
	case <-time.After(callTimeout):
		t.Fatal("Done not closed after the stream came back: a delete while it was broken went unseen")
	}
	testcluster.Eventually(t, callTimeout, "the surviving hold's watch made again", func() bool { return len(calls.WatchStartRevs()) >= 3 })
	if _, err := admin.Put(ctx, "/broken-stream-barrier", "x"); err != nil {
		t.Fatal(err)
	}
	if isDone(dones[1]) {
		t.Error("Done of a hold that was not lost closed after the stream came back")
	}
	if n := calls.WatchStreams(); n < 2 {
		t.Errorf("%d watch streams, want the first and at least one after the break", n)
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// settledGoroutines returns the goroutine count once it has stopped
// changing (calls just made may still be winding down), at most 2 s on.
func settledGoroutines() int {
	prev := -1
	for range 100 {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n == prev {
			return n
		}
		prev = n
		time.Sleep(20 * time.Millisecond)
	}
	return prev
}
