package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Done's watch starts "now", as Wait's do: etcd serves a watch from a past
// revision from a loop that runs every 100 ms. And it still sees the entry
// go: deleted by someone else, it closes.
func TestDoneWatchStartsNow(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 1)
	cli, calls := testcluster.CountingClient(t, c, 0)
	s := testcluster.Session(t, cli, 30)
	ctx, cancel := context.WithTimeout(bg, callTimeout)
	defer cancel()
	tk := mustJoin(ctx, t, mustQueue(t, s, "/done-now"))
	done := tk.Done()
	testcluster.Eventually(t, callTimeout, "Done's watch to be created", func() bool { return len(calls.WatchStartRevs()) > 0 })
	if _, err := admin.Delete(ctx, tk.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(callTimeout):
		t.Fatal("Done not closed after the entry was deleted")
	}
	for _, rev := range calls.WatchStartRevs() {
		if rev != 0 {
			t.Errorf("Done's watch started at revision %d, want 0 (\"now\"): etcd serves such watches from its 100 ms resync loop", rev)
		}
	}
}

// Done called for the first time after the entry is already gone (deleted
// by someone else, unknown to the ticket) must close: its watch starts
// after the delete, so only the read behind it can tell.
func TestDoneFirstCalledAfterEntryGone(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	// Another client of the session's member: that member has applied the
	// delete when it answers, so the watch cannot start before it and see
	// it as an event.
	admin := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, testcluster.Client(t, c, 0), 30)
	ctx, cancel := context.WithTimeout(bg, callTimeout)
	defer cancel()

	tk := mustJoin(ctx, t, mustQueue(t, s, "/done-late"))
	if _, err := admin.Delete(ctx, tk.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tk.Done():
	case <-time.After(callTimeout):
		t.Fatal("ticket: Done first called after the entry was deleted is still open")
	}

	m, err := fairmutex.New(s, "/done-late-mutex")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Delete(ctx, m.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(callTimeout):
		t.Fatal("mutex: Done first called after the entry was deleted is still open")
	}
}
