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
		w.holdLoop(ctx, c, func() (history.Record, acquireFunc) {
			weight := 1 + w.pick(2)
			return history.Record{Lock: lock, Mode: "p", Weight: weight}, permitAcquire(sem, weight)
		}, func(ctx context.Context, call history.Record, h hold) {
			w.probe(ctx, c, history.Record{Op: call.Op, Lock: call.Lock, Token: h.token}, h.owner)
			Sleep(ctx, w.rnd(50*time.Millisecond, 300*time.Millisecond))
			w.probe(ctx, c, history.Record{Op: call.Op, Lock: call.Lock, Token: h.token}, h.owner)
		})
	})
	return nil
}
