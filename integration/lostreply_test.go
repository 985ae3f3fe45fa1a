package integration_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// replyLoser makes a client lose the reply of the next transaction that
// writes (puts, or with deletes set, deletes) under a prefix: the
// transaction reaches etcd and is applied, and the client gets a connection
// error instead of the answer, as when a connection breaks between the two.
type replyLoser struct {
	prefix  string
	deletes bool
	armed   atomic.Bool
	lost    atomic.Int64 // replies lost so far
	// afterLoss, if set, runs once a reply is lost, before the client sees
	// the error: something that happens between an attempt and its retry.
	afterLoss func()
}

func (r *replyLoser) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if txn, ok := req.(*pb.TxnRequest); ok && err == nil && r.writesUnder(txn) && r.armed.CompareAndSwap(true, false) {
		r.lost.Add(1)
		if r.afterLoss != nil {
			r.afterLoss()
		}
		// Not a reason etcd's client retries a write on: the library must.
		return status.Error(codes.Unavailable, "test: connection lost before the reply")
	}
	return err
}

func (r *replyLoser) writesUnder(txn *pb.TxnRequest) bool {
	for _, op := range append(txn.Success, txn.Failure...) {
		key := ""
		if put := op.GetRequestPut(); put != nil && !r.deletes {
			key = string(put.Key)
		}
		if del := op.GetRequestDeleteRange(); del != nil && r.deletes {
			key = string(del.Key)
		}
		if key != "" && strings.HasPrefix(key, r.prefix) {
			return true
		}
	}
	return false
}

// replyLosingClient returns a client of member i whose replies r may lose.
func replyLosingClient(t *testing.T, c *integration.Cluster, i int, r *replyLoser) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{c.Members[i].GRPCURL},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(r.intercept)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// A join whose write reaches etcd but whose reply is lost is retried, and
// the retry must find the entry it wrote instead of writing a second one
// (the protocol's If(CreateRevision(key) == 0) guard). Otherwise the client
// would stand in line twice, and the entry it does not know of would block
// everyone behind it for as long as the session lives. Shown for
// queue.Join (the ticket must be the entry written) and for a Mutex's Lock
// (granted in its place, leaving nothing behind); a TryLock, which does not
// retry, must take back what it wrote.
func TestJoinRetriedAfterLostReply(t *testing.T) {
	const name, ttl = "/faults/lost-reply", 10
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 1, ttl, name, "holder")
	hold := holder.lock(t, &h)
	hold.granted(t, grantTimeout)

	loser := &replyLoser{prefix: name + "/"}
	cli := replyLosingClient(t, c, 0, loser)
	s := testcluster.Session(t, cli, ttl)
	q, err := queue.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	loser.armed.Store(true)
	op := h.Begin("joiner", false)
	tk, err := q.Join(ctx, "joiner")
	if err != nil {
		t.Fatalf("Join after a lost reply: %v", err)
	}
	if loser.lost.Load() != 1 {
		t.Fatalf("%d replies lost, want 1: the fault missed", loser.lost.Load())
	}
	op.Joined(tk.Rev())
	got := line(t, holder.cli, name)
	if len(got) != 2 || got[1] != (entryRev{tk.Key(), tk.Rev()}) {
		t.Fatalf("line after the retried Join = %v, want the holder's and the ticket's %s@%d only", got, tk.Key(), tk.Rev())
	}
	if pos, err := tk.Position(ctx); err != nil || pos != 1 {
		t.Fatalf("Position = %d, %v; want 1 (behind the holder)", pos, err)
	}

	// A Mutex on the same client, behind the ticket.
	m, err := fairmutex.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	loser.armed.Store(true)
	ma := &attempt{who: "mutex", m: m, op: h.Begin("mutex", false), result: make(chan error, 1), done: make(chan struct{})}
	lctx, stop := context.WithCancel(context.Background())
	go func() {
		defer close(ma.done)
		err := m.Lock(lctx)
		if err == nil {
			ma.op.Granted(m.Token())
		} else {
			ma.op.Failed(err)
		}
		ma.result <- err
	}()
	t.Cleanup(func() { stop(); <-ma.done })
	testcluster.Eventually(t, grantTimeout, "the Lock's reply to be lost", func() bool { return loser.lost.Load() == 2 })
	waitLine(t, holder.cli, name, 3)
	assertPending(t, "behind the holder and the ticket", ma)

	hold.mustUnlock(t)
	if err := tk.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	op.Granted(tk.Rev())
	assertPending(t, "behind the ticket", ma)
	if err := op.Release(func() error { return tk.Leave(ctx) }); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	ma.granted(t, grantTimeout)
	if got := line(t, holder.cli, name); len(got) != 1 || got[0] != (entryRev{m.Key(), m.Token()}) {
		t.Fatalf("line while the Mutex holds = %v, want its entry %s@%d only", got, m.Key(), m.Token())
	}
	ma.mustUnlock(t)
	checkHistory(t, &h)
	assertNoKeys(t, name, holder.cli, cli)

	// TryLock retries like every call: its retry finds the entry its lost
	// reply wrote, and holds the lock with it, rather than leaving it behind
	// or writing a second one.
	loser.armed.Store(true)
	if err := m.TryLock(ctx); err != nil {
		t.Fatalf("TryLock whose reply was lost = %v, want the retry to find its entry", err)
	}
	if loser.lost.Load() != 3 {
		t.Fatalf("%d replies lost, want 3: the fault missed TryLock", loser.lost.Load())
	}
	if got := line(t, holder.cli, name); len(got) != 1 || got[0] != (entryRev{m.Key(), m.Token()}) || m.Token() == 0 {
		t.Fatalf("line after a TryLock whose reply was lost = %v, want the Mutex's entry %s@%d only", got, m.Key(), m.Token())
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// An Unlock whose fenced delete reaches etcd but whose reply is lost is
// retried; the retry finds the entry gone while the session's lease lives,
// so the first attempt removed it: Unlock reports success, not ErrLost, and
// the waiter behind, granted by that delete, keeps its hold.
func TestUnlockRetriedAfterLostReply(t *testing.T) {
	const name, ttl = "/faults/lost-unlock-reply", 10
	c := testcluster.Cluster(t, 3)
	var h history.History

	loser := &replyLoser{prefix: name + "/", deletes: true}
	cli := replyLosingClient(t, c, 0, loser)
	holder := contenderOn(t, cli, ttl, name, "holder")
	waiter := newContender(t, c, 1, ttl, name, "waiter")
	hold := holder.lock(t, &h)
	hold.granted(t, grantTimeout)
	w := waiter.lock(t, &h)
	waitLine(t, waiter.cli, name, 2)

	loser.armed.Store(true)
	if err := hold.unlock(t); err != nil {
		t.Fatalf("Unlock whose reply was lost = %v, want nil: the retry must see its own release", err)
	}
	if loser.lost.Load() != 1 {
		t.Fatalf("%d replies lost, want 1: the fault missed", loser.lost.Load())
	}
	if holder.m.Token() != 0 {
		t.Fatal("the Mutex still holds after its Unlock")
	}
	w.granted(t, grantTimeout) // the delete was applied
	newEntry := entryRev{waiter.m.Key(), waiter.m.Token()}
	if got := line(t, waiter.cli, name); len(got) != 1 || got[0] != newEntry {
		t.Fatalf("line after the Unlock = %v, want the new holder's %v only", got, newEntry)
	}
	w.mustUnlock(t)
	checkHistory(t, &h)
	assertNoKeys(t, name, waiter.cli, cli)
}
