package election

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// A LeadOption changes how Lead leads.
type LeadOption func(*leadConfig)

type leadConfig struct {
	period time.Duration // 0: no rotation
	onAsk  bool          // a request to yield ends the term
}

// RotateEvery makes every term of Lead last at most d: fn's context ends
// (its cause matches ErrHandOver), and once fn returns Lead hands the lead
// to the next candidate and rejoins at the tail (Rotate); fn runs again
// when the Election leads again. So candidates that all Lead with the same
// d take turns, round-robin, as `fairlock elect --rotate d` does. A d of 0
// means no rotation; a negative d makes Lead return ErrInvalidPeriod.
func RotateEvery(d time.Duration) LeadOption {
	return func(c *leadConfig) { c.period = d }
}

// RotateWhenAsked makes a request to yield (queue.Queue.AskToYield,
// `fairlock yield NAME`) end the current term of Lead as RotateEvery's
// period does: fn's context ends, and the lead passes on.
func RotateWhenAsked() LeadOption {
	return func(c *leadConfig) { c.onAsk = true }
}

// Lead campaigns with value and runs fn while the Election leads: the
// loop of a leader (Campaign, work, Rotate, Resign), done right.
//
//   - fn runs once Campaign has succeeded, with a context that ends when ctx
//     ends or the term ends under fn: the leadership lost (its cause,
//     context.Cause, matches ErrLost), a rotation period over or a request
//     to yield (with the options; its cause matches ErrHandOver).
//   - ctx ending is a clean shutdown, while waiting to lead or while fn
//     runs: Lead resigns (or leaves the line) and returns nil, or fn's own
//     error if it returned one other than its context's.
//   - fn returning by itself ends Lead: it resigns, handing the lead to the
//     next candidate, and returns fn's error, joined with Resign's.
//   - A term ended by a rotation or a request to yield hands the lead on
//     (Rotate) once fn returns, and fn runs again at the next term, unless
//     fn returned an error other than its context's: then Lead resigns and
//     returns it.
//   - The leadership lost under fn ends Lead: it returns fn's error joined
//     with an error matching ErrLost.
//   - A panic in fn resigns, then goes on.
//
// Resigning uses a context of its own, bounded by queue.CleanupTimeout,
// whatever ctx's state; an outcome that stays unknown leaves the entry to
// the session's cleanup. Lead returns not leading and out of the line.
// Inside fn, e's Token, IsOwner and Proclaim are the term's. While Lead
// runs, the Election is Lead's: Campaign returns ErrCampaigning, a Resign
// elsewhere ends fn's term and Lead (which returns ErrNotLeader), and a
// Rotate elsewhere is a mistake. A Campaign that fails for another reason
// than ctx ending is returned as it is. A nil fn panics.
func (e *Election) Lead(ctx context.Context, value string, fn func(ctx context.Context) error,
	opts ...LeadOption) error {
	hold.CheckFunc(fn, "election: Lead")
	var cfg leadConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.period < 0 {
		return fmt.Errorf("%w: got %v", ErrInvalidPeriod, cfg.period)
	}
	if err := e.Campaign(ctx, value); err != nil {
		if ctx.Err() != nil {
			return nil // shut down while waiting: Campaign has left the line
		}
		return err
	}
	for {
		t := e.lead.Oldest()
		if t == nil { // resigned or lost elsewhere before the term began
			return ErrNotLeader
		}
		rotate, err := e.term(ctx, t, fn, cfg)
		if !rotate {
			return err
		}
		switch err := e.Rotate(ctx); {
		case err == nil:
		case ctx.Err() != nil:
			return nil // Rotate has left the line
		case errors.Is(err, ErrLost):
			return err
		default:
			if t := e.lead.Oldest(); t != nil { // the hand-off's outcome is unknown
				err = errors.Join(err, hold.GiveBounded(ctx, &e.lead, t, ErrNotLeader))
			}
			return err
		}
	}
}

// term runs fn for the term of t, then either reports that the lead is to
// be handed on (rotate), or gives t up and returns what Lead returns.
func (e *Election) term(ctx context.Context, t *queue.Ticket, fn func(context.Context) error,
	cfg leadConfig) (rotate bool, err error) {
	lost := hold.Lost(t)
	fctx := ctx
	if cfg.period > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeoutCause(ctx, cfg.period,
			fmt.Errorf("%w: the rotation period (%v) is over", ErrHandOver, cfg.period))
		defer cancel()
	}
	sc := hold.Bind(fctx, t.Done(), lost)
	if cfg.onAsk {
		sc.EndOn(t.YieldRequested(), fmt.Errorf("%w: asked to yield", ErrHandOver))
	}
	returned := false
	defer func() {
		if !returned { // a panic or Goexit: resign first, then let it unwind
			sc.Close()
			hold.GiveBounded(ctx, &e.lead, t, ErrNotLeader) //nolint:errcheck // the panic is the news
		}
	}()
	fnErr := fn(sc.Context())
	returned = true
	cause := sc.Close()
	why := ended(ctx.Err(), cause, lost)
	rotate, kept := afterTerm(why, fnErr, cause)
	if rotate {
		return true, nil
	}
	gave := hold.GiveBounded(ctx, &e.lead, t, ErrNotLeader)
	if why == shutDown {
		return false, kept // a clean shutdown: the resignation's outcome is not news
	}
	return false, hold.Outcome(kept, why == termLost, lost, gave, ErrNotLeader)
}

// ending is why fn's term ended, as Lead tells it.
type ending int

const (
	fnReturned ending = iota // fn returned while the term lasted
	termLost                 // the leadership ended under fn
	handOver                 // a rotation period over, or a request to yield
	shutDown                 // Lead's ctx ended
)

// ended tells why a term ended from Lead's ctx's error and the cause of
// fn's context (nil when it had not ended): a loss first, since it is the
// one to report; then ctx, since a shutdown wins over a hand-off.
func ended(ctxErr, cause, lost error) ending {
	switch {
	case cause != nil && cause == lost:
		return termLost
	case ctxErr != nil:
		return shutDown
	case errors.Is(cause, ErrHandOver):
		return handOver
	}
	return fnReturned
}

// afterTerm decides what Lead does once fn has returned: hand the lead on
// and lead again (rotate), or resign and return kept, which is fn's error,
// less its context's own ending when Lead ended it (a hand-off, a
// shutdown): that is no failure of fn's.
func afterTerm(why ending, fnErr, cause error) (rotate bool, kept error) {
	kept = fnErr
	if (why == handOver || why == shutDown) && endedBy(fnErr, cause) {
		kept = nil
	}
	return why == handOver && kept == nil, kept
}

// endedBy reports whether err is a context's error: canceled, past its
// deadline, or cause itself.
func endedBy(err, cause error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(cause != nil && errors.Is(err, cause))
}
