package lockall_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// runFor is how long the workloads run: long enough for many rounds of
// every caller, short enough for the suite.
const runFor = 3 * time.Second

// exclusive checks one line held by exclusive holders only: one holder at
// a time, and tokens rising in the order of the grants (FIFO: the engine
// serves a line in create-revision order).
type exclusive struct {
	name   string
	inside atomic.Int32
	last   atomic.Int64 // token of the last grant; written by the holder only
}

func (l *exclusive) enter(token int64) error {
	if n := l.inside.Add(1); n != 1 {
		return fmt.Errorf("%s: %d holders at once", l.name, n)
	}
	if last := l.last.Load(); token <= last {
		return fmt.Errorf("%s: granted token %d after token %d: not in line order", l.name, token, last)
	}
	l.last.Store(token)
	return nil
}

func (l *exclusive) leave() { l.inside.Add(-1) }

// Two callers lock {A, B} and {B, A} at once, over and over, while two
// others lock A alone and B alone. Taken one by one in those orders, the
// two multi-lockers would deadlock; with LockAll every call returns within
// its deadline, each line has one holder at a time, grants follow the line
// order, and a LockAll's holds share one token.
func TestOppositeOrdersNeverDeadlock(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	lines := map[string]*exclusive{"/A": {name: "/A"}, "/B": {name: "/B"}}
	type caller struct {
		who   string
		locks []string // names, in the order the caller gives them
	}
	callers := []caller{{"AB", []string{"/A", "/B"}}, {"BA", []string{"/B", "/A"}}, {"A", []string{"/A"}}, {"B", []string{"/B"}}}

	ctx, cancel := context.WithTimeout(context.Background(), runFor+2*time.Minute)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	end := time.Now().Add(runFor)
	rounds := make([]atomic.Int64, len(callers))
	for i, cl := range callers {
		nd := newNode(t, c, i, 30)
		ms := make([]*fairmutex.Mutex, len(cl.locks))
		for j, name := range cl.locks {
			ms[j] = nd.mutex(t, name)
		}
		g.Go(func() error {
			for time.Now().Before(end) {
				lock := func(ctx context.Context) error { return fairmutex.LockAll(ctx, ms...) }
				if len(ms) == 1 {
					lock = ms[0].Lock
				}
				if err := within(gctx, lock); err != nil {
					return fmt.Errorf("%s: round %d: %w", cl.who, rounds[i].Load(), err)
				}
				token := ms[0].Token()
				for j, m := range ms {
					if m.Token() != token || token == 0 {
						return fmt.Errorf("%s: tokens %d and %d of one LockAll", cl.who, token, m.Token())
					}
					if err := lines[cl.locks[j]].enter(token); err != nil {
						return fmt.Errorf("%s: %w", cl.who, err)
					}
				}
				time.Sleep(time.Millisecond) // hold a little, so that overlaps would show
				for j, m := range ms {
					lines[cl.locks[j]].leave()
					if err := within(gctx, m.Unlock); err != nil {
						return fmt.Errorf("%s: Unlock %s: %w", cl.who, cl.locks[j], err)
					}
				}
				rounds[i].Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	admin := testcluster.Client(t, c, 0)
	for i, cl := range callers {
		t.Logf("%s: %d rounds", cl.who, rounds[i].Load())
		if rounds[i].Load() == 0 {
			t.Errorf("%s never held its locks in %v", cl.who, runFor)
		}
	}
	for name := range lines {
		if k := keys(t, admin, name); len(k) != 0 {
			t.Errorf("keys left in %s: %v", name, k)
		}
	}
}

// A LockAll whose context ends while it waits returns the context's error
// and leaves nothing in any line: not its entry in the line it waits in,
// nor the one in a line it had already reached. Its Mutexes hold nothing,
// and they can LockAll again.
func TestLockAllCancelledLeavesNothing(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 2)
	for _, tc := range []struct {
		name    string
		blocked []string // lines held by someone else
	}{
		{"one-line-reached", []string{"A"}},
		{"no-line-reached", []string{"A", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := "/"+tc.name+"/A", "/"+tc.name+"/B"
			other := newNode(t, c, 1, 30)
			var held []*fairmutex.Mutex
			for _, l := range tc.blocked {
				m := other.mutex(t, "/"+tc.name+"/"+l)
				if err := m.Lock(bounded(t)); err != nil {
					t.Fatal(err)
				}
				held = append(held, m)
			}
			x := newNode(t, c, 0, 30)
			xa, xb := x.mutex(t, a), x.mutex(t, b)
			ctx, cancel := context.WithCancel(bounded(t))
			result := async(func() error { return fairmutex.LockAll(ctx, xa, xb) })
			// Its entries are in both lines: behind the other holder in A,
			// and in B behind the other holder or at its head.
			testcluster.WaitKeys(t, admin, a+"/", 2)
			testcluster.WaitKeys(t, admin, b+"/", len(held))
			cancel()
			if err := await(t, result, "LockAll cancelled"); !errors.Is(err, context.Canceled) {
				t.Fatalf("LockAll cancelled while it waits = %v, want context.Canceled", err)
			}
			// Its entries are removed before it returns.
			for i, name := range []string{a, b} {
				want := 0
				if i < len(held) {
					want = 1
				}
				if k := keys(t, admin, name); len(k) != want || (want == 1 && k[0] != held[i].Key()) {
					t.Errorf("line %s after a cancelled LockAll = %v, want only the other holder's entry (%d)", name, k, want)
				}
			}
			for _, m := range []*fairmutex.Mutex{xa, xb} {
				if m.Token() != 0 {
					t.Errorf("%s holds token %d after a cancelled LockAll", m.Name(), m.Token())
				}
				if err := m.Unlock(bounded(t)); !errors.Is(err, fairmutex.ErrNotLocked) {
					t.Errorf("Unlock %s after a cancelled LockAll = %v, want ErrNotLocked", m.Name(), err)
				}
			}
			for _, m := range held {
				if err := m.Unlock(bounded(t)); err != nil {
					t.Fatal(err)
				}
			}
			if err := fairmutex.LockAll(bounded(t), xa, xb); err != nil {
				t.Fatalf("LockAll after a cancelled one: %v", err)
			}
			if xa.Token() != xb.Token() || xa.Token() == 0 {
				t.Errorf("tokens %d and %d after LockAll, want equal and not 0", xa.Token(), xb.Token())
			}
			for _, m := range []*fairmutex.Mutex{xa, xb} {
				if err := m.Unlock(bounded(t)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A LockAll holder loses its lease (revoked, as etcd does when it expires):
// every line it held is freed, and the waiters in each are granted. Its
// Unlocks then report the loss.
func TestLockAllHolderLeaseLossFreesEveryLine(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 2)
	x := newNode(t, c, 0, 30)
	names := []string{"/lost/A", "/lost/B", "/lost/C"}
	var xs []*fairmutex.Mutex
	for _, n := range names {
		xs = append(xs, x.mutex(t, n))
	}
	if err := fairmutex.LockAll(bounded(t), xs...); err != nil {
		t.Fatal(err)
	}
	token := xs[0].Token()
	var dones []<-chan struct{}
	for _, m := range xs {
		dones = append(dones, m.Done())
	}
	var waiting []<-chan error
	var ws []*fairmutex.Mutex
	for i, n := range names {
		w := newNode(t, c, i, 30).mutex(t, n)
		ws = append(ws, w)
		waiting = append(waiting, async(func() error { return w.Lock(bounded(t)) }))
		testcluster.WaitKeys(t, admin, n+"/", 2)
	}
	if _, err := admin.Revoke(bounded(t), x.s.Lease()); err != nil {
		t.Fatal(err)
	}
	for i, ch := range waiting {
		if err := await(t, ch, "waiter in "+names[i]); err != nil {
			t.Fatalf("waiter in %s: %v", names[i], err)
		}
		if ws[i].Token() <= token {
			t.Errorf("%s: the waiter's token %d is not above the lost hold's %d", names[i], ws[i].Token(), token)
		}
	}
	for i, m := range xs {
		select {
		case <-dones[i]:
		case <-time.After(callTimeout):
			t.Fatalf("%s: Done still open after the lease was revoked", names[i])
		}
		if err := m.Unlock(bounded(t)); !errors.Is(err, fairmutex.ErrLost) || !errors.Is(err, fairmutex.ErrSessionExpired) {
			t.Errorf("%s: Unlock after the lease was revoked = %v, want ErrLost and ErrSessionExpired", names[i], err)
		}
	}
	for i, w := range ws {
		if err := w.Unlock(bounded(t)); err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
}
