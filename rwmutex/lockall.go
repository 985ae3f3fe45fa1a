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
	claimed := 0
	defer func() {
		for _, h := range holds[:claimed] {
			if !h.Read {
				h.RW.mu.Lock()
				h.RW.joining = false
				h.RW.mu.Unlock()
			}
		}
	}()
	for i, h := range holds {
		if err := h.RW.usable(); err != nil {
			return err
		}
		// Read holds of one value may pile up, as RLock's do; a write hold
		// is one at a time.
		h.RW.mu.Lock()
		busy := !h.Read && (h.RW.joining || h.RW.writer != nil)
		if !busy && !h.Read {
			h.RW.joining = true
		}
		h.RW.mu.Unlock()
		if busy {
			return ErrAlreadyLocked
		}
		claimed = i + 1
		reqs[i] = queue.Request{Queue: h.RW.q, Value: h.RW.q.Identity(), Shared: h.Read}
	}
	ts, err := queue.AcquireAll(ctx, reqs)
	if err != nil {
		return err
	}
	for i, h := range holds {
		if h.Read {
			h.RW.addReader(ts[i])
		} else {
			h.RW.setWriter(ts[i])
		}
	}
	return nil
}
