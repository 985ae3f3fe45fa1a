package queue

import (
	"context"
	"log/slog"
	"time"
)

// doneState is a ticket's Done channel, made by the first call, and what
// stops the watch and the deadline behind it. Guarded by the ticket's mu.
type doneState struct {
	ch   chan struct{}
	stop func()
}

// Done returns a channel that is closed when the entry leaves the line for
// any reason (Leave, its key deleted by anyone, the session ending, or
// etcd refusing for good to let this client watch the entry: see package
// internal/etcderr) and at the latest at HeldUntil, before etcd can expire
// the session's lease and give the turn to someone else.
//
// The session ends on this client's side as soon as its keep-alives give
// up, which can be before etcd has removed the entry (for example when the
// member this client talks to was killed): Done closes then too, on
// purpose, since this client can no longer know that the entry lives. The
// first call starts watching the entry; every watched entry of a session
// shares one watch stream (package internal/watchmux) and one deadline
// goroutine per safety margin, so a watched entry costs no goroutine of
// its own and one server watcher.
func (t *Ticket) Done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.ch != nil {
		return t.done.ch
	}
	t.done.ch = make(chan struct{})
	if t.phase.Ended() || t.q == nil || t.q.st.ended() {
		close(t.done.ch)
		return t.done.ch
	}
	stop, ok := t.q.st.done.watch(t, t.q.cfg.margin)
	if !ok {
		close(t.done.ch) // the deadline has passed, or the lease is gone
		return t.done.ch
	}
	t.done.stop = stop
	return t.done.ch
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

// closeDoneLocked closes Done, if made, and stops what watches for it and
// for a request to yield: the hold is over for this client.
func (t *Ticket) closeDoneLocked() {
	if t.done.stop != nil {
		t.done.stop()
		t.done.stop = nil
	}
	t.yield.stopLocked()
	if t.done.ch != nil && !isClosed(t.done.ch) {
		close(t.done.ch)
	}
}

// doneClosed reports whether the ticket has ended or Done has closed.
func (t *Ticket) doneClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase.Ended() || (t.done.ch != nil && isClosed(t.done.ch))
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// HeldUntil returns the moment up to which the entry surely still exists
// unless someone deletes it: etcd cannot expire the session's lease before
// it, unless a later keep-alive succeeds, which moves it on. Done closes at
// this moment at the latest. It is a snapshot that renewals move on, so do
// not bound work by it (a deadline taken from it ends work while the turn
// still lasts): watch Done, which follows renewals.
//
// It is the send time of the last keep-alive that etcd answered (this
// package runs its own, one per TTL/3 per session, to know that time) plus
// the lease's TTL, less a drift allowance and the safety margin
// (WithSafetyMargin). A granted ticket always has it: the grant waits for
// the guard's first answer. It is the zero time for a waiting ticket whose
// session's guard has not been answered yet, and once Done has closed. A
// process can still be paused between checking it and acting, which is
// what fencing tokens are for.
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
