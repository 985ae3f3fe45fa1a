package queue

import (
	"context"
	"log/slog"
	"time"
)

// CleanupTimeout bounds how long a call whose context has ended still waits
// for etcd: first for the answer to a write in flight, then for the delete
// that removes the call's entry. Both run on a fresh context (the caller's
// is dead by then). If etcd cannot be reached in that time, the call
// returns anyway and the session's cleanup worker goes on removing the
// entry until it succeeds or the session ends: until then the entry holds
// its place in the line, so "nothing left in etcd" holds once etcd is
// reachable again.
const CleanupTimeout = 3 * time.Second

// The cleanup worker's pace: a removal that failed is tried again at most
// this often, so that an entry left by a call during an outage is gone
// within about a second of etcd serving again, without hammering a
// cluster that is still down.
const (
	cleanupFirstRetry = 50 * time.Millisecond
	cleanupMaxRetry   = 250 * time.Millisecond
	cleanupAttempt    = time.Second // one delete's bound inside the worker
)

type abandonedEntry struct {
	q    *Queue
	slot int
}

// abandon removes the entry at key, which a failed or cancelled call may
// have written, and returns its slot once the entry is known gone. It tries
// once at once (bounded by CleanupTimeout) and hands the entry to the
// session's cleanup worker if that fails.
func (q *Queue) abandon(ctx context.Context, key string, slot int) {
	st := q.st
	if sessionEnded(q.s) {
		return // the lease takes the entry with it, and the slots with it
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	_, err := q.s.Client().Delete(dctx, key)
	cancel()
	if err == nil {
		st.giveSlot(slot)
		return
	}
	q.log(slog.LevelWarn, "cleanup failed, retrying in the background", slog.String("key", key), slog.Any("err", err))
	st.mu.Lock()
	st.abandoned[key] = abandonedEntry{q: q, slot: slot}
	start := !st.working
	st.working = true
	st.mu.Unlock()
	if start {
		go st.cleanup()
	}
}

// cleanup removes abandoned entries until there are none or the session
// ends. One worker per session, however many calls failed.
func (st *sessionState) cleanup() {
	backoff := cleanupFirstRetry
	for attempt := 1; ; attempt++ {
		timer := time.NewTimer(backoff)
		select {
		case <-st.s.Done():
			timer.Stop()
			st.mu.Lock()
			st.working = false
			st.mu.Unlock()
			return
		case <-timer.C:
		}
		st.mu.Lock()
		pending := make(map[string]abandonedEntry, len(st.abandoned))
		for k, e := range st.abandoned {
			pending[k] = e
		}
		st.mu.Unlock()
		for key, e := range pending {
			ctx, cancel := context.WithTimeout(st.ctx, cleanupAttempt)
			_, err := st.s.Client().Delete(ctx, key)
			cancel()
			if err != nil {
				e.q.hooks().cleanupRetried(CleanupInfo{Name: e.q.Name(), Key: key, Attempt: attempt, Err: err})
				continue
			}
			st.mu.Lock()
			delete(st.abandoned, key)
			st.mu.Unlock()
			st.giveSlot(e.slot)
		}
		st.mu.Lock()
		if len(st.abandoned) == 0 {
			st.working = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		backoff = min(2*backoff, cleanupMaxRetry)
	}
}

// logLoss logs a lost entry at warning level: someone else may hold what
// it guarded.
func (q *Queue) logLoss(t *Ticket, err error) {
	q.log(slog.LevelWarn, "entry lost", slog.String("key", t.key), slog.Int64("token", t.rev), slog.Any("err", err))
}
