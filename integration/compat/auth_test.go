package compat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
)

// The confined-user smoke test: auth turned on through the client (a root
// user, a role granted read and write on one prefix, a role granted read
// only), every primitive used by the confined user under its prefix, the
// fenced write after each hold ends failing quietly (Succeeded == false, no
// error), and the reader's writes refused at once, leaving nothing. Auth is
// turned off and the users deleted afterwards, whatever happened, so the
// server is left as it was for the rest of the suite.
func TestConfinedUser(t *testing.T) {
	eps := endpoints(t)
	base := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*callTimeout)
	defer cancel()
	admin := etcdClient(t, eps, "", "")
	if err := authsetup.Enable(ctx, admin, base); err != nil {
		t.Fatal(err)
	}
	root := etcdClient(t, eps, authsetup.Root, authsetup.RootPassword)
	// Registered first, so it runs last: after the users' Clients close.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if _, err := root.Delete(ctx, base+"/", clientv3.WithPrefix()); err != nil {
			t.Errorf("removing the test's keys: %v", err)
		}
		if err := authsetup.Disable(ctx, root); err != nil {
			t.Errorf("leaving the server clean: %v", err)
		}
	})
	tenant := connect(t, fairlock.Config{Username: authsetup.Tenant, Password: authsetup.TenantPassword})
	reader := connect(t, fairlock.Config{Username: authsetup.Reader, Password: authsetup.ReaderPassword})
	cli := tenant.Etcd()
	data := base + "/data"
	fenced := func(what string, cmp clientv3.Cmp, want bool) {
		t.Helper()
		resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(data, what)).Commit()
		switch {
		case err != nil:
			t.Fatalf("%s: fenced write: %v, want Succeeded %v and no error", what, err, want)
		case resp.Succeeded != want:
			t.Fatalf("%s: fenced write Succeeded = %v, want %v", what, resp.Succeeded, want)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	m, err := tenant.Mutex(base + "/mutex")
	must(err)
	fenced("mutex never held", m.IsOwner(), false)
	must(m.Lock(ctx))
	fenced("mutex held", m.IsOwner(), true)
	must(m.Unlock(ctx))
	fenced("mutex unlocked", m.IsOwner(), false)

	m1, err := tenant.Mutex(base + "/all/1")
	must(err)
	m2, err := tenant.Mutex(base + "/all/2")
	must(err)
	must(fairmutex.LockAll(ctx, m1, m2))
	fenced("LockAll held", m2.IsOwner(), true)
	must(m1.Unlock(ctx))
	must(m2.Unlock(ctx))
	fenced("LockAll unlocked", m2.IsOwner(), false)

	rw, err := tenant.RWMutex(base + "/rw")
	must(err)
	must(rw.Lock(ctx))
	fenced("writer", rw.IsOwner(), true)
	must(rw.Unlock(ctx))
	fenced("writer unlocked", rw.IsOwner(), false)
	must(rw.RLock(ctx))
	fenced("reader", rw.RIsOwner(), true)
	must(rw.RUnlock(ctx))
	fenced("reader unlocked", rw.RIsOwner(), false)

	sm, err := tenant.Semaphore(base+"/sem", 3)
	must(err)
	p, err := sm.AcquireN(ctx, 2)
	must(err)
	q, err := tenant.Queue(base + "/sem")
	must(err)
	asked := p.YieldRequested()
	if _, err := q.AskToYield(ctx, "compat"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatal("the permit was never asked to yield")
	}
	fenced("permit", p.IsOwner(), true)
	must(p.Release(ctx))
	fenced("permit released", p.IsOwner(), false)

	e, err := tenant.Election(base + "/election")
	must(err)
	seen := e.ObserveWith(ctx, election.ObserveOptions{Empty: true})
	<-seen // vacant
	must(e.Campaign(ctx, "tenant"))
	if l := <-seen; l.Value != "tenant" {
		t.Fatalf("observed %+v, want the tenant leading", l)
	}
	must(e.Rotate(ctx)) // alone in line: leads again, under a new token
	fenced("leader", e.IsOwner(), true)
	must(e.Resign(ctx))
	fenced("resigned", e.IsOwner(), false)

	// The reader may read the line, and is refused every write at once.
	rm, err := reader.Mutex(base + "/mutex")
	must(err)
	rctx, rcancel := context.WithTimeout(ctx, callTimeout)
	defer rcancel()
	start := time.Now()
	err = rm.Lock(rctx)
	if !errors.Is(err, fairlock.ErrAccessDenied) || !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("the reader's Lock = %v, want ErrAccessDenied (permission denied)", err)
	}
	if rctx.Err() != nil {
		t.Fatalf("the reader's Lock took until its ctx ended (%v)", time.Since(start))
	}
	rq, err := reader.Queue(base + "/mutex")
	must(err)
	if line, err := rq.List(ctx); err != nil || len(line) != 0 {
		t.Fatalf("the reader's List = %+v, %v; want an empty line", line, err)
	}

	resp, err := root.Get(ctx, base+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	must(err)
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Key) != data {
		t.Errorf("keys under %s/: %v, want only %s", base, resp.Kvs, data)
	}
}

// etcdClient returns a client of eps logged in as user (none for ""),
// closed when the test ends.
func etcdClient(t *testing.T, eps []string, user, password string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
