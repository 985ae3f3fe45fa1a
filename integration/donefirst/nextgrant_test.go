package donefirst_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// holdTTL is the holder's session TTL in seconds: short, so that a cut
// holder's lease runs out soon.
const holdTTL = 2

// A fairmutex holder whose connection is cut past its TTL has its Done
// closed strictly before etcd grants the lock to the next waiter (a client
// of another member), in every repetition, with the holder on each member
// in turn. HeldUntil is known and in the future once the hold is taken, and
// Done closes no later than it.
func TestDoneClosesBeforeNextGrant(t *testing.T) {
	const reps = 6
	c := testcluster.Cluster(t, 3)
	var leads []time.Duration
	for rep := range reps {
		ok := t.Run(fmt.Sprintf("rep%d", rep), func(t *testing.T) {
			m := rep % len(c.Members)
			r := cutPastTTL(t, c, m, mutexHold, fmt.Sprintf("/donefirst/mutex-%d", rep), holdTTL)
			t.Logf("holder on member %d cut: %v", m, r)
			leads = append(leads, ms(r.lead()))
		})
		if !ok {
			break
		}
	}
	if len(leads) > 0 {
		t.Logf("Done closed ahead of the next grant by %v (least %v)", leads, slices.Min(leads))
	}
}

// The same for every other kind of hold, once each: an rwmutex write hold,
// an rwmutex read hold (followed by a writer), a queue ticket, a semaphore
// permit and an election's leadership.
func TestDoneClosesBeforeNextGrantEveryHold(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	for i, p := range []primitive{writeHold, readHold, ticketHold, permitHold, leaderHold} {
		t.Run(p.name, func(t *testing.T) {
			m := i % len(c.Members)
			r := cutPastTTL(t, c, m, p, "/donefirst/"+p.name, holdTTL)
			t.Logf("holder on member %d cut: %v", m, r)
		})
	}
}
