package queue

// Temporary: the engine behind these lands in the next commits.

import (
	"context"
	"errors"
	"time"
)

var errNotYet = errors.New("queue: not implemented yet")

func (q *Queue) joinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	return nil, errNotYet
}

func (q *Queue) tryJoinPermit(ctx context.Context, value string, limit int) (*Ticket, error) {
	return nil, errNotYet
}

func (q *Queue) waitOrRemove(ctx context.Context, t *Ticket) (*Ticket, error) {
	if err := t.Wait(ctx); err != nil {
		q.remove(ctx, t.key)
		return nil, err
	}
	return t, nil
}

func joinAll(ctx context.Context, reqs []Request) ([]*Ticket, error) { return nil, errNotYet }

func (q *Queue) abandon(ctx context.Context, t *Ticket) { q.remove(ctx, t.key) }

// Requeue moves the ticket's entry to the tail of its line in one
// transaction: a fenced delete of the entry and a new entry with the same
// value and mode, under a new key. It returns the new ticket, which may
// already be at the head (call Wait). The old ticket has left. It returns
// ErrLost, changing nothing, when the entry was already gone.
func (t *Ticket) Requeue(ctx context.Context) (*Ticket, error) { return nil, errNotYet }

// SetValue replaces the entry's value, fenced: only while the entry is in
// the line with its create revision (its token), which it keeps. It
// returns ErrLost, writing nothing, when the entry is gone.
func (t *Ticket) SetValue(ctx context.Context, value string) error { return errNotYet }

// HeldUntil returns the moment up to which the entry surely still exists:
// etcd cannot expire the session's lease before it, unless a later
// keep-alive succeeds, which moves it on. Done closes at this moment at the
// latest. It is the zero time when not yet known.
func (t *Ticket) HeldUntil() time.Time { return time.Time{} }

// Kind returns the entry's kind.
func (t *Ticket) Kind() Kind {
	if t.shared {
		return Shared
	}
	return Exclusive
}

// Limit returns the semaphore limit of a permit entry, 0 for others.
func (t *Ticket) Limit() int { return 0 }
