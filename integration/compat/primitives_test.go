package compat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// joins returns a Client whose every join is reported on the channel, by
// lock name: a test waits there for a waiter to be in line.
func joins(t *testing.T) (*fairlock.Client, <-chan string) {
	t.Helper()
	ch := make(chan string, 16)
	return connect(t, fairlock.Config{Hooks: &queue.Hooks{Joined: func(i queue.JoinInfo) { ch <- i.Name }}}), ch
}

// await waits for a result on ch, failing the test at ctx's end.
func await[T any](t *testing.T, ctx context.Context, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("%s: nothing before the deadline", what)
	}
	var zero T
	return zero
}

// A weighted semaphore on one server: permits are granted while their
// weights fit, a waiter does not overtake an older one that does not fit,
// and a release hands over with the nested transaction that touches the
// waiters it lets in (so that those behind them wake). TryAcquire on a
// full semaphore writes nothing; another limit on the name is refused.
func TestSemaphoreWeighted(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a := connect(t, fairlock.Config{})
	w, joined := joins(t)
	sa, err := a.Semaphore(name, 3)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := w.Semaphore(name, 3)
	if err != nil {
		t.Fatal(err)
	}
	heavy, err := sa.AcquireN(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	light, err := sa.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := revision(t, ctx, a.Etcd())
	if _, err := sa.TryAcquire(ctx); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Fatalf("TryAcquire on a full semaphore = %v, want ErrNoPermit", err)
	}
	if after := revision(t, ctx, a.Etcd()); after != before {
		t.Errorf("revision moved from %d to %d across a failed TryAcquire", before, after)
	}
	other, err := a.Semaphore(name, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.TryAcquire(ctx); !errors.Is(err, semaphore.ErrLimitMismatch) {
		t.Fatalf("TryAcquire with another limit = %v, want ErrLimitMismatch", err)
	}

	type grant struct {
		p   *semaphore.Permit
		err error
	}
	first, second := make(chan grant, 1), make(chan grant, 1)
	go func() { p, err := sw.AcquireN(ctx, 2); first <- grant{p, err} }()
	await(t, ctx, "the weighted waiter's join", joined)
	go func() { p, err := sw.Acquire(ctx); second <- grant{p, err} }()
	await(t, ctx, "the second waiter's join", joined)
	if err := light.Release(ctx); err != nil { // 2 of 3 held: the weight-2 waiter still does not fit
		t.Fatal(err)
	}
	select {
	case g := <-second:
		t.Fatalf("the second waiter overtook the weight-2 one: %v", g.err)
	default:
	}
	if err := heavy.Release(ctx); err != nil {
		t.Fatal(err)
	}
	g1 := await(t, ctx, "the weight-2 waiter's grant", first)
	g2 := await(t, ctx, "the waiter behind it", second)
	if g1.err != nil || g2.err != nil {
		t.Fatalf("waiters: %v, %v", g1.err, g2.err)
	}
	if g2.p.Token() <= g1.p.Token() {
		t.Errorf("tokens %d then %d: not in arrival order", g1.p.Token(), g2.p.Token())
	}
	for _, p := range []*semaphore.Permit{g1.p, g2.p} {
		if err := p.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	noKeys(t, ctx, a, name)
}

// Readers share, a writer excludes them, and a reader that comes after a
// waiting writer waits behind it.
func TestRWMutex(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a, b := connect(t, fairlock.Config{}), connect(t, fairlock.Config{})
	w, joined := joins(t)
	ra, err := a.RWMutex(name)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.RWMutex(name)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := w.RWMutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.RLock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rb.RLock(ctx); err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- writer.Lock(ctx) }()
	await(t, ctx, "the writer's join", joined)
	if err := rb.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rb.TryRLock(ctx); err == nil {
		t.Fatal("TryRLock went ahead of a waiting writer")
	}
	if err := ra.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := await(t, ctx, "the writer's grant", wrote); err != nil {
		t.Fatal(err)
	}
	if err := writer.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	noKeys(t, ctx, a, name)
}

// LockAll takes several locks in one transaction (one token); a second
// LockAll of the same locks in the opposite order waits for it, never
// deadlocks.
func TestLockAll(t *testing.T) {
	base := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a := connect(t, fairlock.Config{})
	b, joined := joins(t)
	mutexes := func(c *fairlock.Client, names ...string) []*fairmutex.Mutex {
		var ms []*fairmutex.Mutex
		for _, n := range names {
			m, err := c.Mutex(n)
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	one, two := base+"/one", base+"/two"
	ma := mutexes(a, one, two)
	mb := mutexes(b, two, one)
	if err := fairmutex.LockAll(ctx, ma...); err != nil {
		t.Fatal(err)
	}
	if ma[0].Token() != ma[1].Token() {
		t.Errorf("LockAll tokens %d and %d differ", ma[0].Token(), ma[1].Token())
	}
	locked := make(chan error, 1)
	go func() { locked <- fairmutex.LockAll(ctx, mb...) }()
	await(t, ctx, "the second LockAll's join", joined)
	for _, m := range ma {
		if err := m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := await(t, ctx, "the second LockAll", locked); err != nil {
		t.Fatal(err)
	}
	for _, m := range mb {
		if err := m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	noKeys(t, ctx, a, base)
}

// A request to yield reaches the holder with its reason, and goes with
// the hold.
func TestYield(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a, b := connect(t, fairlock.Config{}), connect(t, fairlock.Config{})
	m, err := a.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	asked := m.YieldRequested()
	q, err := b.Queue(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.AskToYield(ctx, "compat")
	if err != nil || len(got) != 1 || got[0].Rev != m.Token() {
		t.Fatalf("AskToYield = %+v, %v; want the holder", got, err)
	}
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatal("the holder was never told")
	}
	if r := m.YieldReason(); r != "compat" {
		t.Errorf("YieldReason = %q, want compat", r)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.AskToYield(ctx, "again"); !errors.Is(err, queue.ErrNoHolder) {
		t.Fatalf("AskToYield on a free lock = %v, want ErrNoHolder", err)
	}
	noKeys(t, ctx, a, name)
}

// An election: candidates lead in arrival order, Rotate hands over and
// rejoins, and an observer with ObserveOptions.Empty sees every term,
// Proclaim's value and the vacancies, in order.
func TestElectionRotateObserve(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a := connect(t, fairlock.Config{})
	b, joined := joins(t)
	o := connect(t, fairlock.Config{})
	ea, err := a.Election(name)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.Election(name)
	if err != nil {
		t.Fatal(err)
	}
	eo, err := o.Election(name)
	if err != nil {
		t.Fatal(err)
	}
	seen := eo.ObserveWith(ctx, election.ObserveOptions{Empty: true})
	var got []string
	next := func() {
		t.Helper()
		l, ok := <-seen
		if !ok {
			t.Fatalf("the observer ended after %v", got)
		}
		if l.Vacant() {
			got = append(got, "-")
		} else {
			got = append(got, l.Value)
		}
	}
	next()
	if err := ea.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	next()
	if err := ea.Proclaim(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	next()
	campaigned := make(chan error, 1)
	go func() { campaigned <- eb.Campaign(ctx, "b") }()
	await(t, ctx, "b's join", joined)
	rotated := make(chan error, 1)
	go func() { rotated <- ea.Rotate(ctx) }()
	if err := await(t, ctx, "b's campaign", campaigned); err != nil {
		t.Fatal(err)
	}
	next()
	if err := eb.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := await(t, ctx, "a's rotation", rotated); err != nil {
		t.Fatal(err)
	}
	next()
	if err := ea.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	next()
	if want := []string{"-", "a", "a2", "b", "a2", "-"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", got, want)
	}
	noKeys(t, ctx, a, name)
}

// noKeys fails the test if anything is left under name/.
func noKeys(t *testing.T, ctx context.Context, c *fairlock.Client, name string) {
	t.Helper()
	resp, err := c.Etcd().Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys left under %s/", resp.Count, name)
	}
}
