package workload

import (
	"context"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/robustness/history"
)

// runSemaphore: AcquireN of weight 1 or 2 (the limit is the Spec's), a
// fenced probe under the permit, Release.
func runSemaphore(ctx context.Context, w *Worker) error {
	lock := w.Spec.Locks[0]
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		sem, err := c.Semaphore(lock, w.Spec.Limit)
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
			return
		}
		for live(ctx, c) {
			weight := 1 + w.pick(2)
			op := w.nextOp()
			w.Rec(history.Record{Kind: history.Call, Op: op, Lock: lock, Mode: "p", Weight: weight})
			actx, cancel := context.WithTimeout(ctx, Patience)
			p, err := sem.AcquireN(actx, weight)
			cancel()
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
				Sleep(ctx, 50*time.Millisecond)
				continue
			}
			w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: "p", Weight: p.Weight(), Token: p.Token(),
				Until: unixNano(p.HeldUntil())})
			w.holding(ctx, op, p.Done(), p.HeldUntil, "release", func(ctx context.Context) {
				w.probe(ctx, c, history.Record{Op: op, Lock: lock, Token: p.Token()}, p.IsOwner())
				Sleep(ctx, w.rnd(50*time.Millisecond, 300*time.Millisecond))
				w.probe(ctx, c, history.Record{Op: op, Lock: lock, Token: p.Token()}, p.IsOwner())
			})
			if !w.release(op, p.Release) {
				return // the session ends: its revocation removes the entry
			}
		}
	})
	return nil
}
