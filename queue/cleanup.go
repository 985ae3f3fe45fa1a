package queue

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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
	rev  int64 // the entry's create revision if known: delete only that one
}

// abandon removes the entry at key, which a failed or cancelled call may
// have written, and returns its slot once the entry is known gone. It tries
// once at once (bounded by CleanupTimeout) and hands the entry to the
// session's cleanup worker if that fails.
func (q *Queue) abandon(ctx context.Context, key string, slot int) {
	q.abandonRev(ctx, key, slot, 0)
}

// abandonRev is abandon for an entry whose create revision is known (a
// stray found on a slot): only that entry is deleted, so a delete applied
// late can never remove a newer entry on the same key.
func (q *Queue) abandonRev(ctx context.Context, key string, slot int, rev int64) {
	st := q.st
	if sessionEnded(q.s) {
		return // the lease takes the entry with it, and the slots with it
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	err := remove(dctx, q.s.Client(), key, rev)
	cancel()
	if err == nil {
		st.giveSlot(slot)
		return
	}
	q.log(slog.LevelWarn, "cleanup failed, retrying in the background", slog.String("key", key), slog.Any("err", err))
	st.mu.Lock()
	st.abandoned[key] = abandonedEntry{q: q, slot: slot, rev: rev}
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
			err := remove(ctx, st.s.Client(), key, e.rev)
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

// remove deletes key: the entry at create revision rev only, when rev is
// known (not 0), whatever is there otherwise.
func remove(ctx context.Context, cli *clientv3.Client, key string, rev int64) error {
	if rev == 0 {
		_, err := cli.Delete(ctx, key)
		return err
	}
	_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev)).Then(clientv3.OpDelete(key)).Commit()
	return err
}

// logLoss logs a lost entry at warning level: someone else may hold what
// it guarded.
func (q *Queue) logLoss(t *Ticket, err error) {
	q.log(slog.LevelWarn, "entry lost", slog.String("key", t.key), slog.Int64("token", t.rev), slog.Any("err", err))
}
