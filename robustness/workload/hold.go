package workload

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/semaphore"
)

// hold is what holdLoop needs of a hold, whatever its primitive.
type hold struct {
	token   int64
	weight  int // a permit's; 0 for the others
	done    <-chan struct{}
	until   func() time.Time
	owner   clientv3.Cmp
	release func(ctx context.Context) error
}

// acquireFunc takes a hold, or fails, by ctx's end at the latest.
type acquireFunc func(ctx context.Context) (hold, error)

// mutexAcquire Locks m.
func mutexAcquire(m *fairmutex.Mutex) acquireFunc {
	return func(ctx context.Context) (hold, error) {
		if err := m.Lock(ctx); err != nil {
			return hold{}, err
		}
		return hold{token: m.Token(), done: m.Done(), until: m.HeldUntil, owner: m.IsOwner(), release: m.Unlock}, nil
	}
}

// permitAcquire acquires a permit of weight from sem.
func permitAcquire(sem *semaphore.Semaphore, weight int) acquireFunc {
	return func(ctx context.Context) (hold, error) {
		p, err := sem.AcquireN(ctx, weight)
		if err != nil {
			return hold{}, err
		}
		return hold{token: p.Token(), weight: p.Weight(), done: p.Done(), until: p.HeldUntil, owner: p.IsOwner(),
			release: p.Release}, nil
	}
}

// holdLoop takes holds one after another while c's session lives: next
// says what the call is (its record, less Kind and Op) and how to make it;
// the call waits up to Patience, its grant or failure is written down,
// body runs under the hold (see holding) and the hold is released (see
// release). It returns when the session ends, or when a release did not
// settle: the caller must then end the session, whose revocation removes
// the entry.
func (w *Worker) holdLoop(ctx context.Context, c *fairlock.Client, next func() (history.Record, acquireFunc),
	body func(ctx context.Context, call history.Record, h hold)) {
	for live(ctx, c) {
		call, acquire := next()
		op := w.nextOp()
		call.Kind, call.Op = history.Call, op
		w.Rec(call)
		actx, cancel := context.WithTimeout(ctx, Patience)
		h, err := acquire(actx)
		cancel()
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
			Sleep(ctx, 50*time.Millisecond)
			continue
		}
		grant := call
		grant.Kind, grant.Token, grant.Until = history.Grant, h.token, unixNano(h.until())
		if h.weight > 0 {
			grant.Weight = h.weight
		}
		w.Rec(grant)
		w.holding(ctx, op, h.done, h.until, "release", func(ctx context.Context) { body(ctx, call, h) })
		if !w.release(op, h.release) {
			return
		}
	}
}
