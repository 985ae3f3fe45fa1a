package yield_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// async runs f and delivers its error; the context it gets ends with the
// test, so a call still blocked then returns.
func async(t *testing.T, f func(ctx context.Context) error) <-chan error {
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	ch := make(chan error, 1)
	done := make(chan struct{})
	go func() { defer close(done); ch <- f(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// await waits for ch's error, failing after waitLimit.
func await(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s did not return within %v", what, waitLimit)
	}
}

// stillWaiting fails if ch has delivered.
func stillWaiting(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned (%v) although the holder did not yield", what, err)
	default:
	}
}

// inLine waits until n entries are in the line under prefix.
func (w *world) inLine(prefix string, n int) {
	w.t.Helper()
	testcluster.WaitKeys(w.t, w.admin, w.name+prefix, n)
}

func TestMutex(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	m1, err := fairmutex.New(w.session(), w.name)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := fairmutex.New(w.session(), w.name)
	if err != nil {
		t.Fatal(err)
	}
	// Not held: nothing to be told.
	notTold(t, m1.YieldRequested(), "a Mutex that holds nothing")
	if err := m1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	ch1 := m1.YieldRequested()
	lock2 := async(t, m2.Lock)
	w.inLine("/.x/", 2)

	if asked := w.ask("deploy"); !slices.Equal(keysOf(asked), []string{m1.Key()}) {
		t.Fatalf("asked %q, want the holder %q", keysOf(asked), m1.Key())
	}
	told(t, ch1, "the Mutex holder")
	if m1.YieldReason() != "deploy" {
		t.Errorf("YieldReason = %q", m1.YieldReason())
	}
	stillWaiting(t, lock2, "the waiter's Lock")

	if err := m1.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	await(t, lock2, "the waiter's Lock")
	notTold(t, m2.YieldRequested(), "the next holder")
	if m2.YieldReason() != "" {
		t.Errorf("next holder's YieldReason = %q", m2.YieldReason())
	}
	if err := m2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

func TestRWMutexReadersAndWriter(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	counter := &yieldCounter{}
	rws := make([]*rwmutex.RWMutex, 3)
	for i := range rws {
		rw, err := rwmutex.New(w.session(), w.name, queue.WithHooks(counter.hooks()))
		if err != nil {
			t.Fatal(err)
		}
		rws[i] = rw
	}
	r1, r2, wr := rws[0], rws[1], rws[2]
	for _, r := range []*rwmutex.RWMutex{r1, r2} {
		if err := r.RLock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ch1, ch2 := r1.RYieldRequested(), r2.RYieldRequested()
	lock := async(t, wr.Lock)
	w.inLine("/.x/", 1)

	asked := w.ask("schema change")
	if got, want := keysOf(asked), []string{r1.RKey(), r2.RKey()}; !slices.Equal(got, want) {
		t.Fatalf("asked %q, want both readers in line order %q", got, want)
	}
	for i, e := range asked {
		if !e.Shared || e.YieldReason != "schema change" {
			t.Errorf("asked[%d] = %+v", i, e)
		}
	}
	told(t, ch1, "reader 1")
	told(t, ch2, "reader 2")
	if r1.RYieldReason() != "schema change" || r2.RYieldReason() != "schema change" {
		t.Errorf("RYieldReason = %q, %q", r1.RYieldReason(), r2.RYieldReason())
	}
	notTold(t, wr.YieldRequested(), "a writer still waiting")
	stillWaiting(t, lock, "the writer's Lock")
	if n := len(counter.infos()); n != 2 {
		t.Errorf("YieldRequested hook called %d times, want 2", n)
	}

	for _, r := range []*rwmutex.RWMutex{r1, r2} {
		if err := r.RUnlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	await(t, lock, "the writer's Lock")
	wch := wr.YieldRequested()
	notTold(t, wch, "the writer, next holder")
	w.ask("writer too")
	told(t, wch, "the writer")
	if wr.YieldReason() != "writer too" {
		t.Errorf("writer's YieldReason = %q", wr.YieldReason())
	}
	if err := wr.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

func TestSemaphorePermits(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	sems := make([]*semaphore.Semaphore, 3)
	for i := range sems {
		sm, err := semaphore.New(w.session(), w.name, 2)
		if err != nil {
			t.Fatal(err)
		}
		sems[i] = sm
	}
	p1, err := sems[0].Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := sems[1].Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch1, ch2 := p1.YieldRequested(), p2.YieldRequested()
	got := make(chan *semaphore.Permit, 1)
	acquire := async(t, func(ctx context.Context) error {
		p, err := sems[2].Acquire(ctx)
		got <- p
		return err
	})
	w.inLine("/.p/", 3)

	asked := w.ask("resize")
	if k := keysOf(asked); !slices.Equal(k, []string{p1.Key(), p2.Key()}) {
		t.Fatalf("asked %q, want both permit holders", k)
	}
	told(t, ch1, "permit 1")
	told(t, ch2, "permit 2")
	stillWaiting(t, acquire, "the third Acquire")

	if err := p1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	await(t, acquire, "the third Acquire")
	p3 := <-got
	notTold(t, p3.YieldRequested(), "the permit let in next")
	if p2.YieldReason() != "resize" || p3.YieldReason() != "" {
		t.Errorf("YieldReason: permit 2 %q, permit 3 %q", p2.YieldReason(), p3.YieldReason())
	}
	for _, p := range []*semaphore.Permit{p2, p3} {
		if err := p.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w.noKeysLeft()
}

func TestElectionLeader(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	e1, err := election.New(w.session(), w.name)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := election.New(w.session(), w.name)
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	ch1 := e1.YieldRequested()
	campaign := async(t, func(ctx context.Context) error { return e2.Campaign(ctx, "two") })
	w.inLine("/.x/", 2)

	if asked := w.ask("upgrade"); !slices.Equal(keysOf(asked), []string{e1.Key()}) {
		t.Fatalf("asked %q, want the leader %q", keysOf(asked), e1.Key())
	}
	told(t, ch1, "the leader")
	if e1.YieldReason() != "upgrade" {
		t.Errorf("YieldReason = %q", e1.YieldReason())
	}
	stillWaiting(t, campaign, "the candidate's Campaign")

	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	await(t, campaign, "the candidate's Campaign")
	notTold(t, e2.YieldRequested(), "the next leader")

	// Asked, the leader rotates: the request goes with the old term, and
	// the new one (the same Election, alone in line) is not told.
	w.ask("rotate, please")
	told(t, e2.YieldRequested(), "the second leader")
	if err := e2.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if r := w.requests(); len(r) != 0 {
		t.Errorf("requests left after Rotate: %q", r)
	}
	notTold(t, e2.YieldRequested(), "the rotated leader's new term")
	if err := e2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}
