package rwmutex

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/fairmutex"
)

// Lock waits, in arrival order, until the RWMutex holds the lock alone: until
// every reader and writer that asked before it has gone. Readers that ask
// after it wait for it, so readers cannot starve a writer. An uncontended
// Lock takes one round trip.
//
// If ctx ends first, Lock removes its entry from the line (with a fresh
// context bounded by queue.CleanupTimeout) and returns ctx.Err(); a grant
// that races with the cancellation is given back the same way, so a failed
// Lock leaves nothing held and nothing in etcd. It returns ErrSessionExpired
// or ErrLost when the session ends or its entry is deleted while it waits:
// never the lock. The next in line is then served.
func (rw *RWMutex) Lock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	return rw.w.Lock(ctx)
}

// TryLock takes the write lock only if nobody holds or waits for the lock,
// reader or writer, in a single transaction. Otherwise it returns ErrLocked
// and writes nothing at all: the store's revision does not move. If ctx ends
// before the outcome is known, TryLock removes whatever it may have written
// and returns the error.
func (rw *RWMutex) TryLock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	return rw.w.TryLock(ctx)
}

// Unlock releases the current write hold with a fenced delete: the entry
// goes only if it still has the hold's create revision. It returns
// ErrNotLocked when no write lock is held, and ErrLost, deleting nothing,
// when the hold had already ended (lease expired or key deleted); the
// RWMutex holds no write lock after either. If ctx ends or etcd fails before
// the outcome is known, Unlock returns that error and the write lock is
// still held: call Unlock again, or let the session's lease expire.
func (rw *RWMutex) Unlock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	return rw.w.Unlock(ctx)
}

// Token returns the fencing token of the current write hold, its entry's
// create revision, which rises with every grant of the lock; 0 when no
// write lock is held.
func (rw *RWMutex) Token() int64 {
	return rw.writer().Token()
}

// Key returns the etcd key of the current write hold's entry; "" when no
// write lock is held.
func (rw *RWMutex) Key() string {
	return rw.writer().Key()
}

// IsOwner returns a comparison that holds while the current write hold is
// still in place. Put it in the If of a transaction to fence writes stored
// in etcd. When no write lock is held it returns a comparison that never
// holds.
func (rw *RWMutex) IsOwner() clientv3.Cmp {
	return rw.writer().IsOwner()
}

// Done returns a channel that is closed when the current write hold ends for
// any reason: Unlock, the session ending, or the entry deleted by someone
// else. When no write lock is held it returns a closed channel. The first
// call for a hold starts a watch on its key, which ends with the hold.
func (rw *RWMutex) Done() <-chan struct{} {
	return rw.writer().Done()
}

// writer returns the write side, nil for a zero RWMutex (whose accessors
// then report no hold, as fairmutex's do for a nil Mutex).
func (rw *RWMutex) writer() *fairmutex.Mutex {
	if rw == nil {
		return nil
	}
	return rw.w
}
