package queue

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// CleanupTimeout bounds how long any call of this module still takes once
// its context has ended: waiting for etcd's answer to a write in flight and
// removing what the call wrote, together, for every entry of the call at
// once (LockAll and AcquireAll included). If etcd cannot be reached in that
// time the call returns anyway, and the session's cleanup worker goes on
// removing its entries until it succeeds or the session ends: until then
// they hold their places in their lines, so "nothing left in etcd" holds
// once etcd is reachable again.
const CleanupTimeout = 3 * time.Second

// The cleanup worker's pace: a removal that failed is tried again at most
// this often, so that an entry left by a call during an outage is gone
// within about a second of etcd serving again, without hammering a
// cluster that is still down.
const (
	cleanupFirstRetry = 50 * time.Millisecond
	cleanupMaxRetry   = 250 * time.Millisecond
	cleanupAttempt    = time.Second // one removal's bound inside the worker
)

// abandonedEntry is an entry for the cleanup worker to remove.
type abandonedEntry struct {
	q    *Queue
	key  string
	slot int
	// rev is the entry's create revision when known: only that entry is
	// deleted. 0 means the write's outcome is unknown; the slot is
	// quarantined then, so whatever is on the key is the abandoned write's.
	rev     int64
	tainted bool          // the slot never returns to use (see releaseSlot)
	removed chan struct{} // closed once the entry is known gone, or etcd refuses to remove it (giveUp)
}

// abandon hands entries that a failed or cancelled call may have left to
// the session's cleanup worker, the one place that removes them, and waits
// until they are all gone or the deadline passes, whichever is first. The
// worker removes them all at once and goes on after the deadline, until
// it succeeds or the session ends.
func (st *sessionState) abandon(deadline time.Time, entries ...*abandonedEntry) {
	if len(entries) == 0 {
		return
	}
	if sessionEnded(st.s) {
		return // the lease takes the entries with it, and the slots with it
	}
	st.mu.Lock()
	for _, e := range entries {
		e.removed = make(chan struct{})
		st.abandoned[e.key] = e
	}
	start := !st.working
	st.working = true
	st.mu.Unlock()
	if start {
		go st.cleanup()
	} else {
		select {
		case st.kick <- struct{}{}:
		default:
		}
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for _, e := range entries {
		select {
		case <-e.removed:
		case <-timer.C:
			e.q.log(slog.LevelWarn, "cleanup goes on in the background", slog.String("key", e.key))
			return
		case <-st.s.Done():
			return
		}
	}
}

// cleanup removes abandoned entries until there are none or the session
// ends: one worker per session, however many calls failed. Each round
// removes every pending entry at once.
func (st *sessionState) cleanup() {
	backoff := cleanupFirstRetry
	for attempt := 1; ; attempt++ {
		st.mu.Lock()
		pending := make([]*abandonedEntry, 0, len(st.abandoned))
		for _, e := range st.abandoned {
			pending = append(pending, e)
		}
		if len(pending) == 0 || st.ctx.Err() != nil {
			st.working = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		var wg sync.WaitGroup
		failed := make([]bool, len(pending))
		for i, e := range pending {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(st.ctx, cleanupAttempt)
				err := e.q.remove(ctx, e.key, e.rev)
				cancel()
				if etcderr.IsRefused(err) {
					st.giveUp(e, err)
					return
				}
				if err != nil {
					failed[i] = true
					e.q.hooks().cleanupRetried(CleanupInfo{Name: e.q.Name(), Key: e.key, Attempt: attempt, Err: err})
					return
				}
				st.mu.Lock()
				delete(st.abandoned, e.key)
				st.mu.Unlock()
				// Unknown outcome: the write may still land; quarantine.
				st.releaseSlot(e.q, e.key, e.slot, e.tainted || e.rev == 0)
				close(e.removed)
			}()
		}
		wg.Wait()
		if !slices.Contains(failed, true) {
			backoff = cleanupFirstRetry
			continue
		}
		timer := time.NewTimer(backoff)
		select {
		case <-st.s.Done():
			timer.Stop()
		case <-st.kick:
			timer.Stop()
		case <-timer.C:
		}
		backoff = min(2*backoff, cleanupMaxRetry)
	}
}

// giveUp stops trying to remove an abandoned entry that etcd refuses to
// remove for good (permission denied, ...): no retry mends that, and
// retrying every 250 ms for the rest of the session only loads etcd. The
// entry stays until the session's lease ends, and its slot stays out of
// use; the call waiting for its removal returns.
func (st *sessionState) giveUp(e *abandonedEntry, err error) {
	e.q.log(slog.LevelError, "etcd refuses to remove an entry: it stays until the session ends",
		slog.String("key", e.key), slog.Int64("token", e.rev), slog.Any("err", err))
	st.mu.Lock()
	delete(st.abandoned, e.key)
	st.mu.Unlock()
	close(e.removed)
}

// quarantine takes a slot out of use for the rest of the session and
// removes any entry that appears on its key: a write of it whose outcome
// was unknown may be applied at any later time (a proposal etcd had taken
// before the call gave up), and would otherwise hold a place in the line
// that nobody owns. One watch per quarantined slot, from now on, covered by
// a read once it is in place, as every watch of this package.
func (st *sessionState) quarantine(q *Queue, key string, slot int) {
	st.mu.Lock()
	if _, ok := st.quarantined[key]; ok || st.ctx.Err() != nil {
		st.mu.Unlock()
		return
	}
	st.quarantined[key] = slot
	st.mu.Unlock()
	go func() {
		events := make(chan watchEvent)
		for st.ctx.Err() == nil {
			wctx, cancel := context.WithCancel(st.ctx)
			go watchKey(wctx, st.s.Client(), key, events)
			err := st.removeStrays(wctx, q, key, events)
			cancel()
			if etcderr.IsRefused(err) {
				// Watching again every 50 ms would change nothing. An entry
				// a late write puts there stays until the session ends.
				q.log(slog.LevelError, "etcd refuses to watch a slot taken out of use: stopped watching it",
					slog.String("key", key), slog.Any("err", err))
				return
			}
			select {
			case <-st.ctx.Done():
			case <-time.After(brokenWatchPause):
			}
		}
	}()
}

// removeStrays follows one watch of a quarantined key, removing every
// entry written on it, until the watch breaks or ctx ends; it returns
// etcd's reason, if it gave one.
func (st *sessionState) removeStrays(ctx context.Context, q *Queue, key string, events <-chan watchEvent) error {
	for {
		var ev watchEvent
		select {
		case <-ctx.Done():
			return nil
		case ev = <-events:
		}
		switch {
		case ev.broken:
			return ev.err
		case ev.created:
			get, err := st.s.Client().Get(ctx, key, clientv3.WithKeysOnly())
			if err != nil {
				return err
			}
			for _, kv := range get.Kvs {
				st.removeStray(q, key, kv.CreateRevision)
			}
		case ev.put:
			st.removeStray(q, key, ev.rev)
		}
	}
}

func (st *sessionState) removeStray(q *Queue, key string, rev int64) {
	q.log(slog.LevelWarn, "removing an entry written late by a call that gave up", slog.String("key", key), slog.Int64("token", rev))
	st.mu.Lock()
	st.abandoned[key] = &abandonedEntry{q: q, key: key, rev: rev, tainted: true, removed: make(chan struct{})}
	start := !st.working
	st.working = true
	st.mu.Unlock()
	if start {
		go st.cleanup()
	}
}

// remove deletes the entry at key, and any request that its holder yield:
// the entry at create revision rev only, when rev is known (not 0),
// whatever is there otherwise.
func (q *Queue) remove(ctx context.Context, key string, rev int64) error {
	del := []clientv3.Op{clientv3.OpDelete(key)}
	if ask, ok := q.layout.YieldRequest(key); ok {
		del = append(del, clientv3.OpDelete(ask))
	}
	txn := q.s.Client().Txn(ctx)
	if rev != 0 {
		txn = txn.If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev))
	}
	_, err := txn.Then(del...).Commit()
	return err
}

// logLoss logs a lost entry at warning level: someone else may hold what
// it guarded.
func (q *Queue) logLoss(t *Ticket, err error) {
	q.log(slog.LevelWarn, "entry lost", slog.String("key", t.key), slog.Int64("token", t.rev), slog.Any("err", err))
}
