package tenants_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// The release that admits a tenant's next caller writes that caller's
// entry in the lock's line in its own transaction, bound to the caller's
// lease, so that the caller's place is taken before any later entry of
// another tenant; the caller, once it learns of its admission, holds that
// entry (its token is the release's revision).
func TestReleaseHandsTheAdmittedCallerItsEntry(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/deploy/handover")
	a1 := mutexCaller(t, c, 0, l.name, "A1", "A", 1)
	a2 := mutexCaller(t, c, 1, l.name, "A2", "A", 1)
	b1 := mutexCaller(t, c, 2, l.name, "B1", "B", 1)
	for _, cl := range []*caller{a1, a2, b1} {
		l.arrive(cl)
	}
	if got := l.granted(); got != a1 {
		t.Fatalf("first grant to %s, want A1", got.who)
	}

	cli := testcluster.Client(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	now, err := cli.Get(ctx, l.name+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var a1Key string
	for _, kv := range now.Kvs {
		if strings.Contains(string(kv.Key), "/.x/") && kv.Lease == int64(a1.s.Lease()) {
			a1Key = string(kv.Key)
		}
	}
	if a1Key == "" {
		t.Fatalf("no entry of A1 in the lock's line: %v", now.Kvs)
	}
	wch := cli.Watch(ctx, l.name+"/", clientv3.WithPrefix(), clientv3.WithRev(now.Header.Revision+1))
	l.release(a1)

	// The events of A1's release: its entry's delete and, at the same
	// revision, A2's entry, tagged A, on A2's lease.
	released, evs := releaseEvents(t, ctx, wch, a1Key)
	var handed *mvccpb.KeyValue
	for _, ev := range evs {
		if k := string(ev.Kv.Key); ev.Type == mvccpb.PUT && ev.IsCreate() && strings.Contains(k, "/.x/") && strings.HasSuffix(k, "#A") {
			handed = ev.Kv
		}
	}
	if handed == nil {
		t.Fatalf("A1's release at %d: no entry of A's put by then: %v", released, evs)
	}
	if handed.CreateRevision != released || handed.Lease != int64(a2.s.Lease()) || string(handed.Value) != "A2" {
		t.Fatalf("A2's entry %q: created at %d on lease %x holding %q; want the release's revision %d, A2's lease %x, \"A2\"",
			handed.Key, handed.CreateRevision, handed.Lease, handed.Value, released, a2.s.Lease())
	}

	if got := l.granted(); got != b1 {
		t.Fatalf("second grant to %s, want B1", got.who)
	}
	l.release(b1)
	if got := l.granted(); got != a2 {
		t.Fatalf("third grant to %s, want A2", got.who)
	}
	if a2.token() != handed.CreateRevision {
		t.Errorf("A2's token %d, want the handed entry's %d", a2.token(), handed.CreateRevision)
	}
	l.release(a2)
	l.empty(c)
}

// A release hands over only to a caller whose entry is exclusive: a
// caller of the tenant waiting to take a shared entry gets no entry from
// the release (an exclusive one would block, and put it out of order), and
// takes its own once admitted.
func TestReleaseHandsNothingToASharedCaller(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	name := "/deploy/handover-shared"
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	qr, err := queue.New(newSession(t, c, 0, 10), name, queue.WithTenant("A", 1))
	if err != nil {
		t.Fatal(err)
	}
	qx, err := queue.New(newSession(t, c, 1, 10), name, queue.WithTenant("A", 1))
	if err != nil {
		t.Fatal(err)
	}
	r, err := qr.Acquire(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		t   *queue.Ticket
		err error
	}
	got := make(chan result, 1)
	go func() {
		x, err := qx.AcquireShared(ctx, "x")
		got <- result{x, err}
	}()
	cli := testcluster.Client(t, c, 2)
	testcluster.Eventually(t, waitLimit, "x's admission entry", func() bool {
		es, err := qr.List(ctx)
		return err == nil && slices.ContainsFunc(es, func(e queue.Entry) bool { return e.Value == "x" })
	})
	now, err := cli.Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	wch := cli.Watch(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithRev(now.Header.Revision+1))
	if err := r.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	released, evs := releaseEvents(t, ctx, wch, r.Key())
	for _, ev := range evs {
		if k := string(ev.Kv.Key); ev.Type == mvccpb.PUT && strings.Contains(k, "/.x/") {
			t.Errorf("an exclusive entry %q put at revision %d, for a caller that waits for a shared one", k, ev.Kv.ModRevision)
		}
	}
	var x result
	select {
	case x = <-got:
	case <-ctx.Done():
		t.Fatal("x not granted")
	}
	if x.err != nil || x.t.Kind() != queue.Shared || x.t.Rev() <= released {
		t.Fatalf("x: %v, %v; want a shared entry written after the release (%d)", x.t, x.err, released)
	}
	if err := x.t.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitKeys(t, cli, name+"/", 0)
}

// releaseEvents reads wch until the delete of key, a release, and returns
// its revision and every event read, the release's own included (etcd
// sends the events of one revision together).
func releaseEvents(t *testing.T, ctx context.Context, wch clientv3.WatchChan, key string) (int64, []*clientv3.Event) {
	t.Helper()
	var evs []*clientv3.Event
	for {
		select {
		case wr := <-wch:
			if err := wr.Err(); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, wr.Events...)
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE && string(ev.Kv.Key) == key {
					return ev.Kv.ModRevision, evs
				}
			}
		case <-ctx.Done():
			t.Fatalf("the release of %s not seen", key)
		}
	}
}
