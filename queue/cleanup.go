package queue

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/internal/slot"
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
	cleanupAttempt    = AttemptTimeout // one removal's bound inside the worker
)

// cleanup is the one place that removes what calls gave up: entries of
// cancelled or failed calls, abandoned tickets, strays on quarantined keys.
// One worker per session removes them, each call's set in one transaction
// (see deleteTxn), and retries until it succeeds or the session ends.
type cleanup struct {
	ctx   context.Context // the session's
	cli   *clientv3.Client
	slots *slots
	w     *worker

	mu      sync.Mutex
	pending []*removal
}

// removal is one set of entries to remove together.
type removal struct {
	entries []entry
	removed chan struct{} // closed once they are known gone, or etcd refuses to remove them (giveUp)
}

func newCleanup(ctx context.Context, cli *clientv3.Client, sl *slots) *cleanup {
	c := &cleanup{ctx: ctx, cli: cli, slots: sl}
	c.w = newWorker(c.run, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == 0 || c.ctx.Err() != nil
	})
	return c
}

// abandon hands a set of entries to the worker and returns their removal,
// to wait for; nil when the session has ended (the lease takes the entries
// with it, and the slots with it).
func (c *cleanup) abandon(es ...entry) *removal {
	if len(es) == 0 || c.ctx.Err() != nil || sessionEnded(es[0].q.s) {
		return nil
	}
	r := &removal{entries: es, removed: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, r)
	c.mu.Unlock()
	c.w.kick()
	return r
}

// wait waits until r's entries are removed, bound ends or the session
// does, whichever is first; the worker goes on after it returns.
func (r *removal) wait(bound context.Context, c *cleanup) {
	if r == nil {
		return
	}
	select {
	case <-r.removed:
	case <-c.ctx.Done():
	case <-bound.Done():
		e := r.entries[0]
		e.q.log(slog.LevelWarn, "cleanup goes on in the background", slog.String("key", e.key))
	}
}

// run removes the pending sets, all at once each round, until none is
// left or the session ends. A round with failures is followed by a pause
// (see cleanupMaxRetry), cut short by a new abandon.
func (c *cleanup) run(wake <-chan struct{}) {
	backoff := cleanupFirstRetry
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		pending := slices.Clone(c.pending)
		c.mu.Unlock()
		if len(pending) == 0 || c.ctx.Err() != nil {
			return
		}
		if c.removeAll(pending, attempt) {
			backoff = cleanupFirstRetry
			continue
		}
		timer := time.NewTimer(backoff)
		select {
		case <-c.ctx.Done():
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
		backoff = min(2*backoff, cleanupMaxRetry)
	}
}

// removeAll tries every pending set at once; it reports whether all went.
func (c *cleanup) removeAll(pending []*removal, attempt int) bool {
	var wg sync.WaitGroup
	failed := make([]bool, len(pending))
	for i, r := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(c.ctx, cleanupAttempt)
			_, err := deleteTxn(c.cli.Txn(ctx), r.entries).Commit()
			cancel()
			if etcderr.IsRefused(err) {
				c.giveUp(r, err)
				return
			}
			if err != nil {
				failed[i] = true
				for _, e := range r.entries {
					e.q.hooks().cleanupRetried(CleanupInfo{Name: e.q.Name(), Key: e.key, Attempt: attempt, Err: err})
				}
				return
			}
			c.mu.Lock()
			c.pending = slices.DeleteFunc(c.pending, func(p *removal) bool { return p == r })
			c.mu.Unlock()
			c.slots.moveAll(r.entries, slot.Gone)
			close(r.removed)
		}()
	}
	wg.Wait()
	return !slices.Contains(failed, true)
}

// giveUp stops trying to remove a set that etcd refuses to remove for good
// (permission denied, ...): no retry mends that, and retrying every 250 ms
// for the rest of the session only loads etcd. The entries stay until the
// session's lease ends, their slots stay out of use (never Gone), and the
// call waiting for the removal returns.
func (c *cleanup) giveUp(r *removal, err error) {
	e := r.entries[0]
	e.q.log(slog.LevelError, "etcd refuses to remove entries: they stay until the session ends",
		slog.String("key", e.key), slog.Int("entries", len(r.entries)), slog.Any("err", err))
	c.mu.Lock()
	c.pending = slices.DeleteFunc(c.pending, func(p *removal) bool { return p == r })
	c.mu.Unlock()
	close(r.removed)
}

// logLoss logs a lost entry at warning level: someone else may hold what
// it guarded.
func (q *Queue) logLoss(t *Ticket, err error) {
	q.log(slog.LevelWarn, "entry lost", slog.String("key", t.key), slog.Int64("token", t.rev), slog.Any("err", err))
}
