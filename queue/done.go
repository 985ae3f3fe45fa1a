package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Done returns a channel that is closed when the entry leaves the line for
// any reason: Leave, the key deleted by anyone, or the session ending; and
// at the latest at HeldUntil, before etcd can expire the session's lease
// and give the turn to someone else, unless a later keep-alive has moved
// HeldUntil on. The session ends on this client's side as soon as its
// keep-alives give up, which can be before etcd has removed the entry (for
// example when the member this client talks to was killed): Done closes
// then too, on purpose, since this client can no longer know that the
// entry lives. The first call starts a watch on the entry's key, which ends
// with the entry.
func (t *Ticket) Done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = make(chan struct{})
		if t.state >= left || t.q == nil || sessionEnded(t.q.s) {
			t.closeDoneLocked()
		} else {
			// The session's context ends with the session: so does the watch.
			ctx, cancel := context.WithCancel(t.q.st.ctx)
			t.stop = cancel
			go t.watchUntilGone(ctx)
			go t.untilDeadline(ctx)
		}
	}
	return t.done
}

// watchUntilGone closes t.done once the entry is gone or ctx ends.
func (t *Ticket) watchUntilGone(ctx context.Context) {
	defer t.closeDone()
	cli := t.q.s.Client()
	events := make(chan watchEvent)
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		go watchKey(wctx, cli, t.key, events, clientv3.WithFilterPut())
		gone := t.untilGone(wctx, cli, events)
		cancel()
		if gone {
			// Whoever removed it, this is the one place that sees it for
			// a hold nobody waits on: settle the ticket (its slot comes back).
			t.observeGone(ctx, false)
			return
		}
		select { // the watch broke (no leader, compaction): pause, then watch again
		case <-ctx.Done():
		case <-time.After(brokenWatchPause):
		}
	}
}

// untilGone follows one watch of the entry's key: true once the entry is
// surely gone, false when the watch broke or ctx ended first.
func (t *Ticket) untilGone(ctx context.Context, cli *clientv3.Client, events <-chan watchEvent) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev := <-events:
			switch {
			case ev.broken:
				return false
			case ev.deleted:
				return true
			case ev.created:
				// The watch covers what happens from now on; read once to
				// learn whether the entry went before that.
				get, err := cli.Get(ctx, t.key, clientv3.WithKeysOnly())
				if err != nil {
					return false
				}
				if len(get.Kvs) == 0 || get.Kvs[0].CreateRevision != t.rev {
					return true
				}
			}
		}
	}
}

func (t *Ticket) closeDone() {
	t.mu.Lock()
	t.closeDoneLocked()
	t.mu.Unlock()
}

func (t *Ticket) closeDoneLocked() {
	if t.stop != nil {
		t.stop()
	}
	t.yield.stopLocked()
	if t.done != nil && !t.closed {
		t.closed = true
		close(t.done)
	}
}

// untilDeadline closes t.done when the session's lease may be about to
// expire on etcd's side: the guard's deadline, less the safety margin,
// passed with no later keep-alive answered. Before the guard's first
// answer (one round trip after the session's first Queue) the deadline is
// unknown and only the watch and the session close Done.
func (t *Ticket) untilDeadline(ctx context.Context) {
	g := t.q.st.guard
	if err := g.Ready(ctx); err != nil {
		if ctx.Err() == nil {
			t.closeDone() // the guard stopped: the lease is gone
		}
		return
	}
	select {
	case <-g.Lost(t.q.cfg.margin):
		t.closeDone()
	case <-ctx.Done():
	}
}

// doneClosed reports whether the ticket has ended or Done has closed.
func (t *Ticket) doneClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state >= left || t.closed
}

// HeldUntil returns the moment up to which the entry surely still exists
// unless someone deletes it: etcd cannot expire the session's lease before
// it, unless a later keep-alive succeeds, which moves it on. It is the send
// time of the last keep-alive that etcd answered (this package runs its own,
// one per TTL/3 per session, to know that time) plus the lease's TTL, less a
// drift allowance and the safety margin (WithSafetyMargin). Done closes at
// this moment at the latest. Bound work that must end while the turn lasts
// by it, as context.WithDeadline(ctx, t.HeldUntil()); a process can still
// be paused between checking and acting, which is what fencing tokens are
// for. A granted ticket always has it: the grant waits for the guard's
// first answer. It is the zero time for a ticket that waits and whose
// session's guard has not been answered yet, and once Done has closed.
func (t *Ticket) HeldUntil() time.Time {
	if t == nil || t.q == nil || t.q.st == nil || t.doneClosed() {
		return time.Time{}
	}
	until := t.q.st.guard.Until()
	if until.IsZero() {
		return until
	}
	return until.Add(-t.q.cfg.margin)
}
