package semaphore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// Waiters queued one by one are granted in that order, whichever holder
// leaves, and each release lets in exactly the next one.
func TestGrantsInArrivalOrder(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit, waiters = 3, 6
	admin := testcluster.Client(t, c, 0)
	var held []*semaphore.Permit
	for i := range limit {
		held = append(held, mustAcquire(t, newNode(t, c, i, name, limit, 10).sm))
	}
	pending := make([]<-chan result, waiters)
	for i := range waiters {
		pending[i] = acquiring(bg, newNode(t, c, i, name, limit, 10).sm)
		// Queue the next only once this one is in line, so that arrival
		// order is known.
		testcluster.WaitKeys(t, admin, name+"/", limit+i+1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var tokens []int64
	for next := range waiters {
		// Release a random holder: the oldest, the newest or one between.
		i := rng.IntN(len(held))
		mustRelease(t, held[i])
		held = slices.Delete(held, i, i+1)
		p := granted(t, pending[next], promptly, "the oldest waiter after a release")
		for _, later := range pending[next+1:] {
			waiting(t, later, "a later waiter")
		}
		held = append(held, p)
		tokens = append(tokens, p.Token())
	}
	if !slices.IsSorted(tokens) {
		t.Errorf("tokens do not rise with arrival: %v", tokens)
	}
	for _, p := range held {
		mustRelease(t, p)
	}
	noKeys(t, admin, name)
}

// With limit 3 held by A, B and C and W1, W2 waiting, B's release (not the
// oldest holder's) lets W1 in at once, and C's lets W2 in: no permit stays
// idle behind a holder that has not left.
func TestNoIdlePermit(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 3
	admin := newNode(t, c, 0, name, limit, 10)
	a := mustAcquire(t, newNode(t, c, 0, name, limit, 10).sm)
	b := mustAcquire(t, newNode(t, c, 1, name, limit, 10).sm)
	cc := mustAcquire(t, newNode(t, c, 2, name, limit, 10).sm)
	w1 := acquiring(bg, newNode(t, c, 1, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 4)
	w2 := acquiring(bg, newNode(t, c, 2, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 5)
	waiting(t, w1, "W1 with every permit held")

	mustRelease(t, b)
	p1 := granted(t, w1, promptly, "W1 after B's release")
	waiting(t, w2, "W2 after B's release")
	holders, waiters := holding(t, admin.s, name)
	if want := []string{a.Key(), cc.Key(), p1.Key()}; !cmp.Equal(holders, want) || len(waiters) != 1 {
		t.Errorf("List after B's release: holders %q waiters %q, want holders %q and one waiter", holders, waiters, want)
	}

	mustRelease(t, cc)
	p2 := granted(t, w2, promptly, "W2 after C's release")
	if p2.Token() <= p1.Token() {
		t.Errorf("W2's token %d not above W1's %d", p2.Token(), p1.Token())
	}
	for _, p := range []*semaphore.Permit{a, p1, p2} {
		mustRelease(t, p)
	}
	noKeys(t, admin.cli, name)
}

func TestTryAcquireOnFullSemaphoreWritesNothing(t *testing.T) {
	c := cluster(t)
	name := name(t)
	a, b := newNode(t, c, 0, name, 2, 10), newNode(t, c, 1, name, 2, 10)
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	p1, err := a.sm.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("TryAcquire on a free semaphore: %v", err)
	}
	p2, err := a.sm.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("TryAcquire with a permit free: %v", err)
	}
	if p2.Token() <= p1.Token() {
		t.Errorf("second token %d not above the first %d", p2.Token(), p1.Token())
	}
	before := testcluster.Revision(t, b.cli)
	for range 3 {
		p, err := b.sm.TryAcquire(ctx)
		if !errors.Is(err, semaphore.ErrNoPermit) || p != nil {
			t.Fatalf("TryAcquire on a full semaphore = %v, %v; want nil, ErrNoPermit", p, err)
		}
		if err.Error() != "semaphore: no permit free" {
			t.Errorf("ErrNoPermit reads %q", err)
		}
	}
	if after := testcluster.Revision(t, b.cli); after != before {
		t.Errorf("failed TryAcquire moved the store revision from %d to %d", before, after)
	}

	// A waiter queued behind full permits: TryAcquire still fails and
	// writes nothing, and the waiter, not TryAcquire, gets the next permit.
	w := acquiring(bg, a.sm)
	testcluster.WaitKeys(t, b.cli, name+"/", 3)
	before = testcluster.Revision(t, b.cli)
	if _, err := b.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Fatalf("TryAcquire with a waiter = %v, want ErrNoPermit", err)
	}
	if after := testcluster.Revision(t, b.cli); after != before {
		t.Errorf("failed TryAcquire moved the store revision from %d to %d", before, after)
	}
	mustRelease(t, p1)
	p3 := granted(t, w, promptly, "the waiter after a release")
	mustRelease(t, p2)
	p4, err := b.sm.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("TryAcquire after a release: %v", err)
	}
	mustRelease(t, p3)
	mustRelease(t, p4)
	noKeys(t, b.cli, name)
}

func TestHolderLeaseRevoked(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 2
	lost := newNode(t, c, 0, name, limit, 10)
	other := newNode(t, c, 1, name, limit, 10)
	admin := newNode(t, c, 2, name, limit, 10)
	p := mustAcquire(t, lost.sm)
	q := mustAcquire(t, other.sm)
	done := p.Done()
	if !openChan(done) {
		t.Fatal("Done closed while held")
	}
	// The permit lasts at least until HeldUntil, which the session's
	// keep-alives make known: within the 10 s TTL from now.
	testcluster.Eventually(t, waitLimit, "HeldUntil to be known", func() bool { return !p.HeldUntil().IsZero() })
	if until := time.Until(p.HeldUntil()); until <= 0 || until > 10*time.Second {
		t.Errorf("HeldUntil is %v from now, want within the 10s TTL", until)
	}
	w := acquiring(bg, admin.sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 3)

	if _, err := admin.cli.Revoke(bg, lost.s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(promptly):
		t.Fatal("Done not closed after the holder's lease was revoked")
	}
	np := granted(t, w, promptly, "the waiter after the holder's lease was revoked")
	if np.Token() <= p.Token() {
		t.Errorf("new token %d not above the lost one %d", np.Token(), p.Token())
	}
	if fencedPut(t, lost.cli, p, name+"-data") {
		t.Error("a write fenced by the lost permit was applied")
	}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	if err := p.Release(ctx); !errors.Is(err, semaphore.ErrLost) {
		t.Errorf("Release of a lost permit = %v, want ErrLost", err)
	}
	if got, want := testcluster.Keys(t, admin.cli, name+"/"), sorted(q.Key(), np.Key()); !cmp.Equal(got, want) {
		t.Errorf("line after the stale Release = %q, want %q", got, want)
	}
	if err := p.Release(ctx); !errors.Is(err, semaphore.ErrReleased) {
		t.Errorf("second Release of a lost permit = %v, want ErrReleased", err)
	}
	mustRelease(t, q)
	mustRelease(t, np)
	noKeys(t, admin.cli, name)
}

// A waiter whose lease ends gets an error, never a permit, and the waiter
// behind it moves up.
func TestWaiterLeaseRevoked(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 2
	admin := newNode(t, c, 0, name, limit, 10)
	a := mustAcquire(t, newNode(t, c, 0, name, limit, 10).sm)
	b := mustAcquire(t, newNode(t, c, 1, name, limit, 10).sm)
	doomed := newNode(t, c, 2, name, limit, 10)
	w1 := acquiring(bg, doomed.sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 3)
	w2 := acquiring(bg, newNode(t, c, 1, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 4)

	revoked := time.Now()
	if _, err := admin.cli.Revoke(bg, doomed.s.Lease()); err != nil {
		t.Fatal(err)
	}
	r := await(t, w1, promptly, "the waiter whose lease was revoked")
	if r.p != nil || !isLoss(r.err) {
		t.Fatalf("Acquire of a waiter whose lease was revoked = %v, %v; want nil and ErrLost or ErrSessionExpired", r.p, r.err)
	}
	// Its own-key watch reports it at once; the session's keep-alive would
	// take a third of the TTL.
	if d := time.Since(revoked); d > 3*time.Second {
		t.Errorf("the waiter noticed its lost entry after %v", d)
	}
	waiting(t, w2, "the next waiter with both permits held")
	mustRelease(t, b)
	p2 := granted(t, w2, promptly, "the next waiter after a release")
	mustRelease(t, a)
	mustRelease(t, p2)
	noKeys(t, admin.cli, name)
}

// A cancelled Acquire, whether the oldest waiter or behind it, leaves
// nothing, and whoever waited behind it moves up.
func TestAcquireCancelled(t *testing.T) {
	c := cluster(t)
	name := name(t)
	const limit = 2
	admin := newNode(t, c, 0, name, limit, 10)
	a := mustAcquire(t, newNode(t, c, 0, name, limit, 10).sm)
	b := mustAcquire(t, newNode(t, c, 1, name, limit, 10).sm)
	ctx1, cancel1 := context.WithCancel(bg)
	defer cancel1()
	w1 := acquiring(ctx1, newNode(t, c, 2, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 3)
	ctx2, cancel2 := context.WithCancel(bg)
	defer cancel2()
	w2 := acquiring(ctx2, newNode(t, c, 1, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 4)
	w3 := acquiring(bg, newNode(t, c, 2, name, limit, 10).sm)
	testcluster.WaitKeys(t, admin.cli, name+"/", 5)

	cancel2() // behind the oldest waiter
	if r := await(t, w2, promptly, "a cancelled Acquire"); r.p != nil || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %v, %v; want nil, context.Canceled", r.p, r.err)
	}
	cancel1() // the oldest waiter
	if r := await(t, w1, promptly, "a cancelled Acquire"); r.p != nil || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %v, %v; want nil, context.Canceled", r.p, r.err)
	}
	testcluster.WaitKeys(t, admin.cli, name+"/", 3)
	waiting(t, w3, "the last waiter with both permits held")
	mustRelease(t, b)
	p3 := granted(t, w3, promptly, "the last waiter after a release")
	mustRelease(t, a)
	mustRelease(t, p3)
	noKeys(t, admin.cli, name)
}

func TestLimitMismatch(t *testing.T) {
	c := cluster(t)
	name := name(t)
	three := newNode(t, c, 0, name, 3, 10)
	two := newNode(t, c, 1, name, 2, 10)
	one := newNode(t, c, 2, name, 1, 10)
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	held := []*semaphore.Permit{mustAcquire(t, one.sm)}
	w := acquiring(bg, one.sm)
	testcluster.WaitKeys(t, three.cli, name+"/", 2)

	// Held and awaited with limit 1: limits 2 and 3 fail, writing nothing.
	for _, n := range []*node{two, three} {
		before := testcluster.Revision(t, n.cli)
		if p, err := n.sm.Acquire(ctx); !errors.Is(err, semaphore.ErrLimitMismatch) || p != nil {
			t.Errorf("Acquire with limit %d while limit 1 is in use = %v, %v; want ErrLimitMismatch", n.sm.Limit(), p, err)
		}
		if p, err := n.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrLimitMismatch) || p != nil {
			t.Errorf("TryAcquire with limit %d while limit 1 is in use = %v, %v; want ErrLimitMismatch", n.sm.Limit(), p, err)
		}
		if after := testcluster.Revision(t, n.cli); after != before {
			t.Errorf("a mismatched limit moved the store revision from %d to %d", before, after)
		}
	}
	mustRelease(t, held[0])
	mustRelease(t, granted(t, w, promptly, "the limit-1 waiter"))
	noKeys(t, three.cli, name)

	// Everyone has left: another limit works, and now excludes the first.
	p := mustAcquire(t, three.sm)
	if _, err := one.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrLimitMismatch) {
		t.Errorf("TryAcquire with limit 1 while limit 3 is in use = %v, want ErrLimitMismatch", err)
	}
	mustRelease(t, p)
	noKeys(t, three.cli, name)
}

// Two limits racing on an idle name: whoever joins first wins, and the
// line never holds permits of two limits.
func TestLimitRace(t *testing.T) {
	c := cluster(t)
	name := name(t)
	var nodes []*node
	for i := range 6 {
		nodes = append(nodes, newNode(t, c, i, name, 2+i%2, 10))
	}
	var mu sync.Mutex
	var got []*semaphore.Permit
	limits := map[int]bool{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(bg, waitLimit)
			defer cancel()
			p, err := n.sm.TryAcquire(ctx)
			switch {
			case err == nil:
				mu.Lock()
				got = append(got, p)
				limits[n.sm.Limit()] = true
				mu.Unlock()
			case errors.Is(err, semaphore.ErrLimitMismatch), errors.Is(err, semaphore.ErrNoPermit):
			default:
				t.Errorf("TryAcquire: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(got) == 0 || len(limits) != 1 {
		t.Errorf("%d permits granted with limits %v; want some, all of one limit", len(got), limits)
	}
	q, err := queue.New(nodes[0].s, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	entries, err := q.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !limits[e.Limit] {
			t.Errorf("entry %s has limit %d, granted limits are %v", e.Key, e.Limit, limits)
		}
	}
	for _, p := range got {
		mustRelease(t, p)
	}
	noKeys(t, nodes[0].cli, name)
}

// A Semaphore and a fairmutex.Mutex on one name are independent lines:
// neither blocks the other, and List shows both.
func TestSemaphoreAndMutexOnOneName(t *testing.T) {
	c := cluster(t)
	name := name(t)
	n := newNode(t, c, 0, name, 1, 10)
	m1, err := fairmutex.New(n.s, name)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := fairmutex.New(n.s, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	if err := m1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	// Acquire, not TryAcquire: a waiter that saw the mutex's entry would
	// block here.
	p := mustAcquire(t, n.sm)
	if _, err := n.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Errorf("TryAcquire on a full limit-1 semaphore = %v, want ErrNoPermit", err)
	}
	if err := m2.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Errorf("TryLock on a held mutex beside a semaphore = %v, want ErrLocked", err)
	}
	q, err := queue.New(n.s, name)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := q.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[queue.Kind]int{}
	for _, e := range entries {
		kinds[e.Kind]++
		if !e.Holds {
			t.Errorf("List: %s (%s) does not hold", e.Key, e.Kind)
		}
	}
	if want := map[queue.Kind]int{queue.Exclusive: 1, queue.Permit: 1}; !cmp.Equal(kinds, want) {
		t.Errorf("List shows %v, want %v", kinds, want)
	}
	// Releasing one leaves the other held.
	mustRelease(t, p)
	if err := m2.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Errorf("TryLock after the permit's release = %v, want ErrLocked", err)
	}
	p = mustAcquire(t, n.sm)
	if err := m1.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrNoPermit) {
		t.Errorf("TryAcquire after the mutex's unlock = %v, want ErrNoPermit", err)
	}
	if err := m2.Lock(ctx); err != nil {
		t.Fatalf("Lock beside a held permit: %v", err)
	}
	if err := m2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, p)
	noKeys(t, n.cli, name)
}

func TestPermitAfterRelease(t *testing.T) {
	c := cluster(t)
	name := name(t)
	n := newNode(t, c, 0, name, 2, 10)
	p := mustAcquire(t, n.sm)
	if p.Token() == 0 || p.Key() == "" {
		t.Fatalf("held permit: Token %d, Key %q", p.Token(), p.Key())
	}
	done := p.Done()
	if !openChan(done) {
		t.Fatal("Done closed while held")
	}
	if !fencedPut(t, n.cli, p, name+"-data") {
		t.Fatal("a write fenced by a held permit was not applied")
	}
	// Two Releases at once: one releases, the other says so.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			ctx, cancel := context.WithTimeout(bg, waitLimit)
			defer cancel()
			errs <- p.Release(ctx)
		}()
	}
	var got []error
	for range 2 {
		select {
		case err := <-errs:
			got = append(got, err)
		case <-time.After(waitLimit):
			t.Fatal("Release did not return")
		}
	}
	if !(got[0] == nil && errors.Is(got[1], semaphore.ErrReleased) || got[1] == nil && errors.Is(got[0], semaphore.ErrReleased)) {
		t.Errorf("two concurrent Releases = %v, want nil and ErrReleased", got)
	}
	select {
	case <-done:
	case <-time.After(promptly):
		t.Fatal("Done not closed by Release")
	}
	if !p.HeldUntil().IsZero() {
		t.Errorf("HeldUntil after Release = %v, want the zero time", p.HeldUntil())
	}
	if fencedPut(t, n.cli, p, name+"-data") {
		t.Error("a write fenced by a released permit was applied")
	}
	if _, err := n.cli.Delete(bg, name+"-data"); err != nil {
		t.Fatal(err)
	}
	noKeys(t, n.cli, name)
}

func TestBadInput(t *testing.T) {
	c := cluster(t)
	cli := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, cli, 10)
	for _, limit := range []int{0, -1, -1 << 40} {
		sm, err := semaphore.New(s, "/ok", limit)
		if !errors.Is(err, semaphore.ErrInvalidLimit) || !errors.Is(err, queue.ErrInvalidLimit) || sm != nil {
			t.Errorf("New with limit %d = %v, %v; want ErrInvalidLimit", limit, sm, err)
		}
	}
	for _, bad := range []string{"", "x", "x/y", "/", "/a/", "//a", "/a/.p", "/.p/3", "/a\x00b"} {
		if sm, err := semaphore.New(s, bad, 2); !errors.Is(err, semaphore.ErrInvalidName) || sm != nil {
			t.Errorf("New(%q) = %v, %v; want ErrInvalidName", bad, sm, err)
		}
	}
	if sm, err := semaphore.New(nil, "/ok", 2); !errors.Is(err, semaphore.ErrNilSession) || sm != nil {
		t.Errorf("New(nil session) = %v, %v; want ErrNilSession", sm, err)
	}
	closed := testcluster.Session(t, cli, 10)
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if sm, err := semaphore.New(closed, "/ok", 2); !errors.Is(err, semaphore.ErrSessionExpired) || sm != nil {
		t.Errorf("New on a closed session = %v, %v; want ErrSessionExpired", sm, err)
	}

	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	for _, sm := range []*semaphore.Semaphore{nil, {}} {
		if p, err := sm.Acquire(ctx); !errors.Is(err, semaphore.ErrUninitialized) || p != nil {
			t.Errorf("Acquire on a zero Semaphore = %v, %v; want ErrUninitialized", p, err)
		}
		if p, err := sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrUninitialized) || p != nil {
			t.Errorf("TryAcquire on a zero Semaphore = %v, %v; want ErrUninitialized", p, err)
		}
		if sm.Limit() != 0 || sm.Name() != "" {
			t.Errorf("zero Semaphore: Limit %d, Name %q", sm.Limit(), sm.Name())
		}
	}
	for _, p := range []*semaphore.Permit{nil, {}} {
		if err := p.Release(ctx); !errors.Is(err, semaphore.ErrUninitialized) {
			t.Errorf("Release of a zero Permit = %v, want ErrUninitialized", err)
		}
		if p.Token() != 0 || p.Key() != "" || openChan(p.Done()) || !p.HeldUntil().IsZero() {
			t.Errorf("zero Permit: Token %d, Key %q, Done open %v, HeldUntil %v", p.Token(), p.Key(), openChan(p.Done()), p.HeldUntil())
		}
		resp, err := cli.Txn(ctx).If(p.IsOwner()).Commit()
		if err != nil || resp.Succeeded {
			t.Errorf("zero Permit: IsOwner held (err %v)", err)
		}
	}

	// A valid semaphore on a session that ends: its calls say so.
	n := newNode(t, c, 1, "/ends", 2, 10)
	if err := n.s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.sm.Acquire(ctx); !errors.Is(err, semaphore.ErrSessionExpired) {
		t.Errorf("Acquire on an ended session = %v, want ErrSessionExpired", err)
	}
	if _, err := n.sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrSessionExpired) {
		t.Errorf("TryAcquire on an ended session = %v, want ErrSessionExpired", err)
	}
	noKeys(t, cli, "/ok")
	noKeys(t, cli, "/ends")
}

func sorted(keys ...string) []string {
	slices.Sort(keys)
	return keys
}
