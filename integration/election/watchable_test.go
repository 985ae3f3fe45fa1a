package election_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// These tests break the observer's watch in the ways etcd breaks it (its
// member cut off from the majority, its connection held back, its history
// compacted) while terms pass on the majority, and check what Observe
// promises: every term in order after a broken watch, a gap reported only
// after compaction, a vacant line when asked for.

// spy records what etcd tells one client's watches, and its reads.
type spy struct {
	mu       sync.Mutex
	ranges   int     // Range requests sent: the observer's reads of the line
	creates  []int64 // start revision of every watch created
	noLeader int     // watch streams ended because the member had no leader
	maxRevs  int     // most revisions carried by one watch response
	compacts int     // watch responses saying the history was compacted
}

func (s *spy) get(f func(s *spy) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// startRevs returns the start revision of every watch created so far.
func (s *spy) startRevs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.creates)
}

func (s *spy) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := req.(*pb.RangeRequest); ok {
		s.mu.Lock()
		s.ranges++
		s.mu.Unlock()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (s *spy) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &spyStream{ClientStream: cs, s: s}, nil
}

type spyStream struct {
	grpc.ClientStream
	s *spy
}

func (w *spyStream) SendMsg(m any) error {
	if req, ok := m.(*pb.WatchRequest); ok && req.GetCreateRequest() != nil {
		w.s.mu.Lock()
		w.s.creates = append(w.s.creates, req.GetCreateRequest().StartRevision)
		w.s.mu.Unlock()
	}
	return w.ClientStream.SendMsg(m)
}

func (w *spyStream) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if err != nil {
		if strings.Contains(err.Error(), rpctypes.ErrNoLeader.Error()) {
			w.s.noLeader++
		}
		return err
	}
	if resp, ok := m.(*pb.WatchResponse); ok {
		if strings.Contains(resp.CancelReason, rpctypes.ErrNoLeader.Error()) {
			w.s.noLeader++
		}
		if resp.CompactRevision != 0 {
			w.s.compacts++
		}
		var revs []int64
		for _, ev := range resp.Events {
			if !slices.Contains(revs, ev.Kv.ModRevision) {
				revs = append(revs, ev.Kv.ModRevision)
			}
		}
		w.s.maxRevs = max(w.s.maxRevs, len(revs))
	}
	return err
}

// spyClient returns a client of member i, through its bridge, and its spy;
// closed when the test ends.
func spyClient(t *testing.T, c *integration.Cluster, i int) (*clientv3.Client, *spy) {
	t.Helper()
	s := &spy{}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{c.Members[i].GRPCURL},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(s.unary), grpc.WithChainStreamInterceptor(s.stream)},
	})
	if err != nil {
		t.Fatalf("client of member %d: %v", i, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, s
}

// directClient returns a client of member m that does not go through its
// bridge, so it reaches the member while the bridge holds others back.
func directClient(t *testing.T, m *integration.Member) *clientv3.Client {
	t.Helper()
	addr := m.GRPCListener.Addr()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr.Network() + "://" + addr.String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("direct client of %s: %v", m.Name, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// cut is a three-member cluster with the observer's member, a follower,
// and the two others, where the candidates run.
type cut struct {
	c      *integration.Cluster
	om     int // the observer's member
	others []*integration.Member
	maj    []int // the others' indexes
}

func newCut(t *testing.T) *cut {
	t.Helper()
	c := testcluster.Cluster(t, 3)
	lead := c.WaitLeader(t)
	x := &cut{c: c, om: (lead + 1) % 3}
	for i, m := range c.Members {
		if i != x.om {
			x.others = append(x.others, m)
			x.maj = append(x.maj, i)
		}
	}
	return x
}

// partition cuts the observer's member off from the others and waits
// until etcd has ended the observer's leader-requiring watch.
func (x *cut) partition(t *testing.T, s *spy) {
	t.Helper()
	before := s.get(func(s *spy) int { return s.noLeader })
	x.c.Members[x.om].InjectPartition(t, x.others...)
	testcluster.Eventually(t, waitLimit, "the observer's watch to end for want of a leader",
		func() bool { return s.get(func(s *spy) int { return s.noLeader }) > before })
}

func (x *cut) heal(t *testing.T) {
	t.Helper()
	x.c.Members[x.om].RecoverPartition(t, x.others...)
}

// rotation is k candidates on the majority taking turns, and the record of
// every leader and value they had, in order.
type rotation struct {
	t       *testing.T
	ctx     context.Context
	nodes   []*node
	calling map[*node]<-chan error // each candidate's Campaign or Rotate under way
	leader  *node
	led     []election.Leader
}

// startRotation lines up k candidates on the members maj and waits for the
// first to lead.
func startRotation(t *testing.T, ctx context.Context, c *integration.Cluster, maj []int, name string, k int) *rotation {
	t.Helper()
	r := &rotation{t: t, ctx: ctx, calling: map[*node]<-chan error{}}
	for i := range k {
		n := newNode(t, c, maj[i%len(maj)], name, 30, fmt.Sprintf("cand-%d", i))
		r.nodes = append(r.nodes, n)
		r.calling[n] = campaignInLine(t, ctx, n, name, i+1)
	}
	r.leader = r.nodes[0]
	if err := await(t, r.calling[r.leader], "Campaign"); err != nil {
		t.Fatal(err)
	}
	r.led = append(r.led, r.leader.leader())
	return r
}

// rotate has the leader rotate and waits for the next one to lead.
func (r *rotation) rotate() {
	r.t.Helper()
	rotating := r.leader
	r.calling[rotating] = async(r.t, func() error { return rotating.e.Rotate(r.ctx) })
	r.leader = r.nodes[(slices.Index(r.nodes, r.leader)+1)%len(r.nodes)]
	if err := await(r.t, r.calling[r.leader], r.leader.who+" taking the lead"); err != nil {
		r.t.Fatal(err)
	}
	r.led = append(r.led, r.leader.leader())
}

// proclaim has the leader proclaim a new value.
func (r *rotation) proclaim() {
	r.t.Helper()
	r.leader.value = fmt.Sprintf("%s@%d", r.leader.who, len(r.led))
	if err := r.leader.e.Proclaim(r.ctx, r.leader.value); err != nil {
		r.t.Fatal(err)
	}
	r.led = append(r.led, r.leader.leader())
}

// receive returns the next report on seen, failing the test if none comes
// within waitLimit or the channel closes.
func receive(t *testing.T, seen <-chan election.Leader, what string) election.Leader {
	t.Helper()
	select {
	case l, ok := <-seen:
		if !ok {
			t.Fatalf("%s: Observe's channel closed", what)
		}
		return l
	case <-time.After(waitLimit):
		t.Fatalf("%s: nothing observed for %v", what, waitLimit)
	}
	return election.Leader{}
}

// receiveAll fails the test unless seen reports exactly want next, in
// order.
func receiveAll(t *testing.T, seen <-chan election.Leader, want []election.Leader) {
	t.Helper()
	for i, w := range want {
		if got := receive(t, seen, fmt.Sprintf("report %d of %d (%s)", i+1, len(want), w.Value)); got != w {
			t.Fatalf("report %d of %d: observed %+v, want %+v; want in all: %v", i+1, len(want), got, w, values(want))
		}
	}
}

// nothingMore fails the test if seen has a report ready now, without
// waiting (a report out of place before the last expected one already
// failed receiveAll); then it stops the observer and waits for its channel
// to close.
func nothingMore(t *testing.T, stop context.CancelFunc, seen <-chan election.Leader) {
	t.Helper()
	select {
	case l := <-seen:
		t.Fatalf("observed %+v, more than was led", l)
	default:
	}
	stop()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-seen:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("Observe's channel still open %v after its ctx ended", waitLimit)
		}
	}
}

// The case: the observer's member loses its leader (etcd ends the
// observer's watch) while the majority rotates x → y → x and more; once
// the member is back, the observer reports every term and value in order,
// without reading the line again and without a gap.
func TestObserveAcrossPartition(t *testing.T) {
	name := electionName(t)
	x := newCut(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
	defer cancel()
	obsCli, s := spyClient(t, x.c, x.om)
	observer := nodeOn(t, obsCli, name, 30, "observer")
	r := startRotation(t, ctx, x.c, x.maj, name, 2)

	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	seen := observer.e.Observe(octx)
	receiveAll(t, seen, r.led)

	x.partition(t, s)
	from := len(r.led)
	r.rotate() // y
	r.rotate() // x again
	r.proclaim()
	r.rotate() // y
	x.heal(t)
	receiveAll(t, seen, r.led[from:])
	// And on, once the member serves again.
	from = len(r.led)
	r.rotate()
	receiveAll(t, seen, r.led[from:])
	nothingMore(t, stopObserving, seen)

	if got := s.get(func(s *spy) int { return s.ranges }); got != 1 {
		t.Fatalf("the observer read the line %d times, want once: a broken watch is resumed, not re-read", got)
	}
	t.Logf("every term across the partition: %v; watches started at %v; at most %d revisions in one response",
		values(r.led), s.startRevs(), s.get(func(s *spy) int { return s.maxRevs }))
}

// Cut off while terms pass, its history compacted before it is back: the
// observer reads the line again and its next report has Gap set, and is
// the current leader; then every change again, without a gap. Its receiver
// does not read during the cut either.
func TestObserveGapAfterCompaction(t *testing.T) {
	name := electionName(t)
	x := newCut(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
	defer cancel()
	obsCli, s := spyClient(t, x.c, x.om)
	observer := nodeOn(t, obsCli, name, 30, "observer")
	admin := testcluster.Client(t, x.c, x.maj[0])
	direct := directClient(t, x.c.Members[x.om])
	r := startRotation(t, ctx, x.c, x.maj, name, 2)

	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	seen := observer.e.Observe(octx)
	receiveAll(t, seen, r.led)

	x.partition(t, s)
	// The observer must not watch again before its member has applied the
	// compaction, so its bridge holds it back until then.
	bridge := x.c.Members[x.om].Bridge()
	bridge.PauseConnections()
	bridge.DropConnections()
	r.rotate()
	r.rotate()
	r.proclaim()
	compacted := testcluster.Revision(t, admin)
	if _, err := admin.Compact(ctx, compacted, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", compacted, err)
	}
	x.heal(t)
	// A linearizable read served by the member: it has applied the
	// compaction.
	testcluster.Eventually(t, waitLimit, "the observer's member to serve reads again", func() bool {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		resp, err := direct.Get(rctx, "\x00")
		return err == nil && resp.Header.Revision >= compacted
	})
	bridge.UnpauseConnections()

	got := receive(t, seen, "the report after the compaction")
	want := r.led[len(r.led)-1]
	if !got.Gap {
		t.Fatalf("observed %+v after the compacted cut, want Gap set", got)
	}
	if got.Gap = false; got != want {
		t.Fatalf("observed %+v after the compacted cut, want the current leader %+v", got, want)
	}
	from := len(r.led)
	r.rotate()
	r.proclaim()
	r.rotate()
	receiveAll(t, seen, r.led[from:]) // Gap unset
	nothingMore(t, stopObserving, seen)

	if got := s.get(func(s *spy) int { return s.compacts }); got == 0 {
		t.Fatalf("no watch was told of the compaction (watches started at %v, compacted at %d): the fault was not injected", s.startRevs(), compacted)
	}
	if got := s.get(func(s *spy) int { return s.ranges }); got != 2 {
		t.Fatalf("the observer read the line %d times, want twice: once at first, once after the compaction", got)
	}
}

// With ObserveOptions.Empty, a vacant line is reported: at first, when the
// last candidate resigns, and across a partition; Observe itself reports
// only leaders, as it always did.
func TestObserveEmptyLine(t *testing.T) {
	name := electionName(t)
	x := newCut(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
	defer cancel()
	obsCli, s := spyClient(t, x.c, x.om)
	observer := nodeOn(t, obsCli, name, 30, "observer")
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	withEmpty := observer.e.ObserveWith(octx, election.ObserveOptions{Empty: true})
	plain := observer.e.Observe(octx)

	vacant := election.Leader{}
	if got := receive(t, withEmpty, "the first report"); got != vacant || !got.Vacant() {
		t.Fatalf("first report %+v on an empty line, want a vacant Leader", got)
	}
	a := newNode(t, x.c, x.maj[0], name, 30, "a")
	b := newNode(t, x.c, x.maj[1], name, 30, "b")
	campaign := func(n *node) {
		t.Helper()
		if err := await(t, async(t, func() error { return n.e.Campaign(ctx, n.who) }), n.who+"'s Campaign"); err != nil {
			t.Fatal(err)
		}
	}
	resign := func(n *node) {
		t.Helper()
		if err := n.e.Resign(ctx); err != nil {
			t.Fatalf("%s: Resign: %v", n.who, err)
		}
	}
	campaign(a)
	aLeads := a.leader()
	receiveAll(t, withEmpty, []election.Leader{aLeads})
	receiveAll(t, plain, []election.Leader{aLeads})

	resign(a)
	receiveAll(t, withEmpty, []election.Leader{vacant})
	campaign(b)
	bLeads := b.leader()
	receiveAll(t, withEmpty, []election.Leader{bLeads})
	receiveAll(t, plain, []election.Leader{bLeads})

	// Nobody leads for a while during a cut: reported when the member is
	// back, in its place.
	x.partition(t, s)
	resign(b)
	campaign(a)
	aAgain := a.leader()
	resign(a)
	campaign(b)
	bAgain := b.leader()
	x.heal(t)
	receiveAll(t, withEmpty, []election.Leader{vacant, aAgain, vacant, bAgain})
	receiveAll(t, plain, []election.Leader{aAgain, bAgain})
	select {
	case l := <-plain:
		t.Fatalf("Observe reported %+v, more than the leaders", l)
	default:
	}
	nothingMore(t, stopObserving, withEmpty)
	for range plain {
	}
}

// A receiver that does not read while terms pass and the history is
// compacted, its watch unbroken, loses nothing: it is told every term, in
// order, without a gap, when it reads again.
func TestObserveSlowReceiver(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
	defer cancel()
	obsCli, s := spyClient(t, c, 0)
	observer := nodeOn(t, obsCli, name, 30, "observer")
	admin := testcluster.Client(t, c, 1)
	r := startRotation(t, ctx, c, []int{1, 2}, name, 3)

	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	seen := observer.e.Observe(octx)
	receiveAll(t, seen, r.led)
	r.rotate()
	receiveAll(t, seen, r.led[1:]) // its watch is following

	from := len(r.led)
	for i := range 6 {
		r.rotate()
		if i%2 == 0 {
			r.proclaim()
		}
	}
	compacted := testcluster.Revision(t, admin)
	if _, err := admin.Compact(ctx, compacted, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", compacted, err)
	}
	receiveAll(t, seen, r.led[from:])
	nothingMore(t, stopObserving, seen)
	if got := s.get(func(s *spy) int { return len(s.creates) }); got != 1 {
		t.Fatalf("%d watches created (start revisions %v), want one: the watch broke, which this test is not about", got, s.startRevs())
	}
	if got := s.get(func(s *spy) int { return s.ranges }); got != 1 {
		t.Fatalf("the observer read the line %d times, want once", got)
	}
}

// The observer's watch stream held back (its connection dropped and not
// let through) while two terms pass: etcd's client resumes the watch from
// the past, and etcd answers with one response carrying both revisions.
// Both terms are reported, in order.
func TestObserveSeveralRevisionsInOneResponse(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLimit)
	defer cancel()
	obsCli, s := spyClient(t, c, 0)
	observer := nodeOn(t, obsCli, name, 30, "observer")
	r := startRotation(t, ctx, c, []int{1, 2}, name, 3)

	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	seen := observer.e.Observe(octx)
	receiveAll(t, seen, r.led)
	if got := s.get(func(s *spy) int { return s.maxRevs }); got > 1 {
		t.Fatalf("a watch response carried %d revisions before the fault", got)
	}

	bridge := c.Members[0].Bridge()
	bridge.PauseConnections() // before the drop, so that the redial waits
	bridge.DropConnections()
	from := len(r.led)
	r.rotate()
	r.rotate()
	bridge.UnpauseConnections()
	receiveAll(t, seen, r.led[from:])
	nothingMore(t, stopObserving, seen)

	if got := s.get(func(s *spy) int { return s.maxRevs }); got < 2 {
		t.Fatalf("no watch response carried more than %d revision: the fault was not injected", got)
	}
	if got := s.get(func(s *spy) int { return s.ranges }); got != 1 {
		t.Fatalf("the observer read the line %d times, want once", got)
	}
}
