package rwmutex

import (
	"context"

	"github.com/fairlock/fairlock/internal/primitive/hold"
)

// Do takes the write lock, runs fn while that hold lasts, then unlocks,
// whatever fn did: it is Lock, fn, Unlock, done right.
//
//   - fn runs only once Lock has succeeded; if Lock fails, fn does not run,
//     Do returns Lock's error and nothing is held or left in the line.
//   - fn's context ends when ctx ends or when the write hold ends under fn:
//     lost, released by an Unlock elsewhere, or Done closing, at HeldUntil
//     at the latest. Its cause (context.Cause) then matches ErrLost.
//   - Then Do releases this write hold (never a later one) with a context
//     of its own, bounded by queue.CleanupTimeout, even when ctx has ended;
//     an outcome that stays unknown leaves the entry to the session's
//     cleanup. Do returns within twice queue.CleanupTimeout, holding
//     nothing it took.
//   - Do returns fn's error, joined with an error matching ErrLost when the
//     hold was lost while fn ran, and with Unlock's error.
//   - A panic in fn unlocks, then goes on.
//
// Inside fn, rw's Token and IsOwner fence writes. A nil fn panics, before
// anything is taken.
func (rw *RWMutex) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	hold.CheckFunc(fn, "rwmutex: Do")
	t, err := rw.lock(ctx)
	if err != nil {
		return err
	}
	return hold.Do(ctx, &rw.writer, t, ErrNotLocked, fn)
}

// RDo takes a read lock, runs fn while that hold lasts, then releases it,
// whatever fn did, as Do does for the write lock. Readers share the lock,
// so RDo calls run together, each with a read hold of its own: RDo releases
// its own, never another's (RUnlock releases the oldest). fn's context ends
// when ctx ends or that read hold ends; Do's other rules apply. Inside fn,
// RToken and RIsOwner are those of rw's oldest read hold, which is RDo's
// own unless several are held at once.
func (rw *RWMutex) RDo(ctx context.Context, fn func(ctx context.Context) error) error {
	hold.CheckFunc(fn, "rwmutex: RDo")
	t, err := rw.rlock(ctx)
	if err != nil {
		return err
	}
	return hold.Do(ctx, &rw.readers, t, ErrNotRLocked, fn)
}
