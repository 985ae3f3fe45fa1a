package election_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Candidates on different members lead in the order they campaigned, each
// once the one before resigns, and the others keep waiting meanwhile.
func TestCampaignArrivalOrder(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	var nodes []*node
	var won []<-chan error
	for i := range 4 {
		n := newNode(t, c, i, name, 10, fmt.Sprintf("cand-%d", i))
		nodes = append(nodes, n)
		won = append(won, campaignInLine(t, ctx, n, name, i+1))
	}

	var lastToken int64
	for i, n := range nodes {
		if err := await(t, won[i], n.who+" Campaign"); err != nil {
			t.Fatalf("%s: Campaign: %v", n.who, err)
		}
		mustLead(t, ctx, n)
		if n.e.Token() <= lastToken {
			t.Fatalf("%s leads with token %d, not above %d", n.who, n.e.Token(), lastToken)
		}
		lastToken = n.e.Token()
		for j := i + 1; j < len(nodes); j++ {
			if !pending(won[j]) {
				t.Fatalf("%s's Campaign returned while %s leads", nodes[j].who, n.who)
			}
		}
		if err := n.e.Resign(ctx); err != nil {
			t.Fatalf("%s: Resign: %v", n.who, err)
		}
		if n.e.Token() != 0 || !isClosed(n.e.Done()) {
			t.Fatalf("%s still counts itself leader after Resign", n.who)
		}
	}
	_, err := nodes[0].e.Leader(ctx)
	errIs(t, "Leader of an empty election", err, election.ErrNoLeader)
	if keys := testcluster.Keys(t, nodes[0].cli, name+"/"); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

// A Campaign whose ctx ends while it waits leaves the line with one delete
// and writes nothing more; one whose ctx has already ended writes nothing.
// Either way the Election may campaign again.
func TestCampaignCancel(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	leader := newNode(t, c, 0, name, 10, "leader")
	if err := leader.e.Campaign(ctx, leader.who); err != nil {
		t.Fatal(err)
	}
	waiter := newNode(t, c, 1, name, 10, "waiter")

	dead, kill := context.WithCancel(ctx)
	kill()
	before := testcluster.Revision(t, waiter.cli)
	errIs(t, "Campaign with an ended ctx", waiter.e.Campaign(dead, waiter.who), context.Canceled)
	if after := testcluster.Revision(t, waiter.cli); after != before {
		t.Fatalf("Campaign with an ended ctx moved the store from revision %d to %d", before, after)
	}

	wctx, stop := context.WithCancel(ctx)
	won := campaignInLine(t, wctx, waiter, name, 2)
	before = testcluster.Revision(t, waiter.cli)
	stop()
	errIs(t, "Campaign cancelled while waiting", await(t, won, "Campaign"), context.Canceled)
	if after := testcluster.Revision(t, waiter.cli); after != before+1 {
		t.Fatalf("a cancelled Campaign moved the store from revision %d to %d, want one delete", before, after)
	}
	if keys := testcluster.Keys(t, waiter.cli, name+"/"); len(keys) != 1 {
		t.Fatalf("line after the cancelled Campaign: %v, want the leader's entry alone", keys)
	}
	if waiter.e.Token() != 0 || !isClosed(waiter.e.Done()) {
		t.Fatal("a cancelled Campaign left the Election leading")
	}

	// Not stuck: it can campaign again, and leads once the leader resigns.
	won = campaignInLine(t, ctx, waiter, name, 2)
	if err := leader.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := await(t, won, "second Campaign"); err != nil {
		t.Fatal(err)
	}
	mustLead(t, ctx, waiter)
}

// Campaign on an Election that leads or campaigns already is an error, not
// a second place in line.
func TestCampaignTwice(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	leader := newNode(t, c, 0, name, 10, "leader")
	if err := leader.e.Campaign(ctx, leader.who); err != nil {
		t.Fatal(err)
	}
	errIs(t, "Campaign while leading", leader.e.Campaign(ctx, "again"), election.ErrCampaigning)

	waiter := newNode(t, c, 1, name, 10, "waiter")
	won := campaignInLine(t, ctx, waiter, name, 2)
	errIs(t, "Campaign while campaigning", waiter.e.Campaign(ctx, "again"), election.ErrCampaigning)
	if keys := testcluster.Keys(t, waiter.cli, name+"/"); len(keys) != 2 {
		t.Fatalf("line: %v, want one entry each", keys)
	}
	if err := leader.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := await(t, won, "Campaign"); err != nil {
		t.Fatal(err)
	}
	mustLead(t, ctx, waiter)
}

// Bad input gets a clear error, never a panic: a nil session, bad names, an
// ended session, a zero or nil Election, and the leader's calls on an
// Election that does not lead.
func TestBadInput(t *testing.T) {
	name := electionName(t)
	c := testcluster.Cluster(t, 1)
	cli := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, cli, 10)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	_, err := election.New(nil, name)
	errIs(t, "New(nil session)", err, election.ErrNilSession)
	for _, bad := range []string{"", "leader", "/a/", "/a//b", "/a/.x", "/a\x00b"} {
		_, err := election.New(s, bad)
		errIs(t, fmt.Sprintf("New(%q)", bad), err, election.ErrInvalidName)
	}
	ended := testcluster.Session(t, cli, 10)
	if err := ended.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = election.New(ended, name)
	errIs(t, "New(ended session)", err, election.ErrSessionExpired)

	var zero election.Election
	for what, e := range map[string]*election.Election{"zero": &zero, "nil": nil} {
		errIs(t, what+" Campaign", e.Campaign(ctx, "v"), election.ErrUninitialized)
		errIs(t, what+" Proclaim", e.Proclaim(ctx, "v"), election.ErrUninitialized)
		errIs(t, what+" Resign", e.Resign(ctx), election.ErrUninitialized)
		errIs(t, what+" Rotate", e.Rotate(ctx), election.ErrUninitialized)
		_, err := e.Leader(ctx)
		errIs(t, what+" Leader", err, election.ErrUninitialized)
		if _, ok := <-e.Observe(ctx); ok {
			t.Fatalf("%s Observe sent a leader", what)
		}
		if e.Token() != 0 || e.Key() != "" || !e.HeldUntil().IsZero() || !isClosed(e.Done()) || e.Name() != "" {
			t.Fatalf("%s Election looks like a leader", what)
		}
		if owner(t, cli, e.IsOwner()) {
			t.Fatalf("%s Election's IsOwner holds", what)
		}
	}

	e, err := election.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	before := testcluster.Revision(t, cli)
	errIs(t, "Proclaim when not leading", e.Proclaim(ctx, "v"), election.ErrNotLeader)
	errIs(t, "Resign when not leading", e.Resign(ctx), election.ErrNotLeader)
	errIs(t, "Rotate when not leading", e.Rotate(ctx), election.ErrNotLeader)
	_, err = e.Leader(ctx)
	errIs(t, "Leader of an empty election", err, election.ErrNoLeader)
	if e.Token() != 0 || e.Key() != "" || !isClosed(e.Done()) || owner(t, cli, e.IsOwner()) {
		t.Fatal("an Election that never campaigned looks like a leader")
	}
	if after := testcluster.Revision(t, cli); after != before {
		t.Fatalf("calls that failed moved the store from revision %d to %d", before, after)
	}
}
