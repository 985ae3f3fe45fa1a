package scoped_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// term is one run of fn under Lead, as the test saw it.
type term struct {
	who   string
	token int64
	cause error // why fn's context ended
}

// terms records the terms of several candidates, and whether two ever ran
// at once.
type terms struct {
	mu      sync.Mutex
	seen    []term
	running int
	overlap bool
	enough  chan struct{} // closed once want terms have ended
	want    int
}

// fn is a candidate's work: it runs until its context ends, and records
// the term.
func (ts *terms) fn(who string, e *election.Election) func(context.Context) error {
	return func(ctx context.Context) error {
		ts.mu.Lock()
		ts.running++
		ts.overlap = ts.overlap || ts.running > 1
		tok := e.Token()
		ts.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(waitLimit):
			return fmt.Errorf("%s: a term that did not end", who)
		}
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.running--
		ts.seen = append(ts.seen, term{who: who, token: tok, cause: context.Cause(ctx)})
		if len(ts.seen) == ts.want {
			close(ts.enough)
		}
		return ctx.Err()
	}
}

func (ts *terms) all() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]term(nil), ts.seen...)
}

// Candidates that Lead with a rotation period take turns, round-robin,
// one at a time, each term under a higher token and ended by ErrHandOver;
// a ctx that ends is a clean shutdown: Lead returns nil, and nothing is
// left in the line.
func TestLeadRotates(t *testing.T) {
	w := newWorld(t, 3)
	const candidates, rounds = 3, 3
	const period = 150 * time.Millisecond
	ts := &terms{enough: make(chan struct{}), want: candidates * rounds}
	ctx, cancel := context.WithCancel(bounded(t))
	defer cancel()
	// A candidate of the test's holds the lead until every candidate is
	// in line, so the order of the line, and of the terms, is known.
	gate, err := election.New(w.session(0, 10), w.name)
	must(t, err)
	must(t, gate.Campaign(bounded(t), "gate"))
	results := make([]<-chan error, candidates)
	joined := make(chan struct{}, 1)
	es := make([]*election.Election, candidates)
	for i := range candidates {
		first := true // the first join is Campaign's; Rotate's are not waited for
		e, err := election.New(w.session(i, 10), w.name,
			queue.WithHooks(&queue.Hooks{Joined: func(queue.JoinInfo) {
				if first {
					first = false
					joined <- struct{}{}
				}
			}}))
		must(t, err)
		es[i] = e
		who := fmt.Sprintf("c%d", i)
		results[i] = run(t, ctx, func(ctx context.Context, fn func(context.Context) error) error {
			return e.Lead(ctx, who, fn, election.RotateEvery(period))
		}, ts.fn(who, e))
		await(t, joined, who+"'s join")
	}
	must(t, gate.Resign(bounded(t)))
	closed(t, ts.enough, fmt.Sprintf("%d terms", ts.want))
	cancel()
	for i, r := range results {
		if err := await(t, r, fmt.Sprintf("c%d's Lead", i)); err != nil {
			t.Errorf("c%d's Lead = %v, want nil on shutdown", i, err)
		}
	}
	got := ts.all()
	t.Logf("terms: %+v", got)
	if ts.overlap {
		t.Error("two candidates ran fn at once")
	}
	for i, tm := range got[:ts.want] {
		if want := fmt.Sprintf("c%d", i%candidates); tm.who != want {
			t.Errorf("term %d led by %s, want %s (round-robin)", i, tm.who, want)
		}
		if !errors.Is(tm.cause, election.ErrHandOver) {
			t.Errorf("term %d ended by %v, want ErrHandOver", i, tm.cause)
		}
		if i > 0 && tm.token <= got[i-1].token {
			t.Errorf("term %d's token %d not above the previous %d", i, tm.token, got[i-1].token)
		}
	}
	for i, e := range es {
		if e.Token() != 0 {
			t.Errorf("c%d still leads after Lead returned", i)
		}
	}
	w.noKeysLeft()
}

// With RotateWhenAsked, a request to yield ends the leader's term (the
// cause matches ErrHandOver) and the next candidate leads; the asked one
// waits at the tail for its next term.
func TestLeadRotatesWhenAsked(t *testing.T) {
	w := newWorld(t, 1)
	ts := &terms{enough: make(chan struct{}), want: 1}
	ctx, cancel := context.WithCancel(bounded(t))
	defer cancel()
	a, err := election.New(w.session(0, 10), w.name)
	must(t, err)
	aLeads := make(chan struct{})
	aDone := run(t, ctx, func(ctx context.Context, fn func(context.Context) error) error {
		return a.Lead(ctx, "a", fn, election.RotateWhenAsked())
	}, func(ctx context.Context) error {
		select {
		case <-aLeads: // a later term: let it run until shutdown
		default:
			close(aLeads)
		}
		return ts.fn("a", a)(ctx)
	})
	closed(t, aLeads, "a's first term")
	bs := w.session(0, 10)
	b, err := election.New(bs, w.name)
	must(t, err)
	bLeads := make(chan error, 1)
	go func() { bLeads <- b.Campaign(ctx, "b") }()
	waitEntries(t, w, 2)

	if _, err := w.line.AskToYield(bounded(t), "test"); err != nil {
		t.Fatal(err)
	}
	if err := await(t, bLeads, "b's Campaign"); err != nil {
		t.Fatalf("b's Campaign after a yielded: %v", err)
	}
	closed(t, ts.enough, "a's term's end")
	if tm := ts.all()[0]; !errors.Is(tm.cause, election.ErrHandOver) {
		t.Errorf("a's term ended by %v, want ErrHandOver", tm.cause)
	}
	// a is back in line behind b: the line is b, then a.
	if es := w.entries(); len(es) != 2 || es[0].Lease != bs.Lease() || es[1].Value != "a" {
		t.Errorf("the line after the hand-over: %+v, want b's entry, then a's", es)
	}
	must(t, b.Resign(bounded(t)))
	cancel()
	if err := await(t, aDone, "a's Lead"); err != nil {
		t.Errorf("a's Lead = %v, want nil on shutdown", err)
	}
	w.noKeysLeft()
}

// waitEntries waits until the line has n entries.
func waitEntries(t *testing.T, w *world, n int) {
	t.Helper()
	testcluster.Eventually(t, waitLimit, fmt.Sprintf("%d entries in the line", n), func() bool {
		return len(w.entries()) == n
	})
}

// fn returning by itself ends Lead: it resigns and returns fn's error; a
// negative rotation period is refused before anything is written.
func TestLeadEndsWithFn(t *testing.T) {
	w := newWorld(t, 1)
	e, err := election.New(w.session(0, 10), w.name)
	must(t, err)
	if err := e.Lead(bounded(t), "a", func(context.Context) error {
		t.Error("fn ran with a negative period")
		return nil
	}, election.RotateEvery(-time.Second)); !errors.Is(err, election.ErrInvalidPeriod) {
		t.Errorf("Lead with a negative period = %v, want ErrInvalidPeriod", err)
	}
	w.noKeysLeft()

	for _, want := range []error{nil, errors.New("done badly")} {
		err := e.Lead(bounded(t), "a", func(context.Context) error { return want }, election.RotateEvery(time.Hour))
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Lead whose fn returned %v = %v", want, err)
		}
		if e.Token() != 0 {
			t.Error("still leading after Lead returned")
		}
		w.noKeysLeft()
	}
}
