package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/semaphore"
)

// Under a random workload with cancellations, never more than limit
// permits are held: by this process's count, and by etcd's record, read
// inside each hold through its fence.
func TestLimitUnderRandomWorkload(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit, contenders, rounds = 3, 7, 20
	var inside, maxInside, granted, cancelled atomic.Int64
	var g errgroup.Group
	for i := range contenders {
		n := newNode(t, c, i, name, limit, 10)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		g.Go(func() error {
			for range rounds {
				// Most attempts give up soon; one in three waits its turn,
				// so that permits are granted and shared however slow the
				// machine is.
				patience := time.Duration(rng.IntN(150)) * time.Millisecond
				if rng.IntN(3) == 0 {
					patience = waitLimit
				}
				ctx, cancel := context.WithTimeout(bg, patience)
				p, err := n.sm.Acquire(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						return err
					}
					cancelled.Add(1)
					continue
				}
				now := inside.Add(1)
				if now > limit {
					return fmt.Errorf("%d permits held at once, limit %d", now, limit)
				}
				for m := maxInside.Load(); now > m && !maxInside.CompareAndSwap(m, now); m = maxInside.Load() {
				}
				granted.Add(1)
				if err := fitsByRecord(n.cli, name, p, limit); err != nil {
					return err
				}
				time.Sleep(time.Duration(2+rng.IntN(15)) * time.Millisecond) // hold a while, so overlaps would show
				inside.Add(-1)
				ctx, cancel = context.WithTimeout(bg, waitLimit)
				err = p.Release(ctx)
				cancel()
				if err != nil {
					return fmt.Errorf("Release: %w", err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d grants, %d cancellations, at most %d held at once", granted.Load(), cancelled.Load(), maxInside.Load())
	if granted.Load() == 0 || cancelled.Load() == 0 {
		t.Errorf("workload did not exercise both paths: %d grants, %d cancellations", granted.Load(), cancelled.Load())
	}
	if maxInside.Load() < 2 {
		t.Errorf("at most %d permits held at once: the workload never shared the semaphore", maxInside.Load())
	}
	// A cancelled Acquire removes its entry before it returns.
	noKeys(t, testcluster.Client(t, c, 0), name)
}

// maxEventsPerAcq bounds the watch events per acquisition in TestHerdFree.
// The engine currently delivers a granted waiter's own touch back to its
// own-key watch (about 0.7 more per acquisition with limit 3); with that
// fixed this can come down to 3.
const maxEventsPerAcq = 3.0

// A release wakes only the waiter it lets in, and that grant wakes only the
// next waiter: the watch events per acquisition stay flat, about two,
// however many wait.
func TestHerdFree(t *testing.T) {
	perAcqBy := map[int]float64{}
	for _, tc := range []struct{ waiters, rounds int }{{8, 6}, {24, 3}} {
		t.Run(fmt.Sprintf("%d_waiters", tc.waiters), func(t *testing.T) {
			c := cluster(t)
			name := name(t)
			const limit = 3
			var clis []*clientv3.Client
			var calls []*testcluster.Calls
			for i := range 3 {
				cli, cl := testcluster.CountingClient(t, c, i)
				clis, calls = append(clis, cli), append(calls, cl)
			}
			contenders := limit + tc.waiters
			sms := make([]*semaphore.Semaphore, contenders)
			for i := range sms {
				s := testcluster.Session(t, clis[i%len(clis)], 10)
				sm, err := semaphore.New(s, name, limit)
				if err != nil {
					t.Fatal(err)
				}
				sms[i] = sm
			}
			events := func() (n int64) {
				for _, cl := range calls {
					n += cl.WatchEvents()
				}
				return n
			}
			before := events()
			var g errgroup.Group
			for _, sm := range sms {
				g.Go(func() error {
					for range tc.rounds {
						ctx, cancel := context.WithTimeout(bg, 3*waitLimit)
						p, err := sm.Acquire(ctx)
						cancel()
						if err != nil {
							return err
						}
						time.Sleep(2 * time.Millisecond) // hold long enough for the line to stay long
						ctx, cancel = context.WithTimeout(bg, waitLimit)
						err = p.Release(ctx)
						cancel()
						if err != nil {
							return err
						}
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			acquisitions := int64(contenders * tc.rounds)
			perAcq := float64(events()-before) / float64(acquisitions)
			var watches int
			for _, cl := range calls {
				for _, rev := range cl.WatchStartRevs() {
					watches++
					if rev != 0 {
						t.Errorf("a watch was created with start revision %d: etcd serves such watches from its 100 ms resync loop", rev)
					}
				}
			}
			t.Logf("%d waiters, limit %d: %.2f watch events per acquisition (%d acquisitions, %d watches created)",
				tc.waiters, limit, perAcq, acquisitions, watches)
			if watches == 0 {
				t.Error("no watch was created: the test did not exercise the waiting path")
			}
			// By design about two: the holder's delete to the oldest
			// waiter, its grant's touch to the next. A waiter's watches
			// live on briefly after its grant and may catch one more on a
			// loaded machine. A herd wakes every waiter: 8 or 24 here.
			if perAcq > maxEventsPerAcq {
				t.Errorf("%.2f watch events per acquisition with %d waiters, want at most %.1f: a release wakes more than the waiter it lets in", perAcq, tc.waiters, maxEventsPerAcq)
			}
			perAcqBy[tc.waiters] = perAcq
			noKeys(t, clis[0], name)
		})
	}
	// A herd grows with the line (every waiter woken by every release);
	// this must not.
	if few, many := perAcqBy[8], perAcqBy[24]; few > 0 && many > few+1 {
		t.Errorf("watch events per acquisition grow with the line: %.2f with 8 waiters, %.2f with 24", few, many)
	}
}
