package tenants_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

func TestBadTenantsAndSharesRefusedWithoutIO(t *testing.T) {
	c := testcluster.Cluster(t, 1)
	cli, calls := testcluster.CountingClient(t, c, 0)
	s := testcluster.Session(t, cli, 10)
	before := calls.Unary()
	for _, tc := range []struct {
		tenant string
		share  int
		want   error
	}{
		{"", 1, queue.ErrInvalidTenant},
		{"a/b", 1, queue.ErrInvalidTenant},
		{".a", 1, queue.ErrInvalidTenant},
		{"a\nb", 1, queue.ErrInvalidTenant},
		{string(make([]byte, 129)), 1, queue.ErrInvalidTenant},
		{"team", 0, queue.ErrInvalidShare},
		{"team", -2, queue.ErrInvalidShare},
	} {
		opt := queue.WithTenant(tc.tenant, tc.share)
		if _, err := fairmutex.New(s, "/bad", opt); !errors.Is(err, tc.want) {
			t.Errorf("fairmutex.New with WithTenant(%q, %d) = %v, want %v", tc.tenant, tc.share, err, tc.want)
		}
		if _, err := semaphore.New(s, "/bad", 3, opt); !errors.Is(err, tc.want) {
			t.Errorf("semaphore.New with WithTenant(%q, %d) = %v, want %v", tc.tenant, tc.share, err, tc.want)
		}
	}
	good := queue.WithTenant("team", 1)
	if _, err := rwmutex.New(s, "/bad", good); !errors.Is(err, queue.ErrTenantUnsupported) {
		t.Errorf("rwmutex.New with a tenant = %v, want ErrTenantUnsupported", err)
	}
	if _, err := election.New(s, "/bad", good); !errors.Is(err, queue.ErrTenantUnsupported) {
		t.Errorf("election.New with a tenant = %v, want ErrTenantUnsupported", err)
	}
	m1, _ := fairmutex.New(s, "/bad/1", good)
	m2, _ := fairmutex.New(s, "/bad/2")
	if err := fairmutex.LockAll(context.Background(), m1, m2); !errors.Is(err, queue.ErrTenantUnsupported) {
		t.Errorf("LockAll over a tenant's Mutex = %v, want ErrTenantUnsupported", err)
	}
	q, _ := queue.New(s, "/bad", good)
	if _, err := q.Join(context.Background(), "x"); !errors.Is(err, queue.ErrTenantUnsupported) {
		t.Errorf("Join on a tenant's Queue = %v, want ErrTenantUnsupported", err)
	}
	if n := calls.Unary() - before; n != 0 {
		t.Errorf("refusing bad input took %d calls to etcd, want none", n)
	}
}

func TestShareMismatchWritesNothing(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	holder := mutexCaller(t, c, 0, "/mismatch", "A1", "A", 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := holder.lock(ctx); err != nil {
		t.Fatal(err)
	}
	cli := testcluster.Client(t, c, 1)
	other := mutexCaller(t, c, 2, "/mismatch", "A2", "A", 2)
	rev := testcluster.Revision(t, cli)
	if err := other.lock(ctx); !errors.Is(err, queue.ErrShareMismatch) {
		t.Errorf("Lock with share 2 beside a holder of share 1 = %v, want ErrShareMismatch", err)
	}
	m, _ := fairmutex.New(other.s, "/mismatch", queue.WithTenant("A", 3))
	if err := m.TryLock(ctx); !errors.Is(err, queue.ErrShareMismatch) {
		t.Errorf("TryLock with share 3 beside a holder of share 1 = %v, want ErrShareMismatch", err)
	}
	if now := testcluster.Revision(t, cli); now != rev {
		t.Errorf("the store moved from revision %d to %d: a refused caller wrote", rev, now)
	}
	// Another tenant's share is its own business.
	b, _ := fairmutex.New(other.s, "/mismatch", queue.WithTenant("B", 5))
	if err := b.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Errorf("TryLock of tenant B, share 5 = %v, want ErrLocked", err)
	}
}

func TestTryLockOfATenant(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	s := newSession(t, c, 0, 10)
	m, _ := fairmutex.New(s, "/try", queue.WithTenant("A", 2))
	if err := m.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
	cli := testcluster.Client(t, c, 1)
	if keys := testcluster.Keys(t, cli, "/try/"); len(keys) != 2 {
		t.Errorf("a tenant's hold has keys %q, want its admission entry and its entry", keys)
	}
	rev := testcluster.Revision(t, cli)
	for _, tenant := range []string{"A", "B", ""} {
		share := 2
		if tenant == "" {
			share = 0
		}
		other, _ := fairmutex.New(newSession(t, c, 2, 10), "/try", opts("x", tenant, share)...)
		if err := other.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
			t.Errorf("TryLock of tenant %q on a held lock = %v, want ErrLocked", tenant, err)
		}
	}
	if now := testcluster.Revision(t, cli); now != rev {
		t.Errorf("failed TryLocks moved the store from revision %d to %d", rev, now)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitKeys(t, cli, "/try/", 0)
}

// Cancelling a tenant's caller, whether it waits for admission or in the
// lock's line, leaves nothing of it.
func TestCancelInEitherLineLeavesNothing(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/cancel")
	a1 := mutexCaller(t, c, 0, l.name, "A1", "A", 1)
	a2 := mutexCaller(t, c, 1, l.name, "A2", "A", 1) // waits for admission
	b1 := mutexCaller(t, c, 2, l.name, "B1", "B", 1) // admitted, waits in the lock's line
	for _, cl := range []*caller{a1, a2, b1} {
		l.arrive(cl)
	}
	ok := func(es []queue.Entry) bool { ok, _ := settled(es); return ok && len(es) == 5 }
	testcluster.Eventually(t, waitLimit, "A1 and B1 in the lock's line, A2 waiting for admission", func() bool { return ok(l.list()) })
	for _, cl := range []*caller{a2, b1} {
		cl.cancel()
		select {
		case err := <-cl.done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: Lock = %v, want context.Canceled", cl.who, err)
			}
		case <-time.After(waitLimit):
			t.Fatalf("%s: Lock did not return within %v of its ctx's end", cl.who, waitLimit)
		}
	}
	testcluster.Eventually(t, waitLimit, "only A1's two entries left", func() bool {
		es := l.list()
		return len(es) == 2 && es[0].Value == "A1" && es[1].Value == "A1"
	})
	if got := <-l.grants; got != a1 {
		t.Fatalf("granted %s, want A1", got.who)
	}
	l.release(a1)
	l.empty(c)
}

// A tenant's hold is the entry in the lock's line: its token rises across
// tenants, IsOwner fences with it, and when it is lost (its key deleted)
// Done closes, the admission entry goes too, and the tenant's next caller
// and the next tenant get their turns.
func TestLostHoldOfATenant(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	name := "/lost"
	cli := testcluster.Client(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m, _ := fairmutex.New(newSession(t, c, 0, 10), name, queue.WithTenant("A", 1))
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(testcluster.Keys(t, cli, name+"/"), m.Key()) {
		t.Fatalf("the hold's key %q is not under %s/", m.Key(), name)
	}
	l := newLine(t, c, name)
	a2 := mutexCaller(t, c, 1, name, "A2", "A", 1)
	b1 := mutexCaller(t, c, 2, name, "B1", "B", 1)
	l.arrive(b1)
	l.arrive(a2)
	resp, err := cli.Txn(ctx).If(m.IsOwner()).Then(clientv3.OpPut("/lost-fenced", "1")).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("fenced write while holding: %v, succeeded %v", err, resp != nil && resp.Succeeded)
	}
	if _, err := cli.Delete(ctx, m.Key()); err != nil { // as `fairlock rm` would
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(waitLimit):
		t.Fatal("Done did not close when the hold's key was deleted")
	}
	resp, err = cli.Txn(ctx).If(m.IsOwner()).Then(clientv3.OpPut("/lost-fenced", "2")).Commit()
	if err != nil || resp.Succeeded {
		t.Errorf("fenced write after the loss: %v, succeeded %v; want not applied", err, resp != nil && resp.Succeeded)
	}
	got := l.serve(2, 1)
	if want := []string{"B1", "A2"}; !slices.Equal(got, want) {
		t.Errorf("after the loss, granted %v, want %v (A's admission freed)", got, want)
	}
	if err := m.Unlock(ctx); !errors.Is(err, fairmutex.ErrLost) {
		t.Errorf("Unlock of the lost hold = %v, want ErrLost", err)
	}
	l.empty(c)
}

// A tenant's holder whose session's lease expires lets the next tenant in,
// and its admission entry goes with the lease.
func TestExpiredTenantHolderLetsTheNextTenantIn(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	name := "/expired"
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	holderCli := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, holderCli, 1)
	m, _ := fairmutex.New(s, name, queue.WithTenant("A", 1))
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	l := newLine(t, c, name)
	b1 := mutexCaller(t, c, 1, name, "B1", "B", 1)
	a2 := mutexCaller(t, c, 2, name, "A2", "A", 1)
	l.arrive(b1)
	l.arrive(a2)
	// The holder's process freezes: no more keep-alives, no release.
	holderCli.Close()
	got := l.serve(2, 1)
	if want := []string{"B1", "A2"}; !slices.Equal(got, want) {
		t.Errorf("after the holder's lease expired, granted %v, want %v", got, want)
	}
	l.empty(c)
}

// Tokens rise in grant order across tenants.
func TestTokensRiseAcrossTenants(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/tokens")
	var cs []*caller
	for i, spec := range []struct{ who, tenant string }{{"A1", "A"}, {"A2", "A"}, {"B1", "B"}, {"plain1", ""}, {"B2", "B"}} {
		cl := mutexCaller(t, c, i, l.name, spec.who, spec.tenant, 1)
		cs = append(cs, cl)
		l.arrive(cl)
	}
	var tokens []int64
	seen := map[string]int64{}
	for range cs {
		select {
		case g := <-l.grants:
			seen[g.who] = g.token()
			tokens = append(tokens, g.token())
			l.release(g)
		case <-time.After(waitLimit):
			t.Fatalf("no grant within %v (tokens so far %v)", waitLimit, tokens)
		}
	}
	if !slices.IsSorted(tokens) || len(tokens) != len(cs) {
		t.Errorf("tokens in grant order %v (by caller %v): not rising", tokens, seen)
	}
	l.empty(c)
}

// A semaphore's share counts callers, whatever their weights: each tenant
// has at most share callers in the permit line, and the permits alternate.
func TestSemaphoreTenants(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/gpus")
	for i, spec := range []struct {
		who, tenant string
		n           int
	}{{"A1", "A", 1}, {"A2", "A", 2}, {"A3", "A", 1}, {"B1", "B", 2}, {"B2", "B", 1}} {
		l.arrive(permitCaller(t, c, i, l.name, spec.who, spec.tenant, 1, 4, spec.n))
	}
	got := l.serve(5, 2)
	if want := []string{"A1", "B1", "A2", "B2", "A3"}; !slices.Equal(got, want) {
		t.Errorf("permits granted %v, want %v", got, want)
	}
	l.empty(c)
}

// Waiting for admission is herd-free: a release wakes the caller it
// admits, not the tenant's line.
func TestAdmissionWakesOnlyTheAdmitted(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/herd")
	holder := mutexCaller(t, c, 0, l.name, "A1", "A", 1)
	l.arrive(holder)
	var counted []*testcluster.Calls
	for i := range 4 {
		cli, calls := testcluster.CountingClient(t, c, i)
		s := testcluster.Session(t, cli, 10)
		who := "A" + string(rune('2'+i))
		m, err := fairmutex.New(s, l.name, opts(who, "A", 1)...)
		if err != nil {
			t.Fatal(err)
		}
		l.arrive(&caller{who: who, s: s, lock: m.Lock, unlock: m.Unlock, token: m.Token})
		counted = append(counted, calls)
	}
	if g := <-l.grants; g != holder {
		t.Fatalf("granted %s first, want A1", g.who)
	}
	// Let every waiter's watch be in place before the release.
	testcluster.Eventually(t, waitLimit, "the waiters' watches", func() bool {
		for _, calls := range counted {
			if calls.WatchStreams() == 0 {
				return false
			}
		}
		return true
	})
	before := make([]int64, len(counted))
	for i, calls := range counted {
		before[i] = calls.WatchEvents()
	}
	l.release(holder)
	var next *caller
	select {
	case next = <-l.grants:
	case <-time.After(waitLimit):
		t.Fatal("nobody granted after the release")
	}
	if next.who != "A2" {
		t.Fatalf("granted %s after A1, want A2", next.who)
	}
	for i, calls := range counted[1:] {
		if woke := calls.WatchEvents() - before[i+1]; woke != 0 {
			t.Errorf("A%d, still waiting for admission, was sent %d watch events by A1's release", i+3, woke)
		}
	}
	l.release(next)
	got := l.serve(3, 1)
	if want := []string{"A3", "A4", "A5"}; !slices.Equal(got, want) {
		t.Errorf("then granted %v, want %v", got, want)
	}
	l.empty(c)
}
