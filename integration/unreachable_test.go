package integration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// isUnavailable reports a gRPC Unavailable error: the connection failed.
func isUnavailable(err error) bool {
	return status.Code(err) == codes.Unavailable
}

// etcd cannot be reached at all from the client: Lock and TryLock return the
// context's error once the context ends (plus the library's bounded cleanup:
// up to CleanupTimeout waiting for the outcome of a write already sent, and
// up to CleanupTimeout for the delete that follows), never the lock, and
// nothing is left in etcd soon after the connection is back (a delete that
// could not get through goes on in the background). Two ways of being
// unreachable: connections refused to come up (dropped and held back) and a
// blackhole (the connection stays up and carries nothing).
func TestLockWhileUnreachable(t *testing.T) {
	const name, ttl = "/faults/unreachable", 20 // the session outlives the cut
	const wait = 500 * time.Millisecond
	c := testcluster.Cluster(t, 3)
	observer := testcluster.Client(t, c, 1)
	held, hole := c.Members[0].Bridge(), c.Members[2].Bridge()

	// The faults cut different members, so the two run side by side.
	for _, fault := range []struct {
		name      string
		member    int
		cut, heal func()
	}{
		{"held back", 0, func() { held.PauseConnections(); held.DropConnections() }, held.UnpauseConnections},
		{"blackhole", 2, hole.Blackhole, hole.Unblackhole},
	} {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			name := name + "/" + strings.ReplaceAll(fault.name, " ", "-")
			ct := newSettledContender(t, c, fault.member, ttl, name, "cut")
			other := newMutex(t, ct.s, name) // for TryLock, at the same time
			fault.cut()
			defer fault.heal()
			calls := []struct {
				name string
				m    *fairmutex.Mutex
				call func(context.Context) error
			}{{"Lock", ct.m, ct.m.Lock}, {"TryLock", other, other.TryLock}}
			type outcome struct {
				err  error
				took time.Duration
			}
			outcomes := make([]chan outcome, len(calls))
			for i, call := range calls {
				outcomes[i] = make(chan outcome, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), wait)
					defer cancel()
					start := time.Now()
					err := call.call(ctx)
					outcomes[i] <- outcome{err, time.Since(start)}
				}()
			}
			bound := wait + 2*queue.CleanupTimeout + giveUpTimeout
			for i, call := range calls {
				var o outcome
				select {
				case o = <-outcomes[i]:
				case <-time.After(bound + grantTimeout):
					t.Fatalf("%s has not returned %v after its context ended", call.name, bound+grantTimeout)
				}
				t.Logf("%s returned %v after %v", call.name, o.err, o.took)
				// TryLock does not retry: an RPC that fails before its context
				// ends reports that failure.
				if !errors.Is(o.err, context.DeadlineExceeded) && !(call.name == "TryLock" && isUnavailable(o.err)) {
					t.Errorf("%s while unreachable = %v, want context.DeadlineExceeded", call.name, o.err)
				}
				if o.took > bound {
					t.Errorf("%s took %v to return, more than %v", call.name, o.took, bound)
				}
				if tok := call.m.Token(); tok != 0 {
					t.Errorf("%s failed but the Mutex holds token %d", call.name, tok)
				}
				select {
				case <-call.m.Done():
				default:
					t.Errorf("Done open after a failed %s", call.name)
				}
			}
			fault.heal()
			healed := time.Now()
			// A cleanup that could not reach etcd goes on in the background
			// until it can: the line must empty soon after the connection
			// is back.
			testcluster.Eventually(t, grantTimeout, "the failed calls' entries to be removed", func() bool {
				return len(line(t, observer, name)) == 0
			})
			t.Logf("line empty %v after the fault healed", time.Since(healed))
			select {
			case <-ct.s.Done():
				t.Fatalf("the session ended: its lease, not the cleanup, may have taken the entries")
			default:
			}
			if err := ct.m.Unlock(context.Background()); !errors.Is(err, fairmutex.ErrNotLocked) {
				t.Fatalf("Unlock after a failed Lock = %v, want ErrNotLocked", err)
			}
		})
	}
}

// A waiter's connection goes down while it waits, and its context ends
// before the connection is back. Lock returns the context's error, and once
// the connection is back the abandoned place in line must not hold up the
// waiter behind it.
func TestWaiterCancelledWhileUnreachable(t *testing.T) {
	const name, ttl = "/faults/unreachable-waiter", 10
	c := testcluster.Cluster(t, 3)
	var h history.History
	bridge := c.Members[0].Bridge()

	holder := newContender(t, c, 1, ttl, name, "holder")
	cut := newSettledContender(t, c, 0, ttl, name, "cut")
	next := newContender(t, c, 2, ttl, name, "next")
	hold, waiting := lineUp(t, &h, name, holder, cut, next)
	ac, an := waiting[0], waiting[1]
	cutKey := line(t, holder.cli, name)[1].Key

	bridge.PauseConnections()
	bridge.DropConnections()
	ac.op.Cancelling()
	ac.cancel()
	if err := ac.wait(t, 2*queue.CleanupTimeout+giveUpTimeout); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock cancelled while unreachable = %v, want context.Canceled", err)
	}
	for _, e := range line(t, holder.cli, name) {
		if e.Key == cutKey {
			t.Logf("cut's entry still in line when Lock returned: its removal is left to the background")
		}
	}
	bridge.UnpauseConnections()
	testcluster.Keys(t, cut.cli, name+"/") // back, with its session alive

	// The cleanup delete could not reach etcd before Lock returned; it goes
	// on in the background (backing off up to 2 s between tries) until it
	// can, so the abandoned place goes soon after the connection is back.
	hold.mustUnlock(t)
	ok, err := an.returned(grantTimeout)
	if !ok {
		for _, e := range line(t, holder.cli, name) {
			if e.Key == cutKey {
				t.Fatalf("next not granted %v after the holder's release: the entry of the Lock that returned "+
					"context.Canceled is still in line (%s) and blocks it", grantTimeout, cutKey)
			}
		}
		t.Fatalf("next not granted %v after the holder's release", grantTimeout)
	}
	if err != nil {
		t.Fatalf("next: Lock: %v", err)
	}
	select {
	case <-cut.s.Done():
		t.Fatalf("cut's session ended: its lease, not the cleanup, may have taken its entry")
	default:
	}
	an.mustUnlock(t)
	checkHistory(t, &h)
	assertNoKeys(t, name, holder.cli, cut.cli)
}
