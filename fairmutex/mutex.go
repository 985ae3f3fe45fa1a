package fairmutex

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// Mutex is a fair distributed mutual exclusion lock. It is safe for
// concurrent use: each Lock call takes its own place in the line, and
// Unlock releases the current hold, whichever goroutine took it (like
// sync.Mutex, a hold belongs to no goroutine). Make one with New; the zero
// value returns ErrUninitialized.
type Mutex struct {
	q *queue.Queue
	h hold.Set // one hold at a time
}

// New returns a Mutex for the lock named name, an absolute slash-separated
// path such as "/jobs/nightly" (no trailing slash, no empty segment, no
// segment starting with '.'), held through session s. Locks "/a" and
// "/a/b" are independent. It does no I/O; it returns ErrNilSession,
// ErrInvalidName or, when s has ended, ErrSessionExpired. Options are those
// of package queue: queue.WithIdentity sets the value stored in the Mutex's
// entries (default "<hostname>/<pid>"), queue.WithHooks and
// queue.WithLogger observe it, queue.WithEtcdMutexInterop makes it wait
// for etcd's own Mutex holders too, and queue.WithTenant makes its holds
// one tenant's, served round-robin with the other tenants' by share
// (ErrInvalidTenant, ErrInvalidShare for a bad one).
func New(s *concurrency.Session, name string, opts ...queue.Option) (*Mutex, error) {
	q, err := queue.New(s, name, opts...)
	if err != nil {
		return nil, err
	}
	return &Mutex{q: q, h: hold.Set{Single: true, Line: q}}, nil
}

// Lock waits, in arrival order, until the Mutex holds the lock; called
// while the same Mutex holds it, Lock queues behind that hold and waits
// until Unlock or the end of ctx, as sync.Mutex does (no reentry, no
// error). An uncontended Lock takes one round trip.
//
// If ctx ends first, Lock removes its entry from the line and returns
// ctx.Err() within queue.CleanupTimeout of ctx's end; a grant
// that races with the cancellation is given back the same way, so a failed
// Lock leaves nothing held, and nothing in etcd once etcd is reachable. It
// returns an error matching ErrLost (and ErrSessionExpired when the lease
// ended) when its entry goes while it waits: never the lock. Transient etcd
// errors are retried until ctx ends.
func (m *Mutex) Lock(ctx context.Context) error {
	_, err := m.lock(ctx)
	return err
}

// lock is Lock, returning the hold it took (Do releases that one).
func (m *Mutex) lock(ctx context.Context) (*queue.Ticket, error) {
	if m == nil || m.q == nil {
		return nil, ErrUninitialized
	}
	t, err := m.q.Acquire(ctx, m.q.Identity())
	if err != nil {
		return nil, err
	}
	m.h.Add(t)
	return t, nil
}

// TryLock takes the lock only if nobody holds or waits for it, in a single
// transaction. Otherwise it returns ErrLocked and writes nothing at all: the
// store's revision does not move. If ctx ends before the outcome is known,
// TryLock removes whatever it may have written and returns the error.
func (m *Mutex) TryLock(ctx context.Context) error {
	if m == nil || m.q == nil {
		return ErrUninitialized
	}
	t, err := m.q.TryJoin(ctx, m.q.Identity())
	if errors.Is(err, queue.ErrBlocked) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	m.h.Add(t)
	return nil
}

// Unlock releases the current hold with a fenced delete: the entry goes only
// if it still has the hold's create revision. It returns ErrNotLocked when
// nothing is held, and ErrLost, deleting nothing, when the hold had already
// ended (lease expired or key deleted); the Mutex holds nothing after either.
// Transient errors are retried until ctx ends; a retry that finds the entry
// gone while the session's lease lives takes the lost reply to have been the
// release, and returns nil. If ctx ends before the outcome is known, Unlock
// returns ctx.Err() and the Mutex still holds the lock: call Unlock again,
// or let the session's lease expire.
func (m *Mutex) Unlock(ctx context.Context) error {
	if m == nil || m.q == nil {
		return ErrUninitialized
	}
	return m.h.Release(ctx, ErrNotLocked)
}

// Token returns the fencing token of the current hold, its entry's create
// revision, which rises with every grant of the lock; 0 when not held.
func (m *Mutex) Token() int64 { return m.holds().Token() }

// Key returns the etcd key of the current hold's entry; "" when not held.
func (m *Mutex) Key() string { return m.holds().Key() }

// IsOwner returns a comparison that holds while the current hold is still
// in place. Put it in the If of a transaction to fence writes stored in
// etcd. When nothing is held it returns a comparison that never holds, on
// a key under the lock's name: a transaction fenced with it then fails
// (Succeeded == false, no error) for any user who may read NAME/.
func (m *Mutex) IsOwner() clientv3.Cmp { return m.holds().IsOwner() }

// Done returns a channel that is closed when the current hold ends for any
// reason: Unlock, the session ending (on this client's side too, see
// queue.Ticket.Done), or the entry deleted by someone else, and at the
// latest at HeldUntil.
// When nothing is held it returns a closed channel. The first call for a
// hold starts a watch on its key, which ends with the hold.
func (m *Mutex) Done() <-chan struct{} { return m.holds().Done() }

// holds is the Mutex's hold set; nil (holding nothing) for a nil Mutex.
func (m *Mutex) holds() *hold.Set {
	if m == nil {
		return nil
	}
	return &m.h
}

// HeldUntil returns the moment up to which the current hold surely lasts
// (see queue.Ticket.HeldUntil); the zero time when not held.
func (m *Mutex) HeldUntil() time.Time { return m.holds().HeldUntil() }

// Name returns the lock's name.
func (m *Mutex) Name() string {
	if m == nil || m.q == nil {
		return ""
	}
	return m.q.Name()
}
