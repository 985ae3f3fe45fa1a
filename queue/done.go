package queue

import (
	"context"
	"log/slog"
	"time"
)

// Done returns a channel that is closed when the entry leaves the line for
// any reason: Leave, the key deleted by anyone, or the session ending (or
// when etcd refuses for good to let this client watch the entry: see
// package internal/etcderr); and
// at the latest at HeldUntil, before etcd can expire the session's lease
// and give the turn to someone else, unless a later keep-alive has moved
// HeldUntil on. The session ends on this client's side as soon as its
// keep-alives give up, which can be before etcd has removed the entry (for
// example when the member this client talks to was killed): Done closes
// then too, on purpose, since this client can no longer know that the
// entry lives. The first call starts a watch on the entry's key, which ends
// with the entry.
//
// What a watched entry costs: no goroutine of its own and one server
// watcher. Every watched entry of a session shares one watch stream, served
// by one goroutine (package internal/watchmux), and one goroutine per
// safety margin follows the lease's deadline for all of them.
func (t *Ticket) Done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = make(chan struct{})
		if t.state >= left || t.q == nil || sessionEnded(t.q.s) {
			t.closeDoneLocked()
			return t.done
		}
		st := t.q.st
		d := st.doneOf()
		g := d.deadline(st, t.q.cfg.margin)
		if !g.add(t) {
			t.closeDoneLocked() // the deadline has passed, or the lease is gone
			return t.done
		}
		// The watch's callback runs on the mux's goroutine, never inside
		// Watch, so it may take t.mu.
		stopWatch := d.mux.Watch(t.key, t.rev, t.observedGone)
		t.stop = func() {
			stopWatch()
			g.remove(t)
		}
	}
	return t.done
}

// observedGone is what Done's watch does once the entry is gone: close
// Done at once, then settle the ticket (the loss told, the slot back), off
// the mux's goroutine, since settling asks etcd whether the lease lives.
// This is the one place that sees the end of a hold nobody waits on.
//
// When etcd refuses for good to watch the entry (refused not nil: the
// user's permission on the lock's keys was revoked, say), this client can
// no longer know that the entry lives, so Done closes too, as when the
// session ends on this side; the ticket itself stays as it was (Leave
// will say what etcd says).
func (t *Ticket) observedGone(refused error) {
	t.closeDone()
	if refused != nil {
		t.q.log(slog.LevelError, "Done closed: etcd refuses to watch the entry", slog.String("key", t.key),
			slog.Int64("token", t.rev), slog.Any("err", refused))
		return
	}
	go t.observeGone(context.Background(), false)
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
