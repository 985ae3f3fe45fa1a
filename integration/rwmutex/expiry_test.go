package rwmutex_test

import (
	"errors"
	"testing"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// TestExpiredQueuedWriter is etcd issue 16221: etcd's recipes.RWMutex hands
// the lock to a writer whose session expired while it queued. Here that
// writer must get an error, never the lock, and the one queued behind it
// must be served once the holder releases.
//
// Nodes: holder H on member 0, writer W on member 1, the next in line X on
// member 2.
func TestExpiredQueuedWriter(t *testing.T) {
	c := testcluster.Cluster(t, 3)

	for _, tc := range []struct {
		name                string
		holderReads, xReads bool
		expire              bool // W stops its keepalives and its lease expires, instead of a revoke
	}{
		{name: "ReaderHolds_WriterNext", holderReads: true},
		{name: "WriterHolds_ReaderNext", xReads: true},
		{name: "ReaderHolds_ReaderNext", holderReads: true, xReads: true},
		{name: "WriterHolds_WriterNext_Expiry", expire: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := lockName(t)
			h := newNode(t, c, 0, name, 10)
			w := newNode(t, c, 1, name, 2)
			x := newNode(t, c, 2, name, 10)
			lock := func(nd node, read bool) error {
				if read {
					return nd.rw.RLock(bg)
				}
				return nd.rw.Lock(bg)
			}
			unlock := func(nd node, read bool) error {
				if read {
					return nd.rw.RUnlock(bg)
				}
				return nd.rw.Unlock(bg)
			}

			must(t, lock(h, tc.holderReads), "holder")
			wResult := async(func() error { return w.rw.Lock(bg) })
			testcluster.WaitKeys(t, h.cli, name+"/", 2)
			xResult := async(func() error { return lock(x, tc.xReads) })
			testcluster.WaitKeys(t, h.cli, name+"/", 3)
			notReturned(t, wResult, "queued writer")

			if tc.expire {
				// W stops renewing its lease, as a stalled process would:
				// W's session ends at once, and its entry stays in the
				// line until the lease expires on the server.
				must(t, w.cli.Lease.Close(), "stop W's keepalives")
			} else {
				_, err := h.cli.Revoke(bg, w.s.Lease())
				must(t, err, "revoke W's lease")
			}
			err := await(t, wResult, "Lock of the writer whose lease ended")
			if err == nil {
				t.Fatal("a writer whose lease ended while queued was granted the lock")
			}
			if !errors.Is(err, rwmutex.ErrSessionExpired) && !errors.Is(err, rwmutex.ErrLost) {
				t.Fatalf("Lock of the expired writer: %v, want ErrSessionExpired or ErrLost", err)
			}
			t.Logf("expired writer's Lock: %v", err)
			if w.rw.Token() != 0 {
				t.Fatal("the expired writer has a token")
			}
			testcluster.WaitKeys(t, h.cli, name+"/", 2) // W's entry went with its lease

			if tc.holderReads && tc.xReads {
				// Only W kept the reader X from sharing with H: X is now
				// served while H still holds.
				mustGrant(t, xResult, "reader after the expired writer")
				must(t, unlock(h, tc.holderReads), "holder release")
			} else {
				notReturned(t, xResult, "next in line while the holder holds")
				must(t, unlock(h, tc.holderReads), "holder release")
				mustGrant(t, xResult, "next in line after the holder released")
			}
			must(t, unlock(x, tc.xReads), "release of X")
			noKeys(t, h.cli, name)
		})
	}
}
