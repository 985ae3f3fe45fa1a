package semaphore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/queue"
)

// Semaphore is a fair distributed counting semaphore: at most Limit permits
// held at once, granted in arrival order. It is safe for concurrent use;
// each Acquire takes its own place in the line and returns its own Permit.
// Make one with New; the zero value returns ErrUninitialized.
type Semaphore struct {
	q     *queue.Queue
	limit int
}

// New returns the semaphore named name, with limit permits, used through
// session s. Names are as for fairmutex.New: an absolute slash-separated
// path such as "/pools/db" (no trailing slash, no empty segment, no segment
// starting with '.'). Everyone using a name must give the same limit (see
// ErrLimitMismatch). opts are those of package queue (queue.WithIdentity
// sets the value stored in every entry, shown by queue.List;
// queue.WithTenant makes its permits one tenant's, served round-robin with
// the other tenants' by share, where a share counts callers whatever their
// weights).
//
// It does no I/O. It returns ErrNilSession, ErrInvalidName, an error
// matching ErrInvalidLimit when limit is below 1, ErrInvalidTenant or
// ErrInvalidShare for a bad tenant, or ErrSessionExpired when s has
// already ended.
func New(s *concurrency.Session, name string, limit int, opts ...queue.Option) (*Semaphore, error) {
	q, err := queue.New(s, name, opts...)
	if err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("semaphore %s: limit %d: %w", name, limit, ErrInvalidLimit)
	}
	return &Semaphore{q: q, limit: limit}, nil
}

// Limit returns how many permits the semaphore grants at once; 0 for a
// zero Semaphore.
func (sm *Semaphore) Limit() int {
	if sm == nil {
		return 0
	}
	return sm.limit
}

// Name returns the semaphore's name; "" for a zero Semaphore.
func (sm *Semaphore) Name() string {
	if sm == nil || sm.q == nil {
		return ""
	}
	return sm.q.Name()
}

// Acquire waits, in arrival order, for a permit, and returns it: it is
// AcquireN(ctx, 1). When a permit is free and nobody waits, it takes one
// round trip.
//
// If ctx ends first, Acquire removes its entry from the line and returns
// ctx.Err() within queue.CleanupTimeout of ctx's end; a permit granted
// while ctx was ending is given back the same way, so a failed Acquire
// leaves nothing held and nothing in etcd. It returns an error matching
// ErrLost or ErrSessionExpired when the session ends or the entry is
// deleted while it waits: never a permit. It returns ErrLimitMismatch,
// writing nothing, while the name is held or awaited with another limit.
func (sm *Semaphore) Acquire(ctx context.Context) (*Permit, error) {
	return sm.AcquireN(ctx, 1)
}

// AcquireN waits for a permit of weight n: one that takes n of the limit.
// Permits are granted in arrival order while the weights granted, the next
// one's included, fit in the limit; a later Acquire never overtakes an
// earlier one, even when it would fit, so a heavy waiter is never starved
// by light ones (as golang.org/x/sync/semaphore.Weighted), and no capacity
// stays idle that the oldest waiter could use. An n below 1 or above the
// limit fails at once with ErrInvalidWeight, without I/O. Cancellation,
// losses and limit mismatches are as for Acquire.
func (sm *Semaphore) AcquireN(ctx context.Context, n int) (*Permit, error) {
	if sm == nil || sm.q == nil {
		return nil, ErrUninitialized
	}
	t, err := sm.q.AcquirePermitN(ctx, sm.q.Identity(), sm.limit, n)
	if err != nil {
		return nil, sm.wrap(err, n)
	}
	return newPermit(t), nil
}

// TryAcquire takes a permit only if one is free and nobody waits for one:
// it is TryAcquireN(ctx, 1).
func (sm *Semaphore) TryAcquire(ctx context.Context) (*Permit, error) {
	return sm.TryAcquireN(ctx, 1)
}

// TryAcquireN takes a permit of weight n only if nobody waits and n fits
// beside the permits held. Otherwise it returns ErrNoPermit and writes
// nothing at all: the store's revision does not move. It takes one
// transaction when nothing or everything is taken, two when some is (a
// read, then a write guarded by it). It returns ErrInvalidWeight for an n
// below 1 or above the limit, without I/O, and ErrLimitMismatch, writing
// nothing, while the name is held or awaited with another limit. If ctx
// ends before the outcome is known, TryAcquireN removes whatever it may
// have written and returns the error.
func (sm *Semaphore) TryAcquireN(ctx context.Context, n int) (*Permit, error) {
	if sm == nil || sm.q == nil {
		return nil, ErrUninitialized
	}
	t, err := sm.q.TryJoinPermitN(ctx, sm.q.Identity(), sm.limit, n)
	if errors.Is(err, queue.ErrBlocked) {
		return nil, ErrNoPermit
	}
	if err != nil {
		return nil, sm.wrap(err, n)
	}
	return newPermit(t), nil
}

// wrap says which semaphore an invalid weight was given to.
func (sm *Semaphore) wrap(err error, n int) error {
	if errors.Is(err, ErrInvalidWeight) {
		return fmt.Errorf("semaphore %s: weight %d, limit %d: %w", sm.q.Name(), n, sm.limit, ErrInvalidWeight)
	}
	return err
}
