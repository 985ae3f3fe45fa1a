package election_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Proclaim changes the value and keeps the token. Once the leader's lease
// is lost and the next candidate leads, the old leader's Proclaim, Resign
// and Rotate report ErrLost and write nothing: the store's revision does
// not move and the new leader is untouched.
func TestFencedAfterLeaseLoss(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	admin := testcluster.Client(t, c, 2)
	old := newNode(t, c, 0, name, 10, "old")
	if err := old.e.Campaign(ctx, old.who); err != nil {
		t.Fatal(err)
	}
	token := old.e.Token()
	before := testcluster.Revision(t, admin)
	if err := old.e.Proclaim(ctx, "old, proclaimed"); err != nil {
		t.Fatalf("Proclaim: %v", err)
	}
	old.value = "old, proclaimed"
	if after := testcluster.Revision(t, admin); after != before+1 {
		t.Fatalf("Proclaim moved the store from revision %d to %d, want one put", before, after)
	}
	if l, err := old.e.Leader(ctx); err != nil || l != old.leader() || old.e.Token() != token {
		t.Fatalf("Leader after Proclaim: %+v, %v; want %+v with token %d", l, err, old.leader(), token)
	}

	next := newNode(t, c, 1, name, 10, "next")
	won := campaignInLine(t, ctx, next, name, 2)
	done := old.e.Done()
	if _, err := admin.Revoke(ctx, old.s.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := await(t, won, "next's Campaign"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("the old leader's Done still open after its lease was revoked")
	}
	if owner(t, admin, old.e.IsOwner()) {
		t.Fatal("the old leader's fence still holds")
	}

	before = testcluster.Revision(t, admin)
	errIs(t, "Proclaim after the lease was lost", old.e.Proclaim(ctx, "stale"), election.ErrLost)
	errIs(t, "Resign after the lease was lost", old.e.Resign(ctx), election.ErrLost)
	if after := testcluster.Revision(t, admin); after != before {
		t.Fatalf("stale Proclaim and Resign moved the store from revision %d to %d", before, after)
	}
	if old.e.Token() != 0 || !isClosed(old.e.Done()) {
		t.Fatal("the old leader still counts itself leader after Resign reported the loss")
	}
	errIs(t, "Resign again", old.e.Resign(ctx), election.ErrNotLeader)
	mustLead(t, ctx, next)
	if l, _ := next.e.Leader(ctx); l.Value != next.who {
		t.Fatalf("the new leader's value is %q, want %q", l.Value, next.who)
	}

	// Rotate is fenced too: the new leader's entry deleted behind its back
	// (as by `fairlock rm`), its Rotate reports the loss and writes nothing.
	if _, err := admin.Delete(ctx, next.e.Key()); err != nil {
		t.Fatal(err)
	}
	before = testcluster.Revision(t, admin)
	errIs(t, "Rotate after the entry was deleted", next.e.Rotate(ctx), election.ErrLost)
	if after := testcluster.Revision(t, admin); after != before {
		t.Fatalf("a stale Rotate moved the store from revision %d to %d", before, after)
	}
	if keys := testcluster.Keys(t, admin, name+"/"); len(keys) != 0 {
		t.Fatalf("keys after a stale Rotate: %v", keys)
	}
	errIs(t, "Resign after a stale Rotate", next.e.Resign(ctx), election.ErrNotLeader)

	// And after the lease was lost.
	third := newNode(t, c, 0, name, 10, "third")
	if err := third.e.Campaign(ctx, third.who); err != nil {
		t.Fatal(err)
	}
	done = third.e.Done()
	if _, err := admin.Revoke(ctx, third.s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Done still open after the lease was revoked")
	}
	before = testcluster.Revision(t, admin)
	errIs(t, "Rotate after the lease was lost", third.e.Rotate(ctx), election.ErrLost)
	if after := testcluster.Revision(t, admin); after != before {
		t.Fatalf("a Rotate after the lease was lost moved the store from revision %d to %d", before, after)
	}
	if third.e.Token() != 0 {
		t.Fatal("still leading after Rotate reported the loss")
	}
}

// A Resign whose request fails (here its ctx has already ended) leaves the
// Election leading and its entry in place, so that the next Resign removes
// it; etcd's Resign forgets the leadership instead (etcd #22123).
func TestResignRetry(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	n := newNode(t, c, 0, name, 10, "leader")
	if err := n.e.Campaign(ctx, n.who); err != nil {
		t.Fatal(err)
	}
	token := n.e.Token()
	dead, kill := context.WithCancel(ctx)
	kill()
	errIs(t, "Resign with an ended ctx", n.e.Resign(dead), context.Canceled)
	if n.e.Token() != token || isClosed(n.e.Done()) {
		t.Fatal("a failed Resign forgot the leadership")
	}
	mustLead(t, ctx, n)
	if err := n.e.Resign(ctx); err != nil {
		t.Fatalf("Resign, retried: %v", err)
	}
	if keys := testcluster.Keys(t, n.cli, name+"/"); len(keys) != 0 {
		t.Fatalf("keys after Resign: %v", keys)
	}
}

// A leader that dies is replaced by the next candidate: at once when its
// lease is revoked, within the TTL (and etcd's expiry slack) when its
// client just goes away.
func TestKilledLeaderReplaced(t *testing.T) {
	for _, tc := range []struct {
		kill string
		ttl  int
		max  time.Duration
	}{
		{"lease revoked", 10, 5 * time.Second},
		{"client closed", 2, 2*time.Second + expirySlack},
	} {
		t.Run(tc.kill, func(t *testing.T) {
			name := electionName(t)
			c := testcluster.Cluster(t, 3)
			ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
			defer cancel()
			admin := testcluster.Client(t, c, 2)
			dead := newNode(t, c, 0, name, tc.ttl, "dead")
			if err := dead.e.Campaign(ctx, dead.who); err != nil {
				t.Fatal(err)
			}
			next := newNode(t, c, 1, name, 10, "next")
			won := campaignInLine(t, ctx, next, name, 2)

			start := time.Now()
			if tc.kill == "lease revoked" {
				if _, err := admin.Revoke(ctx, dead.s.Lease()); err != nil {
					t.Fatal(err)
				}
			} else {
				dead.cli.Close()
			}
			if err := await(t, won, "next's Campaign"); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			t.Logf("replaced %v after the kill", took.Round(time.Millisecond))
			if took > tc.max {
				t.Fatalf("replaced %v after the kill, want within %v", took, tc.max)
			}
			mustLead(t, ctx, next)
		})
	}
}
