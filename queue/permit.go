package queue

import "context"

// JoinPermit appends a permit entry of a semaphore with the given limit to
// the line, in one round trip, and returns its ticket. A permit entry's
// turn comes when fewer than limit permit entries of the line are older
// than it: limit holders at once, granted in arrival order. Permits live in
// a sub-range of their own: they neither block nor are blocked by
// exclusive and shared entries on the same name.
//
// Everyone using a name as a semaphore must agree on its limit: while the
// line holds permits of another limit, JoinPermit returns ErrLimitMismatch
// and writes nothing. A limit below 1 is ErrInvalidLimit. Cancellation and
// retries are as for Join.
func (q *Queue) JoinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	if limit < 1 {
		return nil, ErrInvalidLimit
	}
	return q.joinOne(ctx, value, Permit, limit)
}

// TryJoinPermit appends a permit entry only if fewer than limit permit
// entries are in the line, so that its turn has come; otherwise it returns
// ErrBlocked and writes nothing (the store revision does not move). It
// takes one transaction when the line is empty or full, two when some but
// not all permits are taken (a read, then a write guarded by it), and at
// most three when permits are taken and given back meanwhile: past that it
// returns ErrBlocked. Limit
// mismatches are as for JoinPermit.
func (q *Queue) TryJoinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	if limit < 1 {
		return nil, ErrInvalidLimit
	}
	return q.tryJoin(ctx, value, Permit, limit)
}

// AcquirePermit is JoinPermit followed by Wait, removing the entry on any
// error, as Acquire does.
func (q *Queue) AcquirePermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	t, err := q.JoinPermit(ctx, value, limit)
	if err != nil {
		return nil, err
	}
	return q.waitOrAbandon(ctx, t)
}
