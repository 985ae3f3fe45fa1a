package rwmutex

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/queue"
)

// RLock waits, in arrival order, until the RWMutex holds a read lock: until
// every writer that asked before it has gone. It does not wait for readers,
// so readers that arrive together hold together; it does not overtake a
// writer that asked before it, so writers cannot starve readers and readers
// cannot starve a writer. An uncontended RLock takes one round trip. Each
// successful RLock is a hold of its own, released by one RUnlock.
//
// If ctx ends first, RLock removes its entry from the line (with a fresh
// context bounded by queue.CleanupTimeout) and returns ctx.Err(); a grant
// that races with the cancellation is given back the same way, so a failed
// RLock leaves nothing held and nothing in etcd. It returns
// an error matching ErrLost (and ErrSessionExpired when the lease ended)
// when its entry goes while it waits: never the lock.
func (rw *RWMutex) RLock(ctx context.Context) error {
	_, err := rw.rlock(ctx)
	return err
}

// rlock is RLock, returning the hold it took (RDo releases that one).
func (rw *RWMutex) rlock(ctx context.Context) (*queue.Ticket, error) {
	if err := rw.usable(); err != nil {
		return nil, err
	}
	t, err := rw.q.AcquireShared(ctx, rw.q.Identity())
	if err != nil {
		return nil, err
	}
	rw.readers.Add(t)
	return t, nil
}

// TryRLock takes a read lock only if no writer holds or waits for the lock,
// in a single transaction. Otherwise it returns ErrLocked and writes nothing
// at all: the store's revision does not move. If ctx ends before the outcome
// is known, TryRLock removes whatever it may have written and returns the
// error.
func (rw *RWMutex) TryRLock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	t, err := rw.q.TryJoinShared(ctx, rw.q.Identity())
	if errors.Is(err, queue.ErrBlocked) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	rw.readers.Add(t)
	return nil
}

// RUnlock releases the oldest read hold of this RWMutex (the one with the
// lowest place in the line) with a fenced delete: the entry goes only if it
// still has the hold's create revision. It returns ErrNotRLocked when no
// read lock is held, and ErrLost, deleting nothing, when that hold had
// already ended (lease expired or key deleted); the hold is forgotten after
// either. If ctx ends or etcd fails before the outcome is known, RUnlock
// returns that error and the read lock is still held: call RUnlock again,
// or let the session's lease expire.
func (rw *RWMutex) RUnlock(ctx context.Context) error {
	if err := rw.usable(); err != nil {
		return err
	}
	return rw.readers.Release(ctx, ErrNotRLocked)
}

// RToken returns the fencing token of the oldest read hold; 0 when no read
// lock is held.
func (rw *RWMutex) RToken() int64 { return rw.reads().Token() }

// RIsOwner returns a comparison that holds while the oldest read hold is
// still in place; one that never holds (on a key under NAME/, as IsOwner)
// when no read lock is held.
func (rw *RWMutex) RIsOwner() clientv3.Cmp { return rw.reads().IsOwner() }

// RDone returns a channel that is closed when the oldest read hold ends for
// any reason: RUnlock, the session ending, or the entry deleted by someone
// else. When no read lock is held it returns a closed channel.
func (rw *RWMutex) RDone() <-chan struct{} { return rw.reads().Done() }

// RKey returns the etcd key of the oldest read hold's entry; "" when no
// read lock is held.
func (rw *RWMutex) RKey() string { return rw.reads().Key() }

// RHeldUntil returns the moment up to which the oldest read hold surely
// lasts (see queue.Ticket.HeldUntil); the zero time when no read lock is
// held.
func (rw *RWMutex) RHeldUntil() time.Time { return rw.reads().HeldUntil() }
