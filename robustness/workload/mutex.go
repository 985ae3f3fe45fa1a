package workload

import (
	"context"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/robustness/history"
)

// runMutex: Lock one of the locks, then under the hold a read-modify-write
// of the lock's register, the write fenced by IsOwner (Jepsen's
// lock-etcd-set), and the same on a counter without the fence; Unlock.
func runMutex(ctx context.Context, w *Worker) error {
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		for live(ctx, c) {
			lock := w.Spec.Locks[w.pick(len(w.Spec.Locks))]
			m, err := c.Mutex(lock)
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
				return
			}
			op := w.nextOp()
			w.Rec(history.Record{Kind: history.Call, Op: op, Lock: lock, Mode: "x"})
			actx, cancel := context.WithTimeout(ctx, Patience)
			err = m.Lock(actx)
			cancel()
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
				Sleep(ctx, 50*time.Millisecond)
				continue
			}
			w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: "x", Token: m.Token(),
				Until: unixNano(m.HeldUntil())})
			w.holding(ctx, op, m.Done(), m.HeldUntil, "release", func(ctx context.Context) {
				w.readModifyWrite(ctx, c, op, lock, Data(lock, "register"), m.Token(), m.IsOwner())
				w.readModifyWrite(ctx, c, op, lock, Data(lock, "counter"), m.Token())
				Sleep(ctx, w.rnd(20*time.Millisecond, 200*time.Millisecond))
			})
			if !w.release(op, m.Unlock) {
				return // the session ends: its revocation removes the entry
			}
		}
	})
	return nil
}

// readModifyWrite reads the integer at key and writes it plus one, the
// write fenced by fence when given: one operation of the register's
// history, from before the read to after the write.
func (w *Worker) readModifyWrite(ctx context.Context, c *fairlock.Client, op int64, lock, key string, token int64,
	fence ...clientv3.Cmp) {
	call := history.Now()
	read, err := readInt(ctx, c, key)
	if err != nil {
		return // no operation: nothing was written
	}
	wctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	mode := "unfenced"
	if len(fence) > 0 {
		mode = "fenced"
	}
	resp, err := c.Etcd().Txn(wctx).If(fence...).Then(clientv3.OpPut(key, strconv.FormatInt(read+1, 10))).Commit()
	out, rev := outcome(resp, err)
	w.Rec(history.Record{Kind: history.Register, Op: op, Call: call, Lock: lock, Key: key, Mode: mode, Token: token,
		Read: read, Outcome: out, Rev: rev})
}
