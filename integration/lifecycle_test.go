package integration_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
)

// The tests of the engine's lifecycles (issue 19): where an entry is
// written, where a slot returns to use, where a ticket changes state.

// A permit granted to a ticket whose process is not waiting (its Wait gave
// up, leaving it in line as Wait's doc allows) must not leave a permit idle:
// the release that lets it in also wakes the waiter behind it.
func TestPermitNotIdleWhenGranteeIsNotWaiting(t *testing.T) {
	const name, ttl, limit = "/lifecycle/idle-permit", 10, 2
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	queueOn := func(i int) *queue.Queue {
		q, err := queue.New(testcluster.Session(t, testcluster.Client(t, c, i), ttl), name)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	h1, err := queueOn(0).AcquirePermit(ctx, "h1", limit)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := queueOn(1).AcquirePermit(ctx, "h2", limit)
	if err != nil {
		t.Fatal(err)
	}
	p, err := queueOn(2).JoinPermit(ctx, "p", limit)
	if err != nil {
		t.Fatal(err)
	}
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	if err := p.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("P's Wait behind two holders = %v, want its deadline", err)
	}
	stop()
	w := queueOn(0)
	granted := make(chan error, 1)
	var wt *queue.Ticket
	go func() {
		var err error
		wt, err = w.AcquirePermit(ctx, "w", limit)
		granted <- err
	}()
	waitLine(t, testcluster.Client(t, c, 1), name, 4)
	if err := h1.Leave(ctx); err != nil { // P now holds, by etcd's record
		t.Fatal(err)
	}
	select {
	case err := <-granted:
		t.Fatalf("W granted while two permits are held (P and H2): %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := h2.Leave(ctx); err != nil { // a permit is free: W is the oldest waiter
		t.Fatal(err)
	}
	select {
	case err := <-granted:
		if err != nil {
			t.Fatalf("W: %v", err)
		}
	case <-time.After(giveUpTimeout + 2*time.Second):
		t.Fatal("W not let in while a permit is free: the wake-up depended on P's Wait")
	}
	if err := wt.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoKeys(t, name, testcluster.Client(t, c, 1))
}

// delayer holds back the transactions that put under a prefix, sending
// them on a context the caller cannot cancel: etcd applies them after the
// caller has given up, as a proposal taken by a slow cluster is.
type delayer struct {
	prefix string
	delay  time.Duration
	armed  atomic.Bool
	sent   chan struct{} // closed once a held-back transaction was applied
}

func (d *delayer) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	txn, ok := req.(*pb.TxnRequest)
	if !ok || !putsUnder(txn, d.prefix) || !d.armed.CompareAndSwap(true, false) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	go func() {
		time.Sleep(d.delay)
		invoker(context.WithoutCancel(ctx), method, req, reply, cc, opts...)
		close(d.sent)
	}()
	<-ctx.Done()
	return ctx.Err()
}

func putsUnder(txn *pb.TxnRequest, prefix string) bool {
	for _, op := range append(txn.Success, txn.Failure...) {
		if put := op.GetRequestPut(); put != nil && strings.HasPrefix(string(put.Key), prefix) {
			return true
		}
	}
	return false
}

// A Lock whose ctx ends while etcd is slow gives up on its write; when the
// write is applied later, the entry it makes is owned by nobody. It must
// not wedge the line: the slot is never used again and the entry is
// removed as soon as it appears.
func TestLateJoinLeavesNoStray(t *testing.T) {
	const name, ttl = "/lifecycle/late-join", 30
	c := testcluster.Cluster(t, 3)
	d := &delayer{prefix: name + "/", delay: queue.CleanupTimeout + time.Second, sent: make(chan struct{})}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{c.Members[0].GRPCURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(d.intercept)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	slow := newMutex(t, testcluster.Session(t, cli, ttl), name)
	d.armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := slow.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock whose write etcd holds back = %v, want its deadline", err)
	}
	if took := time.Since(began); took > 200*time.Millisecond+queue.CleanupTimeout+time.Second {
		t.Errorf("Lock returned %v after it began, want within its ctx and CleanupTimeout", took)
	}
	select {
	case <-d.sent:
	case <-time.After(callTimeout):
		t.Fatal("the held-back write was never sent")
	}
	// The late entry must go, and the line must serve others.
	other := newContender(t, c, 1, ttl, name, "other")
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	if err := other.m.Lock(lctx); err != nil {
		t.Fatalf("Lock behind the late write's entry: %v (the line is wedged: %v)", err, line(t, other.cli, name))
	}
	if err := other.m.Unlock(lctx); err != nil {
		t.Fatal(err)
	}
	assertNoKeys(t, name, other.cli)
	// The session goes on working, on other slots.
	wctx, wcancel := context.WithTimeout(context.Background(), callTimeout)
	defer wcancel()
	if err := slow.Lock(wctx); err != nil {
		t.Fatal(err)
	}
	if err := slow.Unlock(wctx); err != nil {
		t.Fatal(err)
	}
}

// Cancellation is bounded by one number, CleanupTimeout after ctx ends,
// for every call: a Lock, and a LockAll of four locks, whose ctx ends
// while every member is unreachable.
func TestCancellationBoundDuringOutage(t *testing.T) {
	const ttl = 30 // the sessions outlive the outage
	c := testcluster.Cluster(t, 3)
	ct := newSettledContender(t, c, 0, ttl, "/lifecycle/bound/0", "one")
	ms := []*fairmutex.Mutex{ct.m}
	for _, n := range []string{"/lifecycle/bound/1", "/lifecycle/bound/2", "/lifecycle/bound/3"} {
		ms = append(ms, newMutex(t, ct.s, n))
	}
	single := newMutex(t, ct.s, "/lifecycle/bound/single")
	blackhole(t, c.Members, ct.cli)
	const wait = time.Second
	bound := wait + queue.CleanupTimeout + 500*time.Millisecond // scheduling slack on a loaded machine
	for _, tc := range []struct {
		name string
		call func(context.Context) error
	}{
		{"Lock", single.Lock},
		{"LockAll of 4", func(ctx context.Context) error { return fairmutex.LockAll(ctx, ms...) }},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		began := time.Now()
		err := tc.call(ctx)
		took := time.Since(began)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s during an outage = %v, want its deadline", tc.name, err)
		}
		if took > bound {
			t.Errorf("%s returned %v after it began, %v after its ctx ended; the bound is CleanupTimeout (%v)",
				tc.name, took.Round(10*time.Millisecond), (took - wait).Round(10*time.Millisecond), queue.CleanupTimeout)
		}
	}
}

// Errors say what happened: a Wait whose ticket another goroutine removes
// returns ErrLeft, not a loss (and no Lost hook fires); the same Mutex (or
// RWMutex) twice in one LockAll is ErrDuplicateLine.
func TestErrorIdentities(t *testing.T) {
	const ttl = 10
	c := testcluster.Cluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	holder := newContender(t, c, 0, ttl, "/lifecycle/errors", "holder")
	if err := holder.m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	var losses atomic.Int64
	s := testcluster.Session(t, testcluster.Client(t, c, 0), ttl)
	q, err := queue.New(s, "/lifecycle/errors", queue.WithHooks(&queue.Hooks{Lost: func(queue.LossInfo) { losses.Add(1) }}))
	if err != nil {
		t.Fatal(err)
	}
	for _, remove := range []struct {
		name string
		do   func(*queue.Ticket) error
	}{
		{"Leave", func(tk *queue.Ticket) error { return tk.Leave(ctx) }},
		{"Abandon", func(tk *queue.Ticket) error { tk.Abandon(ctx); return nil }},
	} {
		tk, err := q.Join(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- tk.Wait(ctx) }()
		waitLine(t, holder.cli, "/lifecycle/errors", 2)
		if err := remove.do(tk); err != nil {
			t.Fatalf("%s: %v", remove.name, err)
		}
		select {
		case err := <-waited:
			if !errors.Is(err, queue.ErrLeft) || errors.Is(err, queue.ErrLost) {
				t.Errorf("Wait while another goroutine calls %s = %v, want ErrLeft", remove.name, err)
			}
		case <-time.After(callTimeout):
			t.Fatalf("Wait did not return after %s", remove.name)
		}
	}
	if n := losses.Load(); n != 0 {
		t.Errorf("Lost hook fired %d times for tickets their owner removed", n)
	}
	m := newMutex(t, s, "/lifecycle/dup")
	if err := fairmutex.LockAll(ctx, m, m); !errors.Is(err, fairmutex.ErrDuplicateLine) {
		t.Errorf("fairmutex.LockAll(m, m) = %v, want ErrDuplicateLine", err)
	}
	rw, err := rwmutex.New(s, "/lifecycle/dup-rw")
	if err != nil {
		t.Fatal(err)
	}
	if err := rwmutex.LockAll(ctx, rwmutex.Hold{RW: rw}, rwmutex.Hold{RW: rw}); !errors.Is(err, rwmutex.ErrDuplicateLine) {
		t.Errorf("rwmutex.LockAll(rw, rw) = %v, want ErrDuplicateLine", err)
	}
	if err := holder.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoKeys(t, "/lifecycle/", holder.cli)
}

// A hold that is lost (its key deleted) and replaced by a new Lock without
// an Unlock gives its slot back: the session keeps using a handful of keys.
func TestNoSlotLeakWhenLostHoldsAreReplaced(t *testing.T) {
	const name, ttl, rounds = "/lifecycle/replaced", 10, 100
	c := testcluster.Cluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*callTimeout)
	defer cancel()
	ct := newContender(t, c, 0, ttl, name, "replacer")
	admin := testcluster.Client(t, c, 0)
	keys := map[string]bool{}
	for range rounds {
		if err := ct.m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		keys[ct.m.Key()] = true
		if _, err := admin.Delete(ctx, ct.m.Key()); err != nil {
			t.Fatal(err)
		}
	}
	// A replaced hold's slot comes back after a read in the background, so
	// a few may be in use at once; a leak uses one more per round.
	if len(keys) > 5 {
		t.Errorf("%d lost-and-replaced holds used %d distinct keys, want a handful: lost holds keep their slots", rounds, len(keys))
	}
}

// A permit's own wake-up of its successor (after a grant that no release
// touched) that fails for good is given up, not retried until the session
// ends: no goroutine is left behind.
func TestNoGoroutineLeftAfterPermanentTouchError(t *testing.T) {
	const name, ttl, limit = "/lifecycle/touch", 10, 2
	c := testcluster.Cluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var refused atomic.Int64
	refuse := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if txn, ok := req.(*pb.TxnRequest); ok && touchesUnder(txn, name+"/") {
			refused.Add(1)
			return status.Error(codes.InvalidArgument, "test: refused for good")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{c.Members[0].GRPCURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(refuse)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	admin := testcluster.Client(t, c, 0)
	on := func(cli *clientv3.Client) *queue.Queue {
		q, err := queue.New(testcluster.Session(t, cli, ttl), name)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	h1, err := on(admin).AcquirePermit(ctx, "h1", limit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := on(admin).AcquirePermit(ctx, "h2", limit); err != nil {
		t.Fatal(err)
	}
	qg, qb := on(cli), on(admin)
	base := queueGoroutines()
	granted := make(chan *queue.Ticket, 1)
	go func() {
		tk, err := qg.AcquirePermit(ctx, "grantee", limit)
		if err != nil {
			t.Error(err)
		}
		granted <- tk
	}()
	waitLine(t, admin, name, 3)
	behind, err := qb.JoinPermit(ctx, "behind", limit) // someone behind: the grantee must touch
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Delete(ctx, h1.Key()); err != nil { // no release: no release touch
		t.Fatal(err)
	}
	tk := <-granted
	testcluster.Eventually(t, callTimeout, "the grantee's touch to be tried", func() bool { return refused.Load() > 0 })
	if err := behind.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, callTimeout, "no goroutine left retrying the touch", func() bool {
		return queueGoroutines() <= base
	})
	if tk != nil {
		tk.Leave(ctx)
	}
}

func touchesUnder(txn *pb.TxnRequest, prefix string) bool {
	for _, op := range txn.Success {
		if put := op.GetRequestPut(); put != nil && put.IgnoreValue && strings.HasPrefix(string(put.Key), prefix) {
			return true
		}
	}
	return false
}

// queueGoroutines counts the goroutines running code of package queue.
func queueGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "fairlock/queue.") {
			n++
		}
	}
	return n
}
