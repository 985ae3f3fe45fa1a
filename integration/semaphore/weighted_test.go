package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/semaphore"
)

// acquiringN runs AcquireN in the background, with ctx bounded by waitLimit.
func acquiringN(sm *semaphore.Semaphore, n int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, waitLimit)
		defer cancel()
		p, err := sm.AcquireN(ctx, n)
		ch <- result{p, err}
	}()
	return ch
}

// settle gives the background calls time to join and, if they are wrong,
// to return: a check that they still wait is only worth something after it.
func settle(t *testing.T, cli *clientv3.Client, name string, entries int) {
	t.Helper()
	testcluster.WaitKeys(t, cli, name+"/", entries)
	time.Sleep(200 * time.Millisecond)
}

// Limit 5: A(3) holds; B(3) waits; C(1), behind B, does not overtake it
// although it would fit; A leaves: B and C are let in together; D(2) waits
// until there is room for it.
func TestWeightedFIFO(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 5
	nodes := make([]*node, 4)
	for i := range nodes {
		nodes[i] = newNode(t, c, i, name, limit, 10)
	}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	a, err := nodes[0].sm.AcquireN(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a.Weight() != 3 {
		t.Fatalf("Weight = %d, want 3", a.Weight())
	}
	b := acquiringN(nodes[1].sm, 3)
	settle(t, nodes[0].cli, name, 2)
	cw := acquiringN(nodes[2].sm, 1)
	settle(t, nodes[0].cli, name, 3)
	waiting(t, b, "B(3) beside A(3) in 5")
	waiting(t, cw, "C(1) behind B: it fits, but must not overtake B")
	if _, err := nodes[3].sm.TryAcquireN(ctx, 1); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Fatalf("TryAcquireN(1) while B waits = %v, want ErrNoPermit (no overtaking)", err)
	}
	mustRelease(t, a)
	pb := granted(t, b, promptly, "B once A left")
	pc := granted(t, cw, promptly, "C once A left")
	if pb.Token() > pc.Token() {
		t.Errorf("B's token %d above C's %d: out of arrival order", pb.Token(), pc.Token())
	}
	d := acquiringN(nodes[3].sm, 2)
	settle(t, nodes[0].cli, name, 3)
	waiting(t, d, "D(2) beside B(3) and C(1) in 5")
	mustRelease(t, pc) // 3 of 5 taken: D fits
	pd := granted(t, d, promptly, "D once C left")
	mustRelease(t, pb)
	mustRelease(t, pd)
	noKeys(t, nodes[0].cli, name)
}

// Weights below 1 or above the limit fail at once, writing (and reading)
// nothing; TryAcquireN without room writes nothing; a weighted Acquire
// that is cancelled, or whose session ends, leaves nothing.
func TestWeightedBadInputAndCleanup(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 4
	n := newNode(t, c, 0, name, limit, 10)
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	rev := testcluster.Revision(t, n.cli)
	for _, w := range []int{0, -1, limit + 1} {
		if _, err := n.sm.AcquireN(ctx, w); !errors.Is(err, semaphore.ErrInvalidWeight) {
			t.Errorf("AcquireN(%d) = %v, want ErrInvalidWeight", w, err)
		}
		if _, err := n.sm.TryAcquireN(ctx, w); !errors.Is(err, semaphore.ErrInvalidWeight) {
			t.Errorf("TryAcquireN(%d) = %v, want ErrInvalidWeight", w, err)
		}
	}
	held, err := n.sm.AcquireN(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	rev = testcluster.Revision(t, n.cli)
	if _, err := n.sm.TryAcquireN(ctx, 2); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Fatalf("TryAcquireN(2) beside 3 of 4 = %v, want ErrNoPermit", err)
	}
	if got := testcluster.Revision(t, n.cli); got != rev {
		t.Errorf("a failed TryAcquireN moved the store revision from %d to %d", rev, got)
	}
	one, err := n.sm.TryAcquireN(ctx, 1)
	if err != nil {
		t.Fatalf("TryAcquireN(1) beside 3 of 4: %v", err)
	}
	mustRelease(t, one)
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	if _, err := n.sm.AcquireN(short, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AcquireN(2) beside 3 of 4 with a short ctx = %v, want its deadline", err)
	}
	stop()
	other := newNode(t, c, 1, name, limit, 10)
	w := acquiringN(other.sm, 4)
	settle(t, n.cli, name, 2)
	other.s.Close() // the waiter's session ends: its entry goes, never a permit
	if r := await(t, w, waitLimit, "AcquireN whose session ended"); r.err == nil {
		t.Errorf("AcquireN whose session ended got a permit")
	}
	mustRelease(t, held)
	noKeys(t, n.cli, name)
}

// weightOfKey is a permit's weight as its key says (NAME/.p/LIMIT/ID@W;
// weight 1 has no mark).
func weightOfKey(key string) int {
	if i := strings.LastIndexByte(key, '@'); i >= 0 {
		if w, err := strconv.Atoi(key[i+1:]); err == nil {
			return w
		}
	}
	return 1
}

// Under a random workload of mixed weights with cancellations, etcd's
// record inside every hold (read through the hold's fence) is the model's:
// the weights of the entries older than it and its own fit in the limit,
// so it is within the limit and nobody older was overtaken.
func TestWeightedRandomWorkload(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit, contenders, rounds = 8, 6, 12
	var inside, maxInside, grants, cancels atomic.Int64
	var g errgroup.Group
	for i := range contenders {
		n := newNode(t, c, i, name, limit, 10)
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		g.Go(func() error {
			for range rounds {
				w := 1 + rng.IntN(4)
				patience := time.Duration(50+rng.IntN(150)) * time.Millisecond
				if rng.IntN(2) == 0 {
					patience = waitLimit
				}
				ctx, cancel := context.WithTimeout(bg, patience)
				p, err := n.sm.AcquireN(ctx, w)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						return err
					}
					cancels.Add(1)
					continue
				}
				now := inside.Add(int64(w))
				if now > limit {
					return fmt.Errorf("weights %d held at once, limit %d", now, limit)
				}
				for m := maxInside.Load(); now > m && !maxInside.CompareAndSwap(m, now); m = maxInside.Load() {
				}
				grants.Add(1)
				if err := fitsByRecord(n.cli, name, p, limit); err != nil {
					return err
				}
				time.Sleep(time.Duration(2+rng.IntN(10)) * time.Millisecond)
				inside.Add(-int64(w))
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
	t.Logf("%d grants, %d cancellations, at most %d of %d held at once", grants.Load(), cancels.Load(), maxInside.Load(), limit)
	if grants.Load() == 0 {
		t.Error("no permit was granted")
	}
	if maxInside.Load() < 2 {
		t.Errorf("at most %d of the limit held at once: the workload never shared the semaphore", maxInside.Load())
	}
	noKeys(t, testcluster.Client(t, c, 0), name)
}

// fitsByRecord checks, in one transaction fenced by the permit, that the
// weights of the permits older than it and its own fit in the limit:
// etcd's own record that the permit is within the limit and overtook
// nobody. For weight-1 permits that is "fewer than limit are older".
func fitsByRecord(cli *clientv3.Client, name string, p *semaphore.Permit, limit int) error {
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	resp, err := cli.Txn(ctx).If(p.IsOwner()).Then(
		clientv3.OpGet(name+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithMaxCreateRev(p.Token()-1)),
	).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("permit %d lost while held", p.Token())
	}
	sum := p.Weight()
	for _, kv := range resp.Responses[0].GetResponseRange().GetKvs() {
		sum += weightOfKey(string(kv.Key))
	}
	if sum > limit {
		return fmt.Errorf("permit %d (weight %d) granted with weights %d up to it at revision %d, limit %d",
			p.Token(), p.Weight(), sum, resp.Header.Revision, limit)
	}
	return nil
}
