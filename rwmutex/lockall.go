package rwmutex

import (
	"context"

	"github.com/fairlock/fairlock/queue"
)

// Hold names one hold of a LockAll: the read or the write side of an
// RWMutex.
type Hold struct {
	RW   *RWMutex
	Read bool
}

// LockAll takes every hold at once, without deadlock, as
// fairmutex.LockAll does for mutexes: one etcd transaction joins every
// line, so all the new entries share one create revision and any two
// LockAll callers are ordered the same way in every line they share. The
// common case is a read hold of one lock and a write hold of another. On
// error or cancellation nothing is held and nothing is left in etcd. The
// RWMutexes must share one session, name different locks
// (ErrDuplicateLine), and a write hold must not be held already
// (ErrAlreadyLocked). Each hold is then released on its own, with Unlock or
// RUnlock.
func LockAll(ctx context.Context, holds ...Hold) error {
	reqs := make([]queue.Request, len(holds))
	for i, h := range holds {
		if err := h.RW.usable(); err != nil {
			return err
		}
		reqs[i] = queue.Request{Queue: h.RW.q, Value: h.RW.q.Identity(), Shared: h.Read}
	}
	if err := queue.CheckLines(reqs); err != nil {
		return err
	}
	// Read holds of one value may pile up, as RLock's do; a write hold is
	// one at a time.
	claimed := holds[:0:0]
	unclaim := func() {
		for _, h := range claimed {
			h.RW.writer.Unclaim()
		}
	}
	for _, h := range holds {
		if h.Read {
			continue
		}
		if !h.RW.writer.Claim() {
			unclaim()
			return ErrAlreadyLocked
		}
		claimed = append(claimed, h)
	}
	ts, err := queue.AcquireAll(ctx, reqs)
	if err != nil {
		unclaim()
		return err
	}
	for i, h := range holds {
		if h.Read {
			h.RW.readers.Add(ts[i])
		} else {
			h.RW.writer.Add(ts[i])
		}
	}
	return nil
}
