package election_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// terms records who led each term of a run, as the leaders see it.
type terms struct {
	total int           // terms to run
	done  chan struct{} // closed once the last term has begun and its leader is done with it

	mu      sync.Mutex
	terms   int               // terms begun
	leaders []election.Leader // every term's leader, and every value it proclaimed, in order
	leading int               // candidates that believe they lead now
	overlap int               // first term that began before the one before it ended; 0: none
}

func newTerms(total int) *terms { return &terms{total: total, done: make(chan struct{})} }

// begin records that l leads the next term, and returns the term's number
// and whether it is the last one.
func (r *terms) begin(l election.Leader) (term int, last bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leading++
	r.terms++
	r.leaders = append(r.leaders, l)
	if r.leading > 1 && r.overlap == 0 {
		r.overlap = r.terms
	}
	return r.terms, r.terms == r.total
}

// finish records that the last term has begun and its leader is done
// with it.
func (r *terms) finish() { close(r.done) }

// proclaimed records that the leader of the current term changed its value
// to l's.
func (r *terms) proclaimed(l election.Leader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaders = append(r.leaders, l)
}

// end records that the current leader is about to step down.
func (r *terms) end() {
	r.mu.Lock()
	r.leading--
	r.mu.Unlock()
}

// begun returns the number of terms begun.
func (r *terms) begun() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.terms
}

func (r *terms) record() []election.Leader {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.leaders)
}

// roundRobin checks that leaders took their terms in the repeating order
// order, one at a time, with a rising token.
func roundRobin(leaders []election.Leader, order []string) error {
	for i, l := range leaders {
		if want := order[i%len(order)]; l.Value != want {
			return fmt.Errorf("term %d led by %s, want %s (leaders %v)", i+1, l.Value, want, values(leaders))
		}
		if i > 0 && l.Token <= leaders[i-1].Token {
			return fmt.Errorf("term %d has token %d, not above %d", i+1, l.Token, leaders[i-1].Token)
		}
	}
	return nil
}

func values(ls []election.Leader) []string {
	var vs []string
	for _, l := range ls {
		vs = append(vs, l.Value)
	}
	return vs
}

// takeTurns waits for n's Campaign, then leads a term and rotates, until
// the last term (which it keeps leading), until ctx ends while it waits, or
// until during, run in each of its terms, says to stop. Each term it checks
// with etcd that it is the oldest candidate.
func (n *node) takeTurns(ctx context.Context, won <-chan error, r *terms, during func(n *node, term int) (stop bool, err error)) error {
	if err := <-won; err != nil {
		return fmt.Errorf("%s: Campaign: %w", n.who, err)
	}
	for {
		l, err := n.e.Leader(ctx)
		if err != nil {
			return fmt.Errorf("%s: Leader: %w", n.who, err)
		}
		if l != n.leader() {
			return fmt.Errorf("%s believes it leads, etcd says %+v leads", n.who, l)
		}
		term, last := r.begin(n.leader())
		if during != nil {
			if stop, err := during(n, term); stop || err != nil {
				return err
			}
		}
		if last {
			r.finish()
			return nil
		}
		r.end()
		if err := n.e.Rotate(ctx); err != nil {
			if ctx.Err() != nil {
				return nil // the run is over
			}
			return fmt.Errorf("%s: Rotate: %w", n.who, err)
		}
	}
}

// Candidates on three members that rotate lead round-robin: each once per
// round, in the order they campaigned, one at a time, with rising tokens;
// every wait is a watch that starts now (no 100 ms resync stall); and when
// the run ends, the candidates waiting in Rotate leave the line.
func TestRotateRoundRobin(t *testing.T) {
	const k, rounds = 3, 5
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitLimit)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	var nodes []*node
	var calls []*testcluster.Calls
	var won []<-chan error
	var order []string
	for i := range k {
		cli, cl := testcluster.CountingClient(t, c, i)
		n := nodeOn(t, cli, name, 10, fmt.Sprintf("cand-%d", i))
		nodes, calls, order = append(nodes, n), append(calls, cl), append(order, n.who)
		won = append(won, campaignInLine(t, runCtx, n, name, i+1))
	}

	r := newTerms(k * rounds)
	errs := make([]<-chan error, k)
	for i, n := range nodes {
		errs[i] = async(t, func() error { return n.takeTurns(runCtx, won[i], r, nil) })
	}
	select {
	case <-r.done:
	case <-time.After(3 * waitLimit):
		t.Fatalf("%d of %d terms after %v: %v", len(r.record()), k*rounds, 3*waitLimit, values(r.record()))
	}
	stop()
	for i, n := range nodes {
		if err := await(t, errs[i], n.who); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	leaders := r.record()
	t.Logf("leaders: %v", values(leaders))
	if r.overlap != 0 {
		t.Fatalf("term %d began while another leader still led", r.overlap)
	}
	if len(leaders) != k*rounds {
		t.Fatalf("%d terms, want %d", len(leaders), k*rounds)
	}
	if err := roundRobin(leaders, order); err != nil {
		t.Fatal(err)
	}
	for i, cl := range calls {
		for _, rev := range cl.WatchStartRevs() {
			if rev != 0 {
				t.Fatalf("%s created a watch from revision %d: a hand-off waited on etcd's resync loop", nodes[i].who, rev)
			}
		}
	}

	// The last leader still leads; the others left the line when their
	// Rotate was cancelled.
	last := nodes[(k*rounds-1)%k]
	mustLead(t, ctx, last)
	for _, n := range nodes {
		if n != last && (n.e.Token() != 0 || !isClosed(n.e.Done())) {
			t.Fatalf("%s counts itself leader after its Rotate was cancelled", n.who)
		}
	}
	if keys := testcluster.Keys(t, last.cli, name+"/"); len(keys) != 1 || keys[0] != last.e.Key() {
		t.Fatalf("line after the run: %v, want the last leader's entry alone", keys)
	}
	if err := last.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
}

// Alone in line, a rotating leader leads again at once, under a new token,
// in one transaction; fencing on the old token fails.
func TestRotateAlone(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	n := newNode(t, c, 0, name, 10, "alone")
	if err := n.e.Campaign(ctx, n.who); err != nil {
		t.Fatal(err)
	}
	oldToken, oldOwner := n.e.Token(), n.e.IsOwner()
	oldDone := n.e.Done()
	before := testcluster.Revision(t, n.cli)
	if err := n.e.Rotate(ctx); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if after := testcluster.Revision(t, n.cli); after != before+1 {
		t.Fatalf("Rotate moved the store from revision %d to %d, want one transaction", before, after)
	}
	if n.e.Token() <= oldToken {
		t.Fatalf("token %d after Rotate, was %d", n.e.Token(), oldToken)
	}
	mustLead(t, ctx, n)
	l, err := n.e.Leader(ctx)
	if err != nil || l.Value != n.who {
		t.Fatalf("Leader after Rotate: %+v, %v; want the same value", l, err)
	}
	if owner(t, n.cli, oldOwner) || !owner(t, n.cli, n.e.IsOwner()) {
		t.Fatal("the old term's fence still holds, or the new one's does not")
	}
	if isClosed(n.e.Done()) {
		t.Fatal("Done of the new term is closed")
	}
	select {
	case <-oldDone:
	case <-time.After(waitLimit):
		t.Fatal("Done of the old term still open after Rotate")
	}
	if keys := testcluster.Keys(t, n.cli, name+"/"); len(keys) != 1 {
		t.Fatalf("line after Rotate: %v, want one entry", keys)
	}
	// The new term lasts at least until HeldUntil, which the session's
	// keep-alives keep within a TTL from now.
	testcluster.Eventually(t, waitLimit, "HeldUntil to be known", func() bool { return !n.e.HeldUntil().IsZero() })
	if until := time.Until(n.e.HeldUntil()); until <= 0 || until > 10*time.Second {
		t.Fatalf("HeldUntil is %v from now, want within the 10s TTL", until)
	}
	if err := n.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if !n.e.HeldUntil().IsZero() {
		t.Fatal("HeldUntil after Resign is not zero")
	}
}

// A Rotate whose ctx ends while it waits for its turn leaves the line with
// one delete: the lead has passed on, and the Election is no candidate.
func TestRotateCancel(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	a := newNode(t, c, 0, name, 10, "a")
	if err := a.e.Campaign(ctx, a.who); err != nil {
		t.Fatal(err)
	}
	b := newNode(t, c, 1, name, 10, "b")
	bWon := campaignInLine(t, ctx, b, name, 2)

	rctx, stop := context.WithCancel(ctx)
	rotated := async(t, func() error { return a.e.Rotate(rctx) })
	if err := await(t, bWon, "b's Campaign"); err != nil {
		t.Fatal(err)
	}
	mustLead(t, ctx, b)
	testcluster.WaitKeys(t, a.cli, name+"/", 2) // a is back in line, behind b
	if !pending(rotated) {
		t.Fatal("a's Rotate returned while b leads")
	}
	before := testcluster.Revision(t, a.cli)
	stop()
	errIs(t, "Rotate cancelled while waiting", await(t, rotated, "Rotate"), context.Canceled)
	if after := testcluster.Revision(t, a.cli); after != before+1 {
		t.Fatalf("the cancelled Rotate moved the store from revision %d to %d, want one delete", before, after)
	}
	if keys := testcluster.Keys(t, a.cli, name+"/"); len(keys) != 1 || keys[0] != b.e.Key() {
		t.Fatalf("line: %v, want b's entry alone", keys)
	}
	if a.e.Token() != 0 || !isClosed(a.e.Done()) {
		t.Fatal("a counts itself leader after its Rotate was cancelled")
	}
	errIs(t, "Resign after a cancelled Rotate", a.e.Resign(ctx), election.ErrNotLeader)
	mustLead(t, ctx, b)

	// A Rotate whose ctx has ended before the hand-off gives up the lead
	// all the same, with a fenced delete, rather than leave the Election
	// unsure whether it leads.
	dead, kill := context.WithCancel(ctx)
	kill()
	errIs(t, "Rotate with an ended ctx", b.e.Rotate(dead), context.Canceled)
	if b.e.Token() != 0 || !isClosed(b.e.Done()) {
		t.Fatal("b counts itself leader after a Rotate with an ended ctx")
	}
	if keys := testcluster.Keys(t, b.cli, name+"/"); len(keys) != 0 {
		t.Fatalf("line after a Rotate with an ended ctx: %v, want empty", keys)
	}
}
