package yield_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

func TestTicketHolderIsToldWaiterIsNotGranted(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	counter := &yieldCounter{}
	a, err := w.queue(w.session(), counter.hooks()).Join(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.queue(w.session(), nil).Join(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	aCh, bCh := a.YieldRequested(), b.YieldRequested()

	asked := w.ask("deploy")
	if got, want := keysOf(asked), []string{a.Key()}; !slices.Equal(got, want) {
		t.Fatalf("asked %q, want only the holder %q", got, want)
	}
	if e := asked[0]; e.Rev != a.Rev() || !e.YieldRequested || e.YieldReason != "deploy" || !e.Holds {
		t.Errorf("asked entry = %+v, want token %d, requested for %q", e, a.Rev(), "deploy")
	}
	told(t, aCh, "the holder")
	if r := a.YieldReason(); r != "deploy" {
		t.Errorf("holder's YieldReason = %q, want %q", r, "deploy")
	}
	notTold(t, bCh, "the waiter")
	if r := b.YieldReason(); r != "" {
		t.Errorf("waiter's YieldReason = %q, want none", r)
	}
	// Asking granted nothing and moved nobody.
	for _, c := range []struct {
		tk   *queue.Ticket
		want int
	}{{a, 0}, {b, 1}} {
		if p, err := c.tk.Position(ctx); err != nil || p != c.want {
			t.Errorf("Position(%s) = %d, %v; want %d", c.tk.Value(), p, err, c.want)
		}
	}
	line, err := w.queue(w.session(), nil).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) != 2 || !line[0].YieldRequested || line[0].YieldReason != "deploy" || line[1].YieldRequested {
		t.Errorf("List = %+v, want two entries, the first asked for \"deploy\"", line)
	}
	if infos := counter.infos(); len(infos) != 1 || infos[0].Reason != "deploy" || infos[0].Token != a.Rev() || infos[0].Key != a.Key() {
		t.Errorf("YieldRequested hook saw %+v, want one call for token %d with reason \"deploy\"", infos, a.Rev())
	}

	// The holder yields; the request goes with it and never reaches b.
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r := w.requests(); len(r) != 0 {
		t.Errorf("requests left after the holder left: %q", r)
	}
	notTold(t, bCh, "the next holder")
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

func TestEmptyLineWritesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	q := w.queue(w.session(), nil)
	// A line that had a holder, now empty.
	tk, err := q.Join(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	before := testcluster.Revision(t, w.admin)
	asked, err := q.AskToYield(ctx, "anyone?")
	if !errors.Is(err, queue.ErrNoHolder) || asked != nil {
		t.Fatalf("AskToYield on an empty line = %v, %v; want nil, ErrNoHolder", asked, err)
	}
	if after := testcluster.Revision(t, w.admin); after != before {
		t.Errorf("store revision moved from %d to %d: something was written", before, after)
	}
	w.noKeysLeft()
}

func TestAskingTwiceWritesOnce(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	a, err := w.queue(w.session(), nil).Join(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	w.ask("first")
	before := testcluster.Revision(t, w.admin)
	asked := w.ask("second")
	if after := testcluster.Revision(t, w.admin); after != before {
		t.Errorf("asking again moved the store revision from %d to %d", before, after)
	}
	if len(asked) != 1 || asked[0].YieldReason != "first" {
		t.Errorf("second ask = %+v, want the holder, with the first request's reason", asked)
	}
	told(t, a.YieldRequested(), "the holder")
	if r := a.YieldReason(); r != "first" {
		t.Errorf("YieldReason = %q, want the first request's %q", r, "first")
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

func TestDeadHoldersRequestGoesWithItsLease(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	hs := w.session()
	if _, err := w.queue(hs, nil).Join(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	b, err := w.queue(w.session(), nil).Join(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	bCh := b.YieldRequested()
	w.ask("drain")
	if r := w.requests(); len(r) != 1 {
		t.Fatalf("requests = %q, want one", r)
	}
	// The holder's machine dies: its lease ends, taking entry and request.
	if _, err := w.admin.Revoke(ctx, hs.Lease()); err != nil {
		t.Fatal(err)
	}
	if r := w.requests(); len(r) != 0 {
		t.Errorf("requests left after the holder's lease ended: %q", r)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	notTold(t, bCh, "the next holder")
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

// An entry removed by hand leaves its request behind (bound to the lease,
// which lives on); the session reuses the key for its next entry, which
// must not take the old request for its own.
func TestStaleRequestNeverReachesTheKeysNextEntry(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	q := w.queue(w.session(), nil)
	old, err := q.Join(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	w.ask("for the old one")
	if _, err := w.admin.Delete(ctx, old.Key()); err != nil { // as fairlock rm does
		t.Fatal(err)
	}
	if err := old.Leave(ctx); !errors.Is(err, queue.ErrLost) {
		t.Fatalf("Leave of a removed entry = %v, want ErrLost", err)
	}
	if r := w.requests(); len(r) != 1 {
		t.Fatalf("requests = %q, want the stale one", r)
	}
	next, err := q.Join(ctx, "next")
	if err != nil {
		t.Fatal(err)
	}
	if next.Key() != old.Key() {
		t.Fatalf("the next entry is at %q, not the old key %q: this test needs key reuse", next.Key(), old.Key())
	}
	ch := next.YieldRequested()
	notTold(t, ch, "the key's next entry")
	line, err := q.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) != 1 || line[0].YieldRequested {
		t.Errorf("List = %+v, want one entry, not asked", line)
	}
	// A real request replaces the stale one.
	if asked := w.ask("for the new one"); len(asked) != 1 || asked[0].YieldReason != "for the new one" {
		t.Errorf("ask = %+v, want the new entry asked for the new reason", asked)
	}
	told(t, ch, "the key's next entry, once asked")
	if r := next.YieldReason(); r != "for the new one" {
		t.Errorf("YieldReason = %q", r)
	}
	if err := next.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

// A holder that never calls YieldRequested watches nothing; one that does
// pays one watch, from now.
func TestYieldRequestedCostsOneWatch(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	cli, calls := testcluster.CountingClient(t, w.c, 0)
	a, err := w.queue(testcluster.Session(t, cli, 10), nil).Join(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	w.ask("unheard")
	watches := len(calls.WatchStartRevs())
	ch := a.YieldRequested()
	a.YieldRequested() // a second call shares the first's watch
	told(t, ch, "the holder asked before it listened")
	revs := calls.WatchStartRevs()
	if len(revs) != watches+1 || revs[len(revs)-1] != 0 {
		t.Errorf("watches created by YieldRequested: start revisions %v after %d, want one more, from now (0)", revs, watches)
	}
	if a.YieldReason() != "unheard" {
		t.Errorf("YieldReason = %q", a.YieldReason())
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

// Askers at once write one request between them, and all of them report
// the one reason that stands.
func TestConcurrentAskersWriteOneRequest(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	a, err := w.queue(w.session(), nil).Join(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	const askers = 4
	qs := make([]*queue.Queue, askers)
	for i := range qs {
		qs[i] = w.queue(w.session(), nil)
	}
	before := testcluster.Revision(t, w.admin)
	reasons := make([]string, askers)
	errs := make(chan error, askers)
	for i, q := range qs {
		go func() {
			asked, err := q.AskToYield(ctx, fmt.Sprintf("asker %d", i))
			if err == nil && len(asked) == 1 {
				reasons[i] = asked[0].YieldReason
			}
			errs <- err
		}()
	}
	for range askers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if after := testcluster.Revision(t, w.admin); after != before+1 {
		t.Errorf("store revision moved by %d, want 1: one request written", after-before)
	}
	told(t, a.YieldRequested(), "the holder")
	for i, r := range reasons {
		if r != a.YieldReason() {
			t.Errorf("asker %d reports reason %q, the holder has %q", i, r, a.YieldReason())
		}
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}

// An entry written by hand, without a lease, has nobody to tell: it is not
// asked, and nothing is written.
func TestLeaselessHolderIsNotAsked(t *testing.T) {
	w := newWorld(t)
	ctx := within(t)
	stray := w.name + "/.x/by-hand"
	if _, err := w.admin.Put(ctx, stray, "by hand"); err != nil {
		t.Fatal(err)
	}
	before := testcluster.Revision(t, w.admin)
	if _, err := w.queue(w.session(), nil).AskToYield(ctx, "you?"); !errors.Is(err, queue.ErrNoHolder) {
		t.Fatalf("AskToYield with a lease-less holder = %v, want ErrNoHolder", err)
	}
	if after := testcluster.Revision(t, w.admin); after != before {
		t.Errorf("store revision moved from %d to %d", before, after)
	}
	if _, err := w.admin.Delete(ctx, stray); err != nil {
		t.Fatal(err)
	}
	w.noKeysLeft()
}
