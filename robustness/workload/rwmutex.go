package workload

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/robustness/history"
)

// runRWMutex: mostly readers, which read the lock's state a few times
// under the read hold, fenced; sometimes a writer, which writes the state
// "writing:TOKEN", waits, then "idle:TOKEN", both fenced. A reader must
// never see a write in progress.
func runRWMutex(ctx context.Context, w *Worker) error {
	lock := w.Spec.Locks[0]
	state := Data(lock, "state")
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		for live(ctx, c) {
			rw, err := c.RWMutex(lock)
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
				return
			}
			write := w.pick(3) == 0
			mode, lockFn := "s", rw.RLock
			if write {
				mode, lockFn = "x", rw.Lock
			}
			op := w.nextOp()
			w.Rec(history.Record{Kind: history.Call, Op: op, Lock: lock, Mode: mode})
			actx, cancel := context.WithTimeout(ctx, Patience)
			err = lockFn(actx)
			cancel()
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
				Sleep(ctx, 50*time.Millisecond)
				continue
			}
			if write {
				w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: mode, Token: rw.Token(),
					Until: unixNano(rw.HeldUntil())})
				w.holding(ctx, op, rw.Done(), rw.HeldUntil, "release", func(ctx context.Context) {
					tok := rw.Token()
					if w.fencedPut(ctx, c, op, lock, tok, state, fmt.Sprintf("writing:%d", tok), rw.IsOwner()) {
						Sleep(ctx, w.rnd(30*time.Millisecond, 150*time.Millisecond))
						w.fencedPut(ctx, c, op, lock, tok, state, fmt.Sprintf("idle:%d", tok), rw.IsOwner())
					}
				})
				if !w.release(op, rw.Unlock) {
					return // the session ends: its revocation removes the entry
				}
				continue
			}
			w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: mode, Token: rw.RToken(),
				Until: unixNano(rw.RHeldUntil())})
			w.holding(ctx, op, rw.RDone(), rw.RHeldUntil, "release", func(ctx context.Context) {
				for i := 0; i < 3 && ctx.Err() == nil; i++ {
					w.fencedGet(ctx, c, op, lock, rw.RToken(), state, rw.RIsOwner())
					Sleep(ctx, w.rnd(10*time.Millisecond, 60*time.Millisecond))
				}
			})
			if !w.release(op, rw.RUnlock) {
				return
			}
		}
	})
	return nil
}

// fencedPut writes value at key if fence holds, and reports whether it was
// written.
func (w *Worker) fencedPut(ctx context.Context, c *fairlock.Client, op int64, lock string, token int64,
	key, value string, fence clientv3.Cmp) bool {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	call := history.Now()
	resp, err := c.Etcd().Txn(ctx).If(fence).Then(clientv3.OpPut(key, value)).Commit()
	out, rev := outcome(resp, err)
	w.Rec(history.Record{Kind: history.Fenced, Op: op, Call: call, Lock: lock, Token: token, Key: key, Value: value,
		Outcome: out, Rev: rev})
	return out == history.OK
}

// fencedGet reads key if fence holds.
func (w *Worker) fencedGet(ctx context.Context, c *fairlock.Client, op int64, lock string, token int64, key string,
	fence clientv3.Cmp) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	call := history.Now()
	resp, err := c.Etcd().Txn(ctx).If(fence).Then(clientv3.OpGet(key)).Commit()
	out, rev := outcome(resp, err)
	r := history.Record{Kind: history.Seen, Op: op, Call: call, Lock: lock, Token: token, Key: key, Outcome: out, Rev: rev}
	if out == history.OK {
		if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
			r.Value = string(kvs[0].Value)
		}
	}
	w.Rec(r)
}
