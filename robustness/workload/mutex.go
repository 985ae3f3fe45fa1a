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
		w.holdLoop(ctx, c, func() (history.Record, acquireFunc) {
			lock := w.Spec.Locks[w.pick(len(w.Spec.Locks))]
			m, err := c.Mutex(lock)
			if err != nil {
				return history.Record{Lock: lock, Mode: "x"}, func(context.Context) (hold, error) { return hold{}, err }
			}
			return history.Record{Lock: lock, Mode: "x"}, mutexAcquire(m)
		}, func(ctx context.Context, call history.Record, h hold) {
			w.readModifyWrite(ctx, c, call.Op, call.Lock, Data(call.Lock, "register"), h.token, h.owner)
			w.readModifyWrite(ctx, c, call.Op, call.Lock, Data(call.Lock, "counter"), h.token)
			Sleep(ctx, w.rnd(20*time.Millisecond, 200*time.Millisecond))
		})
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
