package fairmutex

import (
	"context"

	"github.com/fairlock/fairlock/queue"
)

// LockAll locks every Mutex in ms, without deadlock, whatever order other
// callers name the same locks in. It joins every lock's line in one etcd
// transaction, so that all its entries get the same create revision, and
// returns when every line has granted it. On error or cancellation nothing
// is held and nothing is left in etcd (see Lock). Each Mutex is then held
// and unlocked on its own, and all their Tokens are equal.
//
// The Mutexes must share one session (ErrMixedSessions); the same lock
// twice (ErrDuplicateLine, also when the same Mutex is named twice) or a
// Mutex that already holds its lock or is being locked by another LockAll
// (ErrAlreadyLocked) is an error, returned before anything is written.
//
// # Why no deadlock can form
//
// A multi-locker waits in each line behind the entries older than its own,
// and revisions are one total order: if A's entries are older than B's in
// one line they are older in every line (each caller's entries share one
// revision). So a waits-for edge always points from a newer revision to an
// older one, and no cycle can form; the oldest entry in the system is
// always at the head of all its lines. Each line stays FIFO.
//
// Where the argument stops: a multi-locker holds the lines it has reached
// while it waits for the rest, so callers behind it in those lines wait for
// its slowest line too (convoys, not deadlocks). Locking all at once costs
// one round trip for the join and one wait per line; keep the sets small.
func LockAll(ctx context.Context, ms ...*Mutex) error {
	reqs := make([]queue.Request, len(ms))
	for i, m := range ms {
		if m == nil || m.q == nil {
			return ErrUninitialized
		}
		reqs[i] = queue.Request{Queue: m.q, Value: m.q.Identity()}
	}
	if err := queue.CheckLines(reqs); err != nil {
		return err
	}
	for i, m := range ms {
		if !m.h.Claim() {
			unclaim(ms[:i])
			return ErrAlreadyLocked
		}
	}
	ts, err := queue.AcquireAll(ctx, reqs)
	if err != nil {
		unclaim(ms)
		return err
	}
	for i, m := range ms {
		m.h.Add(ts[i])
	}
	return nil
}

// unclaim ends LockAll's claim on ms.
func unclaim(ms []*Mutex) {
	for _, m := range ms {
		m.h.Unclaim()
	}
}
