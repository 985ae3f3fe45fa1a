package semaphore

import (
	"context"

	"github.com/fairlock/fairlock/internal/primitive/hold"
)

// Do acquires a permit of weight n (AcquireN), runs fn while it is held,
// then releases it, whatever fn did.
//
//   - fn runs only once the permit is granted; if AcquireN fails (ctx ended
//     while waiting, an invalid weight, a limit mismatch, the entry lost),
//     fn does not run, Do returns that error and nothing is held or left in
//     the line.
//   - fn's context ends when ctx ends or when the permit ends under fn:
//     lost (the lease ended, the key was deleted) or Done closing, at
//     HeldUntil at the latest. Its cause (context.Cause) then matches
//     ErrLost.
//   - Then Do releases the permit with a context of its own, bounded by
//     queue.CleanupTimeout, even when ctx has ended; an outcome that stays
//     unknown leaves the entry to the session's cleanup. Do returns within
//     twice queue.CleanupTimeout, holding nothing.
//   - Do returns fn's error, joined with an error matching ErrLost when the
//     permit was lost while fn ran, and with Release's error.
//   - A panic in fn releases, then goes on.
//
// fn cannot reach the Permit: to fence writes with its Token or IsOwner,
// use AcquireN and Release. A nil fn panics, before anything is taken.
func (sm *Semaphore) Do(ctx context.Context, n int, fn func(ctx context.Context) error) error {
	hold.CheckFunc(fn, "semaphore: Do")
	p, err := sm.AcquireN(ctx, n)
	if err != nil {
		return err
	}
	return hold.Do(ctx, &p.h, p.t, ErrReleased, fn)
}
