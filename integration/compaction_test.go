package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// The history a waiter's watches would resume from is compacted while its
// connection is down. The library creates its watches without a start
// revision, but a watch that resumes after a dropped connection resumes
// from the revision it had reached, and etcd refuses that once compacted.
// The waiter must recover (read the line again) and be granted in order,
// not fail and not hang; and a hold's Done must not close because its watch
// was compacted away.
func TestCompactionWhileWaiterDisconnected(t *testing.T) {
	const name, ttl = "/faults/compaction", 5
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 1, ttl, name, "holder")
	// The one cut off; its client records the start revision of every watch
	// it creates, to prove a resumed watch did ask for compacted history.
	firstCli, calls := testcluster.CountingClient(t, c, 0)
	first := contenderOn(t, firstCli, ttl, name, "first")
	second := newContender(t, c, 2, ttl, name, "second")
	hold, waiting := lineUp(t, &h, name, holder, first, second)
	a1, a2 := waiting[0], waiting[1]

	// The holder releases while the first waiter is cut off; by the time it
	// is back, every revision its watches had reached is compacted.
	bridge := c.Members[0].Bridge()
	compacted := cutAndCompact(t, bridge, holder.cli, func() { hold.mustUnlock(t) })
	a1.granted(t, grantTimeout)
	resumed := false
	for _, rev := range calls.WatchStartRevs() {
		resumed = resumed || (rev != 0 && rev <= compacted)
	}
	if !resumed {
		t.Fatalf("no watch resumed from compacted history (compacted at %d; watch start revisions %v): the fault was not injected",
			compacted, calls.WatchStartRevs())
	}
	t.Logf("first granted after its watches resumed into history compacted at %d (watch starts %v)", compacted, calls.WatchStartRevs())
	assertPending(t, "while first holds", a2)

	// Now the first waiter holds and watches its own entry (Done); the same
	// fault must not end its hold.
	done := first.m.Done()
	cutAndCompact(t, bridge, holder.cli, func() {})
	testcluster.Keys(t, first.cli, name+"/") // its connection is back
	select {
	case <-done:
		t.Fatal("first's Done closed after a compaction, while it still holds")
	case <-time.After(time.Second):
	}
	assertOwner(t, holder.cli, first.m.IsOwner(), true)
	assertPending(t, "while first holds", a2)

	a1.mustUnlock(t)
	select {
	case <-done:
	case <-time.After(grantTimeout):
		t.Fatal("first's Done still open after Unlock")
	}
	a2.granted(t, grantTimeout)
	a2.mustUnlock(t)

	checkHistory(t, &h)
	if holds := h.Holds(); len(holds) != 3 || holds[1].Who != "first" || holds[2].Who != "second" {
		t.Fatalf("grant order %v, want holder, first, second", holds)
	}
	assertNoKeys(t, name, holder.cli, first.cli)
}

// cutAndCompact drops every connection through bridge and holds new ones
// back, runs during, writes unrelated keys through cli, compacts the store
// to its current revision, and lets connections through again. It returns
// the compacted revision.
func cutAndCompact(t *testing.T, bridge integration.Bridge, cli *clientv3.Client, during func()) int64 {
	t.Helper()
	bridge.PauseConnections() // before the drop, so that the redial waits
	bridge.DropConnections()
	during()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for i := range 10 {
		if _, err := cli.Put(ctx, "/noise", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	rev := testcluster.Revision(t, cli)
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", rev, err)
	}
	bridge.UnpauseConnections()
	return rev
}
