package hold

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fairlock/fairlock/queue"
)

// Work scoped to a hold: the primitives' Do and election's Lead take a
// hold, run a function with a context that ends with the hold, and give the
// hold back whatever happened. What they share is here, once.

// Scope is the context a function runs in while one hold lasts: it ends
// when the caller's context ends, when the hold's Done closes, or when a
// channel given to EndOn closes, each with a cause of its own
// (context.Cause).
type Scope struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

// errClosed is the cause Close ends a Scope with; Close reports nil for it.
var errClosed = errors.New("fairlock: scope closed")

// Bind returns a Scope of a hold whose Done is done: its context ends when
// ctx ends, or, with cause lost, when done closes (the hold was lost,
// released elsewhere, or reached its HeldUntil).
func Bind(ctx context.Context, done <-chan struct{}, lost error) *Scope {
	sctx, cancel := context.WithCancelCause(ctx)
	s := &Scope{ctx: sctx, cancel: cancel}
	s.EndOn(done, lost)
	return s
}

// Context is the context to run the function with.
func (s *Scope) Context() context.Context { return s.ctx }

// EndOn ends the Scope's context with cause once ch closes. The watch ends
// with the context.
func (s *Scope) EndOn(ch <-chan struct{}, cause error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ch:
			s.cancel(cause)
		case <-s.ctx.Done():
		}
	}()
}

// Close ends the Scope's context and waits for its watches to end. It
// returns why the context had ended before Close (the caller's context's
// cause, or one given to Bind or EndOn), nil when it had not.
func (s *Scope) Close() error {
	s.cancel(errClosed)
	s.wg.Wait()
	if cause := context.Cause(s.ctx); cause != errClosed {
		return cause
	}
	return nil
}

// Lost is the cause of a Scope's context when the hold t ends under the
// function: it matches queue.ErrLost.
func Lost(t *queue.Ticket) error {
	return fmt.Errorf("%w: the hold %s (token %d) ended while its function ran", queue.ErrLost, t.Key(), t.Rev())
}

// Do runs fn in a Scope of t, a hold of s, then gives t back (Give, bounded
// by queue.CleanupTimeout whatever ctx's state), also when fn panics or
// calls runtime.Goexit, which then goes on. It returns Outcome's error.
func Do(ctx context.Context, s *Set, t *queue.Ticket, notHeld error, fn func(context.Context) error) error {
	lost := Lost(t)
	sc := Bind(ctx, t.Done(), lost)
	returned := false
	defer func() {
		if !returned { // a panic or Goexit: release first, then let it unwind
			sc.Close()
			GiveBounded(ctx, s, t, notHeld) //nolint:errcheck // the panic is the news
		}
	}()
	err := fn(sc.Context())
	returned = true
	cause := sc.Close()
	return Outcome(err, cause == lost, lost, GiveBounded(ctx, s, t, notHeld), notHeld)
}

// Outcome is what a function run under a hold comes to: fn's error, joined
// with the release's, and with lost when the hold's Done closed under fn
// (ended) unless fn or the release already report a loss, or the release
// found the hold released elsewhere (notHeld). Done also closes at
// HeldUntil, before etcd could expire the lease, or when the session gives
// up on an unreachable etcd, where the release finds the entry in place or
// cannot tell: fn was cut short as for a loss either way, and says so.
func Outcome(fnErr error, ended bool, lost, releaseErr, notHeld error) error {
	if ended && !errors.Is(fnErr, queue.ErrLost) && !errors.Is(releaseErr, queue.ErrLost) &&
		!errors.Is(releaseErr, notHeld) {
		fnErr = errors.Join(fnErr, lost)
	}
	return errors.Join(fnErr, releaseErr)
}

// CheckFunc panics when fn is nil, before anything is taken: a nil fn is a
// programmer's mistake, as it is for sync.Once.Do.
func CheckFunc(fn func(context.Context) error, call string) {
	if fn == nil {
		panic(call + " with a nil function")
	}
}

// GiveBounded is Give with a context of its own: ctx's values, no
// cancellation, and a bound of queue.CleanupTimeout.
func GiveBounded(ctx context.Context, s *Set, t *queue.Ticket, notHeld error) error {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queue.CleanupTimeout)
	defer cancel()
	return s.Give(gctx, t, notHeld)
}

// Give releases t, one hold of s, with the ticket's fenced Leave, and s no
// longer holds t afterwards, whatever the outcome: unlike Release, it
// never leaves t held. It returns nil once released, an error matching
// queue.ErrLost (deleting nothing) when t had ended without a release, and
// notHeld when t had been released elsewhere. When the outcome stays
// unknown (ctx ended, etcd failed), t is abandoned to the session's cleanup
// worker, which removes its entry once etcd answers, and the error says so.
// Give releases t only, never another hold of s: a Set whose hold was lost
// and replaced by a newer one (or one of several read holds) keeps the
// others.
func (s *Set) Give(ctx context.Context, t *queue.Ticket, notHeld error) error {
	taken := s.takeTicket(t)
	err := t.Leave(ctx)
	switch {
	case err == nil, errors.Is(err, queue.ErrLost):
	case errors.Is(err, queue.ErrLeft):
		err = notHeld
	default:
		t.Abandon(ctx)
		err = fmt.Errorf("fairlock: release of %s: %w; its entry is left to the session's cleanup", t.Key(), err)
	}
	if taken {
		s.Unclaim()
	}
	return err
}

// takeTicket removes t from s and marks a change under way (as Take does)
// when s holds t; it reports whether it did.
func (s *Set) takeTicket(t *queue.Ticket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.held, t)
	if i < 0 {
		return false
	}
	s.held = slices.Delete(s.held, i, i+1)
	s.claimed = true
	return true
}
