package auth_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// A user whose role grants read and write on its prefix only uses every
// primitive there; each hold's fenced write goes through while it holds
// and fails quietly (Succeeded == false, no error) once it has ended, as
// it does for a primitive that never held; and nothing is left under the
// prefix but the data written.
func TestConfinedUserEveryPrimitive(t *testing.T) {
	c := authCluster(t, false)
	root := rootClient(t, c)
	a, b := tenant(t, c), tenant(t, c)
	data := prefix + "/data"

	t.Run("mutex", func(t *testing.T) {
		ctx := ctxFor(t)
		name := prefix + "/mutex"
		ma, mb := mutex(t, a, name), mutex(t, b, name)
		if fencedPut(t, a.Etcd(), ma.IsOwner(), data, "never held") {
			t.Fatal("a write fenced by a Mutex that never held applied")
		}
		if err := ma.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := mb.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
			t.Fatalf("TryLock on a held lock = %v, want ErrLocked", err)
		}
		granted := lockAsync(ctx, mb)
		if !fencedPut(t, a.Etcd(), ma.IsOwner(), data, "mutex") {
			t.Fatal("the holder's fenced write did not apply")
		}
		done := ma.Done()
		if err := ma.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		closes(t, "Done after Unlock", done)
		if err := <-granted; err != nil {
			t.Fatalf("the waiter: %v", err)
		}
		if fencedPut(t, a.Etcd(), ma.IsOwner(), data, "after unlock") {
			t.Fatal("a write fenced by an unlocked Mutex applied")
		}
		if err := mb.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if fencedPut(t, b.Etcd(), mb.IsOwner(), data, "after unlock") {
			t.Fatal("a write fenced by an unlocked Mutex applied")
		}
	})

	t.Run("lockall", func(t *testing.T) {
		ctx := ctxFor(t)
		m1, m2 := mutex(t, a, prefix+"/all/1"), mutex(t, a, prefix+"/all/2")
		if err := fairmutex.LockAll(ctx, m1, m2); err != nil {
			t.Fatal(err)
		}
		if m1.Token() != m2.Token() {
			t.Errorf("LockAll's tokens differ: %d, %d", m1.Token(), m2.Token())
		}
		if !fencedPut(t, a.Etcd(), m1.IsOwner(), data, "lockall") || !fencedPut(t, a.Etcd(), m2.IsOwner(), data, "lockall") {
			t.Fatal("a fenced write of a LockAll hold did not apply")
		}
		for _, m := range []*fairmutex.Mutex{m1, m2} {
			if err := m.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if fencedPut(t, a.Etcd(), m.IsOwner(), data, "after unlock") {
				t.Fatalf("a write fenced by %s after Unlock applied", m.Name())
			}
		}
	})

	t.Run("rwmutex", func(t *testing.T) {
		ctx := ctxFor(t)
		name := prefix + "/rw"
		wa, wb := rw(t, a, name), rw(t, b, name)
		if fencedPut(t, a.Etcd(), wa.IsOwner(), data, "never") || fencedPut(t, a.Etcd(), wa.RIsOwner(), data, "never") {
			t.Fatal("a write fenced by an RWMutex that never held applied")
		}
		if err := wa.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := wb.TryRLock(ctx); err == nil {
			t.Fatal("TryRLock succeeded beside a writer")
		}
		if !fencedPut(t, a.Etcd(), wa.IsOwner(), data, "writer") {
			t.Fatal("the writer's fenced write did not apply")
		}
		if err := wa.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if fencedPut(t, a.Etcd(), wa.IsOwner(), data, "after unlock") {
			t.Fatal("a write fenced by a released writer applied")
		}
		if err := wa.RLock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := wb.RLock(ctx); err != nil {
			t.Fatal(err)
		}
		if !fencedPut(t, b.Etcd(), wb.RIsOwner(), data, "reader") {
			t.Fatal("a reader's fenced write did not apply")
		}
		for _, rw := range []*rwmutex.RWMutex{wa, wb} {
			if err := rw.RUnlock(ctx); err != nil {
				t.Fatal(err)
			}
			if fencedPut(t, a.Etcd(), rw.RIsOwner(), data, "after runlock") {
				t.Fatal("a write fenced by a released reader applied")
			}
		}
	})

	t.Run("semaphore", func(t *testing.T) {
		ctx := ctxFor(t)
		name := prefix + "/sem"
		sa, sb := sem(t, a, name, 3), sem(t, b, name, 3)
		heavy, err := sa.AcquireN(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		light, err := sa.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.TryAcquire(ctx); !errors.Is(err, semaphore.ErrNoPermit) {
			t.Fatalf("TryAcquire on a full semaphore = %v, want ErrNoPermit", err)
		}
		type grant struct {
			p   *semaphore.Permit
			err error
		}
		// Two waiters: the release of heavy lets the first in and touches
		// it (the nested transaction of a permit's hand-off), which wakes
		// the second.
		first, second := make(chan grant, 1), make(chan grant, 1)
		joined := make(chan struct{}, 2)
		sw := sem(t, connect(t, c, authsetup.Tenant, authsetup.TenantPassword, fairlock.Config{
			Hooks: &queue.Hooks{Joined: func(queue.JoinInfo) { joined <- struct{}{} }}}), name, 3)
		go func() { p, err := sw.AcquireN(ctx, 2); first <- grant{p, err} }()
		<-joined
		go func() { p, err := sw.Acquire(ctx); second <- grant{p, err} }()
		<-joined
		if !fencedPut(t, a.Etcd(), heavy.IsOwner(), data, "permit") {
			t.Fatal("a permit's fenced write did not apply")
		}
		if err := heavy.Release(ctx); err != nil {
			t.Fatal(err)
		}
		g := <-first
		if g.err != nil {
			t.Fatalf("the weighted waiter: %v", g.err)
		}
		if fencedPut(t, a.Etcd(), heavy.IsOwner(), data, "after release") {
			t.Fatal("a write fenced by a released permit applied")
		}
		if err := light.Release(ctx); err != nil {
			t.Fatal(err)
		}
		g2 := <-second
		if g2.err != nil {
			t.Fatalf("the waiter behind: %v", g2.err)
		}
		for _, p := range []*semaphore.Permit{g.p, g2.p} {
			if err := p.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if fencedPut(t, a.Etcd(), p.IsOwner(), data, "after release") {
				t.Fatal("a write fenced by a released permit applied")
			}
		}
	})

	t.Run("election", func(t *testing.T) {
		ctx := ctxFor(t)
		name := prefix + "/election"
		joined := make(chan struct{}, 8)
		bj := connect(t, c, authsetup.Tenant, authsetup.TenantPassword,
			fairlock.Config{Hooks: &queue.Hooks{Joined: func(queue.JoinInfo) { joined <- struct{}{} }}})
		ea, eb := elect(t, a, name), elect(t, bj, name)
		if fencedPut(t, a.Etcd(), ea.IsOwner(), data, "never") {
			t.Fatal("a write fenced by an Election that never led applied")
		}
		seen := eb.ObserveWith(ctx, election.ObserveOptions{Empty: true})
		next := func(want string) {
			t.Helper()
			select {
			case l, ok := <-seen:
				switch {
				case !ok:
					t.Fatal("the observer ended")
				case want == "" && !l.Vacant(), want != "" && l.Value != want:
					t.Fatalf("observed %+v, want leader %q", l, want)
				}
			case <-ctx.Done():
				t.Fatalf("no report from the observer, want leader %q", want)
			}
		}
		next("") // vacant
		if err := ea.Campaign(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		next("a")
		if err := ea.Proclaim(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		next("a2")
		if !fencedPut(t, a.Etcd(), ea.IsOwner(), data, "leader") {
			t.Fatal("the leader's fenced write did not apply")
		}
		campaigned := make(chan error, 1)
		go func() { campaigned <- eb.Campaign(ctx, "b") }()
		<-joined
		// Rotate hands the lead to b and waits behind it.
		rotated := make(chan error, 1)
		go func() { rotated <- ea.Rotate(ctx) }()
		next("b")
		if err := <-campaigned; err != nil {
			t.Fatal(err)
		}
		if !fencedPut(t, bj.Etcd(), eb.IsOwner(), data, "b leads") {
			t.Fatal("the new leader's fenced write did not apply")
		}
		if err := eb.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		next("a2")
		if err := <-rotated; err != nil {
			t.Fatal(err)
		}
		if fencedPut(t, bj.Etcd(), eb.IsOwner(), data, "resigned") {
			t.Fatal("a write fenced by a resigned Election applied")
		}
		if !fencedPut(t, a.Etcd(), ea.IsOwner(), data, "leads again") {
			t.Fatal("the fenced write of the leader's new term did not apply")
		}
		if err := ea.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		next("")
		if fencedPut(t, a.Etcd(), ea.IsOwner(), data, "resigned") {
			t.Fatal("a write fenced by a resigned Election applied")
		}
	})

	t.Run("list, position and yield", func(t *testing.T) {
		ctx := ctxFor(t)
		name := prefix + "/queue"
		ma := mutex(t, a, name)
		if err := ma.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		qb, err := b.Queue(name)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := qb.Join(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if pos, err := tk.Position(ctx); err != nil || pos != 1 {
			t.Fatalf("Position = %d, %v; want 1", pos, err)
		}
		line, err := qb.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(line) != 2 || !line[0].Holds || line[1].Holds {
			t.Fatalf("List = %+v, want a holder and a waiter", line)
		}
		asked := ma.YieldRequested()
		got, err := qb.AskToYield(ctx, "tenant's turn")
		if err != nil || len(got) != 1 || got[0].Rev != ma.Token() {
			t.Fatalf("AskToYield = %+v, %v; want the holder asked", got, err)
		}
		closes(t, "YieldRequested", asked)
		if r := ma.YieldReason(); r != "tenant's turn" {
			t.Errorf("YieldReason = %q", r)
		}
		if err := ma.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if !fencedPut(t, b.Etcd(), tk.IsOwner(), data, "ticket") {
			t.Fatal("a ticket's fenced write did not apply")
		}
		if err := tk.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		if fencedPut(t, b.Etcd(), tk.IsOwner(), data, "after leave") {
			t.Fatal("a write fenced by a ticket that left applied")
		}
	})

	if left := keys(t, root); !slices.Equal(left, []string{data}) {
		t.Errorf("keys under %s/ after every hold ended: %q, want only %s", prefix, left, data)
	}
}
