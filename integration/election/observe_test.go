package election_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// collect receives everything ch sends until it closes; the test's cleanup
// waits for it.
type collect struct {
	mu   sync.Mutex
	got  []election.Leader
	done <-chan error
}

func collectAll(t *testing.T, ch <-chan election.Leader) *collect {
	c := &collect{}
	c.done = async(t, func() error {
		for l := range ch {
			c.mu.Lock()
			c.got = append(c.got, l)
			c.mu.Unlock()
		}
		return nil
	})
	return c
}

func (c *collect) seen() []election.Leader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// An observer on its own member sees every term of a rotation and every
// value a leader proclaims, in order, nothing more; when a leader crashes
// (its lease revoked), the next leader is seen.
func TestObserveEveryTerm(t *testing.T) {
	const k, total, crashTerm = 3, 10, 5
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitLimit)
	defer cancel()
	admin := testcluster.Client(t, c, 2)

	// Watching before anyone campaigns: the first term is a change too.
	observer := newNode(t, c, 0, name, 10, "observer")
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	obs := collectAll(t, observer.e.Observe(octx))

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var nodes []*node
	var won []<-chan error
	for i := range k {
		n := newNode(t, c, 1+i%2, name, 10, fmt.Sprintf("cand-%d", i))
		nodes = append(nodes, n)
		won = append(won, campaignInLine(t, runCtx, n, name, i+1))
	}
	r := newTerms(total)
	var crashed *node
	crashedAt := 0 // records before the first one after the crash
	during := func(n *node, term int) (bool, error) {
		if term%2 == 0 { // a new value, seen as a change of the same term
			v := fmt.Sprintf("%s@%d", n.who, term)
			if err := n.e.Proclaim(runCtx, v); err != nil {
				return true, fmt.Errorf("%s: Proclaim: %w", n.who, err)
			}
			n.value = v
			r.proclaimed(n.leader())
		}
		if term == crashTerm {
			crashed, crashedAt = n, len(r.record()) // read once the run is over
			r.end()
			if _, err := admin.Revoke(runCtx, n.s.Lease()); err != nil {
				return true, fmt.Errorf("revoke %s's lease: %w", n.who, err)
			}
			return true, nil
		}
		return false, nil
	}
	errs := make([]<-chan error, k)
	for i, n := range nodes {
		errs[i] = async(t, func() error { return n.takeTurns(runCtx, won[i], r, during) })
	}
	select {
	case <-r.done:
	case <-time.After(3 * waitLimit):
		t.Fatalf("%d of %d terms after %v: %v", r.begun(), total, 3*waitLimit, values(r.record()))
	}
	want := r.record()
	testcluster.Eventually(t, waitLimit, "the observer to see every term", func() bool { return len(obs.seen()) >= len(want) })
	stopObserving()
	await(t, obs.done, "Observe's channel to close")
	stop()
	for i, n := range nodes {
		if err := await(t, errs[i], n.who); err != nil {
			t.Fatal(err)
		}
	}

	if r.overlap != 0 {
		t.Fatalf("term %d began while another leader still led", r.overlap)
	}
	if diff := cmp.Diff(want, obs.seen()); diff != "" {
		t.Fatalf("observed leaders differ from the terms led (-led +observed):\n%s", diff)
	}
	if crashed == nil {
		t.Fatal("nobody crashed")
	}
	t.Logf("observed every term and proclamation: %v; %s crashed in term %d", values(want), crashed.who, crashTerm)
	if crashedAt >= len(want) {
		t.Fatal("no leader observed after the crash")
	}
	for _, l := range want[crashedAt:] {
		if l.Lease == crashed.s.Lease() {
			t.Fatalf("%s observed leading after its crash: %+v", crashed.who, l)
		}
	}
}

// An observer cut off while the leaders rotate, whose history etcd then
// compacts, reads the line again when it is back: it reports the current
// leader, with Gap set, then every change again, none skipped.
func TestObserveAcrossCompaction(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitLimit)
	defer cancel()
	admin := testcluster.Client(t, c, 1)
	obsCli, calls := testcluster.CountingClient(t, c, 0)
	observer := nodeOn(t, obsCli, name, 30, "observer")

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var nodes []*node
	calling := map[*node]<-chan error{} // each candidate's Campaign or Rotate under way
	for i := range 3 {
		n := newNode(t, c, 1+i%2, name, 30, fmt.Sprintf("cand-%d", i))
		nodes = append(nodes, n)
		calling[n] = campaignInLine(t, runCtx, n, name, i+1)
	}
	leader := nodes[0]
	if err := await(t, calling[leader], "Campaign"); err != nil {
		t.Fatal(err)
	}
	led := []election.Leader{leader.leader()} // every leader and value, in order

	// rotate has the leader rotate and waits for the next one to lead.
	rotate := func() {
		t.Helper()
		rotating := leader
		calling[rotating] = async(t, func() error { return rotating.e.Rotate(runCtx) })
		leader = nodes[(slices.Index(nodes, leader)+1)%len(nodes)]
		if err := await(t, calling[leader], leader.who+" taking the lead"); err != nil {
			t.Fatal(err)
		}
		led = append(led, leader.leader())
	}
	proclaim := func() {
		t.Helper()
		leader.value = fmt.Sprintf("%s@%d", leader.who, len(led))
		if err := leader.e.Proclaim(ctx, leader.value); err != nil {
			t.Fatal(err)
		}
		led = append(led, leader.leader())
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	seen := observer.e.Observe(octx)
	next := func() election.Leader {
		t.Helper()
		select {
		case l, ok := <-seen:
			if !ok {
				t.Fatal("Observe's channel closed")
			}
			return l
		case <-time.After(waitLimit):
			t.Fatalf("nothing observed for %v; led: %v", waitLimit, values(led))
		}
		return election.Leader{}
	}
	if got := next(); got != led[0] {
		t.Fatalf("first observed %+v, want %+v", got, led[0])
	}
	// The first report comes from the read: a change seen proves that the
	// watch is under way before the cut.
	rotate()
	if got := next(); got != led[1] {
		t.Fatalf("observed %+v, want %+v", got, led[1])
	}
	watches := len(calls.WatchStartRevs())

	// Cut the observer off (its consumer is not reading either), rotate and
	// proclaim, and compact the history it would resume from.
	bridge := c.Members[0].Bridge()
	bridge.PauseConnections() // before the drop, so that the redial waits
	bridge.DropConnections()
	rotate()
	proclaim()
	rotate()
	rotate()
	compacted := testcluster.Revision(t, admin)
	if _, err := admin.Compact(ctx, compacted, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", compacted, err)
	}
	bridge.UnpauseConnections()

	// It reads the line again and reports the current leader, saying that
	// terms may be missing.
	got := next()
	if !got.Gap {
		t.Fatalf("observed %+v after the compacted cut, want Gap set", got)
	}
	if got.Gap = false; got != led[len(led)-1] {
		t.Fatalf("observed %+v after the compacted cut, want the current leader %+v; led: %+v", got, led[len(led)-1], led)
	}
	// And then every change again, in order.
	from := len(led)
	rotate()
	proclaim()
	rotate()
	for _, want := range led[from:] {
		if got := next(); got != want {
			t.Fatalf("observed %+v, want %+v", got, want)
		}
	}
	// By now the observer has watched again since its re-read.
	var resumed, rewatched bool
	for _, rev := range calls.WatchStartRevs()[watches:] {
		resumed = resumed || (rev != 0 && rev <= compacted)
		rewatched = rewatched || rev > compacted
	}
	if !resumed || !rewatched {
		t.Fatalf("watch start revisions %v (compacted at %d): no watch resumed into compacted history and was started again after a read; the fault was not injected",
			calls.WatchStartRevs(), compacted)
	}

	stopObserving()
	for range seen { // closes once Observe is done
	}
}
