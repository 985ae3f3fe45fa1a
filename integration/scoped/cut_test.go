package scoped_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// expirySlack is how late, past its TTL, etcd may be seen to expire a cut
// holder's lease: the leader revokes expired leases in a loop, and the
// machine is slow.
const expirySlack = 8 * time.Second

// A Do whose client is cut off from a three-member cluster: fn's context
// ends before etcd lets the next holder in (Done closes before the lease
// can expire), and Do returns an error matching ErrLost, having given up
// its release within its bound; once the cut heals, nothing is left.
func TestCutOffUnderFn(t *testing.T) {
	const ttl = 2
	w := newWorld(t, 3)
	do := kinds[0].make(t, w.session(0, ttl), w.name, nil)

	waiterJoined := make(chan struct{}, 1)
	waiter, err := fairmutex.New(w.session(1, 10), w.name,
		queue.WithHooks(&queue.Hooks{Joined: func(queue.JoinInfo) { waiterJoined <- struct{}{} }}))
	must(t, err)

	started := make(chan struct{})
	fnEnded := make(chan time.Time, 1)
	result := run(t, bounded(t), do, func(ctx context.Context) error {
		close(started)
		select {
		case <-ctx.Done():
			fnEnded <- time.Now()
			return ctx.Err()
		case <-time.After(waitLimit):
			return errors.New("fn's context did not end after its client was cut off")
		}
	})
	closed(t, started, "fn's start")
	granted := make(chan time.Time, 1)
	go func() {
		if err := waiter.Lock(bounded(t)); err != nil {
			t.Errorf("the waiter's Lock: %v", err)
			close(granted)
			return
		}
		granted <- time.Now()
	}()
	await(t, waiterJoined, "the waiter's join")

	bridge := w.c.Members[0].Bridge()
	cut := time.Now()
	bridge.Blackhole()
	t.Cleanup(bridge.Unblackhole)

	ended := await(t, fnEnded, "fn's context's end")
	next, ok := <-granted
	if !ok {
		t.FailNow()
	}
	t.Logf("cut at 0; fn's context ended at %v, the next holder was granted at %v",
		ended.Sub(cut), next.Sub(cut))
	if !ended.Before(next) {
		t.Errorf("fn's context ended %v after the next holder was granted", ended.Sub(next))
	}
	if d := next.Sub(cut); d > ttl*time.Second+expirySlack {
		t.Errorf("the next holder was granted %v after the cut, TTL %ds", d, ttl)
	}
	err = await(t, result, "Do of the cut-off holder")
	t.Logf("Do returned %v after the cut: %v", time.Since(cut), err)
	if !errors.Is(err, fairmutex.ErrLost) {
		t.Errorf("Do of a cut-off holder = %v, want an error matching ErrLost", err)
	}
	bridge.Unblackhole()
	must(t, waiter.Unlock(bounded(t)))
	w.noKeysLeft()
}
