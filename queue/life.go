package queue

import (
	"context"
	"time"

	"github.com/fairlock/fairlock/internal/phase"
	"github.com/fairlock/fairlock/internal/slot"
)

// A ticket's phase moves through step, the one place that applies
// phase.Next: whichever path sees a change (a Wait, a Leave, a watch, a
// read, the session ending) calls it, and the effects of an end happen
// exactly once: Done closes, the slot goes back (or to the cleanup), the
// hooks are told.

// step applies event e to the ticket's phase and reports the phase it is
// in after, and whether it moved. reason is the loss, for an end as lost.
func (t *Ticket) step(e phase.Event, reason error) (phase.Phase, bool) {
	t.mu.Lock()
	from, wasGranted := t.phase, !t.grantedAt.IsZero()
	to, ok := phase.Next(from, e, wasGranted)
	if !ok {
		t.mu.Unlock()
		return from, false
	}
	t.phase = to
	if e == phase.Grant {
		at := time.Now()
		t.grantedAt = at
		t.mu.Unlock()
		t.q.hooks().granted(GrantInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind,
			Wait: at.Sub(t.joined.at), Ahead: t.joined.ahead})
		return to, true
	}
	if !to.Ended() || from.Ended() {
		t.mu.Unlock()
		return to, true
	}
	if to == phase.Lost {
		t.loss = reason
	}
	close(t.ended)
	t.closeDoneLocked()
	var held time.Duration
	if wasGranted {
		held = time.Since(t.grantedAt)
	}
	t.mu.Unlock()

	switch to {
	case phase.Left:
		t.q.st.slots.move(&t.entry, slot.Gone)
		if t.admission != nil {
			t.admission.step(phase.Remove, nil) // in the release's transaction
		}
		if wasGranted {
			t.q.hooks().released(ReleaseInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Held: held})
		}
	case phase.Lost:
		switch _, rides := t.entry.rider(); {
		case t.q.st.ended(): // the slots go with the session
		case rides:
			// An admission entry deleted by hand may leave behind the
			// rider a release wrote on it: the cleanup removes it before
			// the slot is free again.
			t.q.st.slots.move(&t.entry, slot.Remove)
			t.q.st.cleanup.abandon(t.entry)
		default:
			t.q.st.slots.move(&t.entry, slot.Gone)
		}
		if t.admission != nil {
			abandonTickets(nil, t.admission) // gone with the lease, or left behind: removed
		}
		t.q.hooks().lost(LossInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Granted: wasGranted,
			Held: held, Reason: reason})
		t.q.logLoss(t, reason)
	case phase.Abandoned:
		t.q.st.slots.move(&t.entry, slot.Remove) // the caller hands the entry to the cleanup
	}
	return to, true
}

// endedErrLocked is what a call on an ended ticket returns: the loss, once
// lost, until a Leave has reported it; ErrLeft once it has left, was
// abandoned, or its loss was reported; nil while it is in the line.
func (t *Ticket) endedErrLocked() error {
	switch {
	case t.phase == phase.Lost:
		return t.loss
	case t.phase.Ended():
		return ErrLeft
	}
	return nil
}

// beginLeave marks a Leave or Requeue under way, or says why none may
// start; an ended ticket's loss is reported once.
func (t *Ticket) beginLeave() error {
	if t == nil || t.q == nil || t.q.s == nil {
		return ErrUninitialized
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.endedErrLocked(); err != nil {
		t.phase, _ = phase.Next(t.phase, phase.ReportLoss, false)
		return err
	}
	to, ok := phase.Next(t.phase, phase.BeginLeave, !t.grantedAt.IsZero())
	if !ok {
		return ErrLeft // a Leave is under way
	}
	t.phase = to
	return nil
}

// abortLeave ends a Leave or Requeue whose outcome is unknown: the entry
// may still be there, unless a delete of it was seen meanwhile (surely the
// call's own), in which case the ticket has left and abortLeave reports
// true.
func (t *Ticket) abortLeave() bool {
	to, ok := t.step(phase.AbortLeave, nil)
	return ok && to == phase.Left
}

// observeGone is what every path does on finding the entry gone: ErrLeft
// if its owner is removing it or has (the delete seen was its own),
// otherwise the ticket is lost, and the error says whether with the lease.
func (t *Ticket) observeGone(ctx context.Context, expired bool) error {
	t.mu.Lock()
	if err := t.endedErrLocked(); err != nil {
		t.mu.Unlock()
		return err
	}
	if t.phase.Leaving() {
		t.phase, _ = phase.Next(t.phase, phase.SeeGone, false)
		t.mu.Unlock()
		return ErrLeft
	}
	t.mu.Unlock()
	err := &lostError{name: t.q.Name(), token: t.rev, expired: expired || !t.leaseAlive(ctx)}
	switch to, _ := t.step(phase.SeeGone, err); to {
	case phase.Lost:
		return err
	case phase.LeavingGone:
		return ErrLeft // a Leave began meanwhile
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.endedErrLocked()
}

// lost returns the error for this ticket's entry being gone, saying whether
// the lease ended: the session says so, or etcd no longer knows the lease.
func (t *Ticket) lost(ctx context.Context) error {
	return &lostError{name: t.q.Name(), token: t.rev, expired: !t.leaseAlive(ctx)}
}

// leaseAlive asks etcd whether the session's lease still lives; an
// answer that does not come in a second counts as alive.
func (t *Ticket) leaseAlive(ctx context.Context) bool {
	if t.q.st.ended() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	resp, err := t.q.s.Client().TimeToLive(ctx, t.q.s.Lease())
	return err != nil || resp.TTL > 0
}

// grant records that the ticket's turn has come, once, after the session's
// lease deadline is known, so that a granted hold always has a HeldUntil.
// It fails only when ctx ends first (ctx.Err()), the lease is found gone,
// or the ticket has ended (ErrLeft).
func (t *Ticket) grant(ctx context.Context) error {
	if err := t.q.st.guard.Ready(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return t.observeGone(ctx, true) // the guard stopped: the lease is gone
	}
	if to, _ := t.step(phase.Grant, nil); to.Ended() {
		return ErrLeft
	}
	return nil
}
