package integration_test

import (
	"fmt"
	"slices"
	"testing"

	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// The etcd leader is stopped while a lock is held and four waiters queue on
// the other members. After a new leader is elected the line goes on in join
// order, nobody is granted twice, and restarting the old leader changes
// nothing: the line read through the restarted member is the line it left.
func TestLeaderStoppedWhileHeld(t *testing.T) {
	const name, ttl = "/faults/leader", 5
	c := testcluster.Cluster(t, 3)
	lead := c.WaitLeader(t)
	followers := []int{(lead + 1) % 3, (lead + 2) % 3}
	var h history.History

	holder := newContender(t, c, followers[0], ttl, name, "holder")
	hold := holder.lock(t, &h)
	hold.granted(t, grantTimeout)

	waiters := make([]*attempt, 4)
	for i := range waiters {
		ct := newContender(t, c, followers[i%2], ttl, name, fmt.Sprintf("w%d", i))
		waiters[i] = ct.lock(t, &h)
		waitLine(t, holder.cli, name, i+2) // joined before the next starts: join order is w0, w1, ...
	}
	before := line(t, holder.cli, name)

	c.Members[lead].Stop(t)
	c.WaitMembersForLeader(t, []*integration.Member{c.Members[followers[0]], c.Members[followers[1]]})
	if got := line(t, holder.cli, name); !slices.Equal(got, before) {
		t.Fatalf("line changed across the election:\nbefore %v\nafter  %v", before, got)
	}
	assertPending(t, "after the election", waiters...)

	hold.mustUnlock(t)
	for i, w := range waiters {
		w.granted(t, grantTimeout)
		assertPending(t, fmt.Sprintf("while %s holds", w.who), waiters[i+1:]...)
		if i == 1 {
			// Restart the old leader while w1 holds and w2, w3 wait.
			held := line(t, holder.cli, name)
			if err := c.Members[lead].Restart(t); err != nil {
				t.Fatalf("restart member %d: %v", lead, err)
			}
			c.WaitLeader(t)
			back := testcluster.Client(t, c, lead)
			if got := line(t, back, name); !slices.Equal(got, held) {
				t.Fatalf("restarted member sees another line:\nbefore %v\nafter  %v", held, got)
			}
			assertPending(t, "after the restart", waiters[i+1:]...)
		}
		w.mustUnlock(t)
	}

	checkHistory(t, &h)
	holds := h.Holds()
	if len(holds) != 5 {
		t.Fatalf("%d grants, want 5 (holder and four waiters once each):\n%s", len(holds), h.String())
	}
	for i, w := range waiters {
		if holds[i+1].Who != w.who {
			t.Fatalf("grant %d went to %s, want %s (join order):\n%s", i+1, holds[i+1].Who, w.who, h.String())
		}
	}
	for i := range c.Members {
		assertNoKeys(t, name, testcluster.Client(t, c, i))
	}
}
