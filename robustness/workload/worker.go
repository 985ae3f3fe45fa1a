package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/rwmutex"
)

// Worker is one worker process's setting and its history.
type Worker struct {
	Name      string // "mutex-1"
	Proc      string // "mutex-1#2": the name and the incarnation
	Role      string // "observer" for an election observer, "" otherwise
	Endpoints []string
	TTL       time.Duration
	Hist      *history.Writer
	Rand      *rand.Rand
	Spec      Spec
	// Fairlock is the fairlock command's binary, Self this worker's (the
	// exec workload runs it as the job), Jobs the history its jobs write.
	Fairlock, Self, Jobs string

	mu sync.Mutex
	op int64
}

// Rec writes r, stamped now and with the process's name.
func (w *Worker) Rec(r history.Record) {
	if r.T == 0 {
		r.T = history.Now()
	}
	r.Proc = w.Proc
	w.Hist.Write(r)
}

func (w *Worker) nextOp() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.op++
	return w.op
}

// rnd is a random duration in [lo, hi).
func (w *Worker) rnd(lo, hi time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return lo + time.Duration(w.Rand.Int64N(int64(hi-lo)))
}

func (w *Worker) pick(n int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Rand.IntN(n)
}

// Session runs fn on a connected Client until ctx ends, connecting again
// whenever fn returns because the session ended (a pause or a cut past the
// TTL, an outage): a worker goes on until it is stopped.
func (w *Worker) Session(ctx context.Context, fn func(ctx context.Context, c *fairlock.Client)) {
	for ctx.Err() == nil {
		c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: w.Endpoints, TTL: w.TTL, Identity: w.Proc,
			DialTimeout: 5 * time.Second})
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Err: "connect: " + err.Error()})
			Sleep(ctx, 200*time.Millisecond)
			continue
		}
		w.Rec(history.Record{Kind: history.Start, Lease: int64(c.Session().Lease())})
		fn(ctx, c)
		closeCtx, cancel := context.WithTimeout(context.Background(), ReleaseTimeout)
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-closeCtx.Done(): // the lease expires by itself
		}
		cancel()
	}
}

// live reports whether c's session goes on.
func live(ctx context.Context, c *fairlock.Client) bool {
	select {
	case <-c.Done():
		return false
	default:
		return ctx.Err() == nil
	}
}

// Sleep waits d, or until ctx ends; it reports whether it waited d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// unixNano is t in ns since the epoch, 0 for the zero time (not known).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// errText is err's text for a record, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// holding runs body while a hold lasts, with a context that ends when done
// closes (the hold ended) or ctx ends, sampling until (the hold's
// HeldUntil) meanwhile. It writes the End record: "done" at once when done
// closes first, why otherwise, after body returns.
func (w *Worker) holding(ctx context.Context, op int64, done <-chan struct{}, until func() time.Time,
	why string, body func(ctx context.Context)) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	end := func(why string) { once.Do(func() { w.Rec(history.Record{Kind: history.End, Op: op, Value: why}) }) }
	stopped := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		last := until()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				end("done")
				cancel()
				return
			case <-stopped:
				return
			case <-tick.C:
				if u := until(); !u.IsZero() && !u.Equal(last) {
					last = u
					w.Rec(history.Record{Kind: history.Until, Op: op, Until: unixNano(u)})
				}
			}
		}
	}()
	body(hctx)
	if ctx.Err() != nil {
		why = "stopped"
	}
	end(why)
	close(stopped)
	<-sampled
}

// release releases a hold as a careful user does: a release whose outcome
// is unknown (its context ended, etcd did not answer) leaves the hold in
// place, restored for another release, and its entry in the line, where
// it blocks everyone behind it (the caller's next Lock included) until
// the session ends. So it tries again, each try bounded by ReleaseTimeout
// and written down, until the hold is settled (released, found lost, or no
// longer held) or ReleaseGiveUp has passed; it reports whether it settled.
// A caller whose release did not settle ends its session: the lease's
// revocation removes the entry.
func (w *Worker) release(op int64, fn func(ctx context.Context) error) bool {
	deadline := time.Now().Add(ReleaseGiveUp)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), ReleaseTimeout)
		err := fn(ctx)
		cancel()
		w.Rec(history.Record{Kind: history.Release, Op: op, Err: errText(err)})
		if settled(err) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled reports whether a release's error leaves nothing held: nil, or
// the hold found lost or not held.
func settled(err error) bool {
	for _, done := range []error{fairlock.ErrLost, fairlock.ErrSessionExpired, fairlock.ErrNotLocked,
		rwmutex.ErrNotLocked, fairlock.ErrNotRLocked, fairlock.ErrReleased, fairlock.ErrNotLeader} {
		if errors.Is(err, done) {
			return true
		}
	}
	return err == nil
}

// probe commits a read-only transaction fenced by cmps and writes at which
// revision it held: etcd's record must show the hold entitled there.
//
// The transaction reads a key: etcd serves a transaction without any
// operation as a serializable read (server/etcdserver/txn.IsTxnSerializable
// is true of an empty one), from whatever member the client talks to, at
// that member's revision, however stale: a probe of that kind proves
// nothing (the suite's first runs "found" a permit granted early that way).
func (w *Worker) probe(ctx context.Context, c *fairlock.Client, r history.Record, cmps ...clientv3.Cmp) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	r.Kind, r.Call = history.Fenced, history.Now()
	resp, err := c.Etcd().Txn(ctx).If(cmps...).Then(clientv3.OpGet(Prefix+"probe", clientv3.WithCountOnly())).Commit()
	r.Outcome, r.Rev = outcome(resp, err)
	w.Rec(r)
}

// outcome reads a fenced transaction's result.
func outcome(resp *clientv3.TxnResponse, err error) (string, int64) {
	switch {
	case err != nil:
		return history.Unknown, 0
	case !resp.Succeeded:
		return history.Refused, resp.Header.Revision
	}
	return history.OK, resp.Header.Revision
}

// readInt reads an integer register (0 when absent).
func readInt(ctx context.Context, c *fairlock.Client, key string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	resp, err := c.Etcd().Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, errors.New("fairlock: robustness: register " + key + " holds " + strconv.Quote(string(resp.Kvs[0].Value)))
	}
	return n, nil
}
