package integration_test

import (
	"context"
	"testing"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Keys are reused per session, so a Lock's key has usually held entries
// before. A join whose reply is lost on such a key must still find its own
// entry on retry (its create revision is new, the key is not) and not
// write a second one, nor take the old entry's token.
func TestLostReplyOnReusedKey(t *testing.T) {
	const name, ttl = "/faults/lost-reply-reused", 30
	c := testcluster.Cluster(t, 3)
	loser := &replyLoser{prefix: name + "/"}
	cli := replyLosingClient(t, c, 0, loser)
	ct := contenderOn(t, cli, ttl, name, "reuser")
	observer := testcluster.Client(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	used := map[string]bool{}
	var last int64
	for range 3 {
		if err := ct.m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		used[ct.m.Key()], last = true, ct.m.Token()
		if err := ct.m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	loser.armed.Store(true)
	if err := ct.m.Lock(ctx); err != nil {
		t.Fatalf("Lock whose join reply was lost: %v", err)
	}
	if loser.lost.Load() != 1 {
		t.Fatalf("%d replies lost, want 1: the fault missed", loser.lost.Load())
	}
	if !used[ct.m.Key()] {
		t.Fatalf("the Lock used a new key %s, not one of %v: the session's keys are not reused", ct.m.Key(), used)
	}
	if got := line(t, observer, name); len(got) != 1 || got[0] != (entryRev{ct.m.Key(), ct.m.Token()}) {
		t.Fatalf("line after a retried join = %v, want the Mutex's entry %s@%d only", got, ct.m.Key(), ct.m.Token())
	}
	if ct.m.Token() <= last {
		t.Fatalf("token %d after the retried join, not above the last hold's %d", ct.m.Token(), last)
	}
	if err := ct.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoKeys(t, name, observer)
}
