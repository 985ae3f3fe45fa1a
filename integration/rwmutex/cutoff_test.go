package rwmutex_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// A node cut off from etcd while it waits must give up once its session
// ends (DESIGN step 5, etcd #19597), even with a context that never ends.
func TestCutOffWaiterGivesUp(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	name := "/cutoff"
	h := newNode(t, c, 0, name, 10)
	w := newNode(t, c, 1, name, 2)
	t.Cleanup(c.Members[1].Bridge().Unblackhole)
	must(t, h.rw.Lock(bg), "holder")
	c.Members[1].Bridge().Blackhole() // W's client reaches nothing from now on
	result := async(func() error { return w.rw.Lock(bg) })
	await(t, async(func() error { <-w.s.Done(); return nil }), "W's session to end")
	start := time.Now()
	err := await(t, result, "Lock of a cut-off node whose session has ended")
	if !errors.Is(err, rwmutex.ErrSessionExpired) {
		t.Fatalf("Lock of a cut-off node: %v, want ErrSessionExpired", err)
	}
	t.Logf("gave up %v after the session ended", time.Since(start))
}
