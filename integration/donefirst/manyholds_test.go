package donefirst_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Every hold of a session follows the lease's deadline through one shared
// goroutine: when the session's member is cut off, each hold's Done closes
// no later than its HeldUntil, however many there are.
func TestDoneClosesEveryHoldAtTheDeadline(t *testing.T) {
	const holds = 20
	c := testcluster.Cluster(t, 3)
	s, err := concurrency.NewSession(testcluster.Client(t, c, 0), concurrency.WithTTL(holdTTL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Orphan) // a revoke would wait on the cut connection
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	ms := make([]*fairmutex.Mutex, holds)
	closed := make([]<-chan time.Time, holds)
	for i := range ms {
		m, err := fairmutex.New(s, fmt.Sprintf("/donefirst/many/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Lock(ctx); err != nil {
			t.Fatalf("Lock %d: %v", i, err)
		}
		ms[i] = m
		closed[i] = closedAt(t, m.Done())
	}
	awaitHeldUntil(t, ms[0].HeldUntil)

	c.Members[0].Bridge().Blackhole()
	defer c.Members[0].Bridge().Unblackhole()
	// The last HeldUntil seen before Done closes is the deadline it must
	// keep; the holds share the session's, so watch one.
	var heldUntil time.Time
	bound := time.After(time.Duration(holdTTL)*time.Second + expirySlack)
	for i := range ms {
		for done := false; !done; {
			if hu := ms[0].HeldUntil(); !hu.IsZero() {
				heldUntil = hu
			}
			select {
			case at := <-closed[i]:
				done = true
				if at.After(heldUntil.Add(schedSlack)) {
					t.Errorf("hold %d: Done closed %v after HeldUntil, want at most %v late", i, at.Sub(heldUntil), schedSlack)
				}
			case <-time.After(10 * time.Millisecond):
			case <-bound:
				t.Fatalf("hold %d: Done still open %v after the cut", i, time.Duration(holdTTL)*time.Second+expirySlack)
			}
		}
	}
}
