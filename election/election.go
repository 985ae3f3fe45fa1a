package election

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// Election is one candidate of the election named by a lock name, seen
// through one session: it campaigns, and while it leads it proclaims,
// rotates and resigns. It holds at most one place in the line at a time.
// It is safe for concurrent use. Make one with New; the zero value returns
// ErrUninitialized.
type Election struct {
	q      *queue.Queue
	layout keys.Layout

	// lead is the leadership, one at a time. Its claim is set while a
	// Campaign, Rotate or Resign is under way: the Election's place in the
	// line is changing, so Campaign must not add a second one.
	lead hold.Set
}

// New returns a candidate of the election named name, an absolute
// slash-separated path such as "/services/scheduler" (the rules of lock
// names), campaigning through session s. opts are those of queue.New. It
// does no I/O; it returns ErrNilSession, ErrInvalidName or, when s has
// ended, ErrSessionExpired.
//
// The election keeps its candidates as exclusive entries of the line
// named name: a fairmutex.Mutex on the same name would be one more
// candidate, so give an election a name of its own.
func New(s *concurrency.Session, name string, opts ...queue.Option) (*Election, error) {
	q, err := queue.New(s, name, opts...)
	if err != nil {
		return nil, err
	}
	if tenant, _ := q.Tenant(); tenant != "" {
		return nil, fmt.Errorf("%w: election %s: queue.WithTenant(%q, ...) is served by fairmutex and semaphore only",
			ErrTenantUnsupported, name, tenant)
	}
	layout, err := keys.New(name)
	if err != nil {
		return nil, err
	}
	return &Election{q: q, layout: layout, lead: hold.Set{Single: true, Line: q}}, nil
}

// Name returns the election's name.
func (e *Election) Name() string {
	if e == nil || e.q == nil {
		return ""
	}
	return e.q.Name()
}

// Campaign joins the line of candidates with value and waits, in arrival
// order, until the Election leads; then it returns nil. An uncontested
// Campaign takes one round trip.
//
// If ctx ends first, Campaign removes its entry from the line (with a fresh
// context bounded by queue.CleanupTimeout), writes nothing more and returns
// ctx.Err(); a lead granted while ctx was ending is given back the same
// way. It returns ErrSessionExpired or ErrLost when the session ends or its
// entry is deleted while it waits, and ErrCampaigning when the Election
// already leads or is campaigning.
func (e *Election) Campaign(ctx context.Context, value string) error {
	if e == nil || e.q == nil {
		return ErrUninitialized
	}
	if !e.lead.Claim() {
		return ErrCampaigning
	}
	t, err := e.q.Acquire(ctx, value)
	if err != nil {
		e.lead.Unclaim()
		return err
	}
	e.lead.Add(t)
	return nil
}

// Proclaim changes the leader's value without giving up the lead: a fenced
// put that happens only while the Election's entry is in the line with its
// token, which it keeps. It returns ErrNotLeader when the Election does not
// lead, and ErrLost, writing nothing, when the leadership has been lost
// (Resign then reports ErrLost as well). If ctx ends or etcd fails before
// the outcome is known, Proclaim returns that error: the value may or may
// not have changed, and the Election still leads.
func (e *Election) Proclaim(ctx context.Context, value string) error {
	if e == nil || e.q == nil {
		return ErrUninitialized
	}
	t := e.lead.Oldest()
	if t == nil {
		return ErrNotLeader
	}
	return t.SetValue(ctx, value)
}

// Resign gives up the lead with a fenced delete, handing it to the next
// candidate in line. It returns ErrNotLeader when the Election does not
// lead, and ErrLost, deleting nothing, when the leadership had already been
// lost (lease expired or key deleted); after either, and after success, the
// Election no longer leads. If ctx ends or etcd fails before the outcome is
// known, Resign returns that error and the Election still leads: call
// Resign again, or let the session's lease expire. (etcd's own
// Election.Resign forgets its leadership after a failed request, etcd
// #22123, so that a retry deletes nothing.)
func (e *Election) Resign(ctx context.Context) error {
	if e == nil || e.q == nil {
		return ErrUninitialized
	}
	return e.lead.Release(ctx, ErrNotLeader)
}

// Rotate hands the lead to the next candidate in line and rejoins at the
// tail, with the same value, in one transaction (a fenced delete of the
// leader's entry and a new entry), then waits for its turn again and
// returns nil once it leads. So candidates that Rotate lead round-robin:
// with k of them, each leads once in every k terms, in a fixed order. With
// nobody else in line the Election leads again at once, under a new token.
//
// It returns ErrNotLeader when the Election does not lead, and an error
// matching ErrLost, changing nothing, when the leadership had been lost
// (matching ErrSessionExpired too when the lease ended); the Election no
// longer leads after the latter. If ctx ends before the Election leads
// again, Rotate leaves the line (with a fresh context bounded by
// queue.CleanupTimeout, as Campaign does) and returns ctx.Err(): the lead
// has passed on, or is given up by a fenced delete if ctx ended before the
// hand-off, and the Election is no longer a candidate. If etcd fails for
// good before the hand-off's outcome is known, Rotate returns that error
// and the Election still counts itself leader; its Done closes if the
// hand-off did happen.
func (e *Election) Rotate(ctx context.Context) error {
	if e == nil || e.q == nil {
		return ErrUninitialized
	}
	t := e.lead.Take()
	if t == nil {
		e.lead.Unclaim()
		return ErrNotLeader
	}
	next, err := t.Requeue(ctx)
	if err != nil {
		switch {
		case errors.Is(err, ErrLost):
			e.lead.Unclaim()
		case errors.Is(err, ErrSessionExpired):
			// The lease is gone and the entry with it: the leadership is
			// lost, whichever error says so.
			e.lead.Unclaim()
			err = fmt.Errorf("%w: %w", ErrLost, err)
		case ctx.Err() != nil:
			// The hand-off may or may not have happened (Requeue removed
			// the new entry if it wrote one). Finish it without the
			// rejoin, as when ctx ends while Rotate waits: the Election
			// ends up out of the line either way, never leading with an
			// entry that may be gone.
			t.Abandon(ctx)
			e.lead.Unclaim()
		default:
			e.lead.Restore(t)
		}
		return err
	}
	if err := next.Wait(ctx); err != nil {
		next.Abandon(ctx)
		e.lead.Unclaim()
		return err
	}
	e.lead.Add(next)
	return nil
}

// Token returns the fencing token of the current leadership, its entry's
// create revision, which rises with every term; 0 when not leading.
// Proclaim keeps the token; Rotate takes a new one.
func (e *Election) Token() int64 { return e.leads().Token() }

// Key returns the etcd key of the leader's entry; "" when not leading.
func (e *Election) Key() string { return e.leads().Key() }

// IsOwner returns a comparison that holds while the current leadership is
// in place. Put it in the If of a transaction to fence writes stored in
// etcd. When the Election does not lead it returns a comparison that never
// holds, on a key under the election's name: a transaction fenced with it
// then fails (Succeeded == false, no error) for any user who may read NAME/.
func (e *Election) IsOwner() clientv3.Cmp { return e.leads().IsOwner() }

// Done returns a channel that is closed when the current leadership ends
// for any reason: Resign, Rotate, the session ending, or the entry deleted
// by someone else. When the Election does not lead it returns a closed
// channel. The first call for a term starts a watch on its key, which ends
// with the term.
func (e *Election) Done() <-chan struct{} { return e.leads().Done() }

// HeldUntil returns the moment up to which the current leadership surely
// lasts: etcd cannot expire the session's lease before it (see
// queue.Ticket.HeldUntil). It is the zero time when not leading or not yet
// known.
func (e *Election) HeldUntil() time.Time { return e.leads().HeldUntil() }

// leads is the leadership's hold set; nil (leading nothing) for a nil
// Election.
func (e *Election) leads() *hold.Set {
	if e == nil {
		return nil
	}
	return &e.lead
}
