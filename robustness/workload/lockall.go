package workload

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/robustness/history"
)

// lockSets are LockAll's sets: each shares a lock with two others, so a
// fair LockAll that deadlocked would show.
var lockSets = [][]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 1, 2}, {1, 3}}

// runLockAll: LockAll over one of lockSets, a probe fenced by every hold
// at once, then each Unlock.
func runLockAll(ctx context.Context, w *Worker) error {
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		for live(ctx, c) {
			set := lockSets[w.pick(len(lockSets))]
			locks := make([]string, len(set))
			ms := make([]*fairmutex.Mutex, len(set))
			for i, j := range set {
				locks[i] = w.Spec.Locks[j]
				m, err := c.Mutex(locks[i])
				if err != nil {
					w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
					return
				}
				ms[i] = m
			}
			op := w.nextOp()
			w.Rec(history.Record{Kind: history.Call, Op: op, Locks: locks, Mode: "x"})
			actx, cancel := context.WithTimeout(ctx, Patience)
			err := fairmutex.LockAll(actx, ms...)
			cancel()
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
				Sleep(ctx, 50*time.Millisecond)
				continue
			}
			tokens := make([]int64, len(ms))
			cmps := make([]clientv3.Cmp, len(ms))
			done := make(chan struct{})
			stop := make(chan struct{})
			var once sync.Once
			for i, m := range ms {
				tokens[i], cmps[i] = m.Token(), m.IsOwner()
				go func(d <-chan struct{}) { // the hold ends when any lock's does
					select {
					case <-d:
						once.Do(func() { close(done) })
					case <-stop:
					}
				}(m.Done())
			}
			until := func() time.Time { // the earliest: each lock's HeldUntil is the session's
				var u time.Time
				for _, m := range ms {
					if h := m.HeldUntil(); u.IsZero() || (!h.IsZero() && h.Before(u)) {
						u = h
					}
				}
				return u
			}
			w.Rec(history.Record{Kind: history.Grant, Op: op, Locks: locks, Mode: "x", Tokens: tokens,
				Until: unixNano(until())})
			w.holding(ctx, op, done, until, "release", func(ctx context.Context) {
				w.probe(ctx, c, history.Record{Op: op, Locks: locks, Tokens: tokens}, cmps...)
				Sleep(ctx, w.rnd(20*time.Millisecond, 150*time.Millisecond))
			})
			close(stop)
			released := w.release(op, func(ctx context.Context) error {
				var errs []error
				for _, m := range ms {
					if err := m.Unlock(ctx); !settled(err) { // one settled stays so: ErrNotLocked next time
						errs = append(errs, err)
					}
				}
				return errors.Join(errs...)
			})
			if !released {
				return // the session ends: its revocation removes the entries
			}
		}
	})
	return nil
}
