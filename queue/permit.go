package queue

import (
	"context"
	"fmt"
)

// JoinPermit appends a permit entry of weight 1 of a semaphore with the
// given limit to the line, in one round trip, and returns its ticket: it is
// JoinPermitN with weight 1.
func (q *Queue) JoinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	return q.JoinPermitN(ctx, value, limit, 1)
}

// JoinPermitN appends a permit entry of the given weight, of a semaphore
// with the given limit, to the line in one round trip, and returns its
// ticket, which may already hold its turn: call Wait. Cancellation and
// retries are as for Join.
//
// Permits are let in in arrival order while the weights of those let in,
// the next one's included, fit in the limit; no later entry overtakes an
// earlier one, even one that would fit, so a heavy permit is never starved
// by light ones. Permits neither block nor are blocked by exclusive and
// shared entries on the same name. Everyone using a name as a semaphore
// must agree on its limit: while the line holds permits of another limit,
// JoinPermitN returns ErrLimitMismatch and writes nothing. A limit below 1
// is ErrInvalidLimit, a weight below 1 or above the limit
// ErrInvalidWeight, both without I/O.
func (q *Queue) JoinPermitN(ctx context.Context, value string, limit, weight int) (*Ticket, error) {
	if err := checkPermit(limit, weight); err != nil {
		return nil, err
	}
	if err := q.refuseTenant("JoinPermitN"); err != nil {
		return nil, err
	}
	return q.joinOne(ctx, draft{entry: entry{q: q, kind: Permit, limit: limit, weight: weight}, value: value})
}

// TryJoinPermit is TryJoinPermitN with weight 1.
func (q *Queue) TryJoinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	return q.TryJoinPermitN(ctx, value, limit, 1)
}

// TryJoinPermitN appends a permit entry only if it would be let in at once
// (nobody waits and its weight fits beside the permits held) and returns
// its ticket, which holds its turn. Otherwise it returns ErrBlocked and
// writes nothing: the store's revision does not move. Cancellation,
// limits, weights and mismatches are as for JoinPermitN.
//
// It takes one transaction when the line is empty or full, two when some
// but not all of the limit is taken (a read, then a write guarded by it),
// and at most three when permits are taken and given back meanwhile: past
// that it returns ErrBlocked.
func (q *Queue) TryJoinPermitN(ctx context.Context, value string, limit, weight int) (*Ticket, error) {
	if err := checkPermit(limit, weight); err != nil {
		return nil, err
	}
	return q.tryJoin(ctx, draft{entry: entry{q: q, kind: Permit, limit: limit, weight: weight}, value: value})
}

// AcquirePermit is AcquirePermitN with weight 1.
func (q *Queue) AcquirePermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	return q.AcquirePermitN(ctx, value, limit, 1)
}

// AcquirePermitN is JoinPermitN followed by Wait, removing the entry on any
// error, as Acquire does.
func (q *Queue) AcquirePermitN(ctx context.Context, value string, limit, weight int) (*Ticket, error) {
	if err := checkPermit(limit, weight); err != nil {
		return nil, err
	}
	return q.acquire(ctx, draft{entry: entry{q: q, kind: Permit, limit: limit, weight: weight}, value: value})
}

func checkPermit(limit, weight int) error {
	if limit < 1 {
		return ErrInvalidLimit
	}
	if weight < 1 || weight > limit {
		return fmt.Errorf("%w: %d, limit %d", ErrInvalidWeight, weight, limit)
	}
	return nil
}
