package rwmutex

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// Lock waits, in arrival order, until the RWMutex holds the lock alone: until
// every reader and writer that asked before it has gone. Readers that ask
// after it wait for it, so readers cannot starve a writer. An uncontended
// Lock takes one round trip.
//
// If ctx ends first, Lock removes its entry from the line (with a fresh
// context bounded by queue.CleanupTimeout) and returns ctx.Err(); a grant
// that races with the cancellation is given back the same way, so a failed
// Lock leaves nothing held and nothing in etcd once etcd is reachable. It
// returns an error matching ErrLost (and ErrSessionExpired when the lease
// ended) when its entry goes while it waits: never the lock. The next in
// line is then served.
func (rw *RWMutex) Lock(ctx context.Context) error {
	_, err := rw.lock(ctx)
	return err
}

// lock is Lock, returning the hold it took (Do releases that one).
func (rw *RWMutex) lock(ctx context.Context) (*queue.Ticket, error) {
	if err := rw.usable(); err != nil {
		return nil, err
	}
	t, err := rw.q.Acquire(ctx, rw.q.Identity())
	if err != nil {
		return nil, err
	}
	rw.writer.Add(t)
	return t, nil
}

// TryLock takes the write lock only if nobody holds or waits for the lock,
// reader or writer, in a single transaction. Otherwise it returns ErrLocked
// and writes nothing at all: the store's revision does not move.
// Cancellation is as for Lock.
func (rw *RWMutex) TryLock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	t, err := rw.q.TryJoin(ctx, rw.q.Identity())
	if errors.Is(err, queue.ErrBlocked) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	rw.writer.Add(t)
	return nil
}

// Unlock releases the current write hold with a fenced delete: the entry
// goes only if it still has the hold's create revision. It returns
// ErrNotLocked when no write lock is held, and an error matching ErrLost,
// deleting nothing, when the hold had already ended (lease expired or key
// deleted); the RWMutex holds no write lock after either. Transient errors
// are retried until ctx ends; if ctx ends before the outcome is known,
// Unlock returns ctx.Err() and the write lock is still held: call Unlock
// again, or let the session's lease expire.
func (rw *RWMutex) Unlock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	return rw.writer.Release(ctx, ErrNotLocked)
}

// Token returns the fencing token of the current write hold, its entry's
// create revision, which rises with every grant of the lock; 0 when no
// write lock is held.
func (rw *RWMutex) Token() int64 { return rw.writes().Token() }

// Key returns the etcd key of the current write hold's entry; "" when no
// write lock is held.
func (rw *RWMutex) Key() string { return rw.writes().Key() }

// IsOwner returns a comparison that holds while the current write hold is
// still in place. Put it in the If of a transaction to fence writes stored
// in etcd. When no write lock is held it returns a comparison that never
// holds, on a key under the lock's name: a transaction fenced with it then
// fails (Succeeded == false, no error) for any user who may read NAME/.
func (rw *RWMutex) IsOwner() clientv3.Cmp { return rw.writes().IsOwner() }

// Done returns a channel that is closed when the current write hold ends
// for any reason: Unlock, the session ending, or the entry deleted by
// someone else. When no write lock is held it returns a closed channel.
func (rw *RWMutex) Done() <-chan struct{} { return rw.writes().Done() }

// HeldUntil returns the moment up to which the current write hold surely
// lasts (see queue.Ticket.HeldUntil); the zero time when not held.
func (rw *RWMutex) HeldUntil() time.Time { return rw.writes().HeldUntil() }

// writes is the write hold set; nil (holding nothing) for a nil RWMutex.
func (rw *RWMutex) writes() *hold.Set {
	if rw == nil {
		return nil
	}
	return &rw.writer
}

// reads is the read hold set; nil (holding nothing) for a nil RWMutex.
func (rw *RWMutex) reads() *hold.Set {
	if rw == nil {
		return nil
	}
	return &rw.readers
}
