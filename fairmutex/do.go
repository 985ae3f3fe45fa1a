package fairmutex

import (
	"context"

	"github.com/fairlock/fairlock/internal/primitive/hold"
)

// Do locks m, runs fn while the hold lasts, then unlocks, whatever fn did.
//
//   - fn runs only once Lock has succeeded; if Lock fails (ctx ended while
//     waiting, the entry lost), fn does not run, Do returns Lock's error
//     and nothing is held or left in the line, as after a failed Lock.
//   - fn's context ends when ctx ends or when the hold ends under fn: lost
//     (the lease ended, the key was deleted), released by an Unlock
//     elsewhere, or Done closing, at HeldUntil at the latest. Its cause
//     (context.Cause) then matches ErrLost. Watch it instead of bounding fn
//     by HeldUntil, which renewals move on.
//   - Then Do unlocks this hold (never a later one of m) with a context of
//     its own, bounded by queue.CleanupTimeout, even when ctx has ended. If
//     the outcome stays unknown (etcd unreachable), the entry is left to the
//     session's cleanup, which removes it once etcd answers; Do returns
//     within twice queue.CleanupTimeout either way, holding nothing.
//   - Do returns fn's error, joined with an error matching ErrLost when the
//     hold was lost while fn ran, and with Unlock's error.
//   - A panic in fn unlocks, then goes on.
//
// Inside fn, m's Token and IsOwner fence writes as after Lock. A nil fn
// panics, before anything is taken. Like Lock, Do is not reentrant: a Do
// or Lock of m inside fn waits for fn's own hold.
func (m *Mutex) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	hold.CheckFunc(fn, "fairmutex: Do")
	t, err := m.lock(ctx)
	if err != nil {
		return err
	}
	return hold.Do(ctx, &m.h, t, ErrNotLocked, fn)
}
