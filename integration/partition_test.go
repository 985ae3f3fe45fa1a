package integration_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// The holder's connection is cut until its lease expires. Its Done closes,
// the next waiter is granted, and when the connection returns the old
// holder's Unlock reports the loss and deletes nothing: the new holder's
// entry is still there, with its own revision. The same cut plays on a
// second line held and awaited with queue tickets.
func TestHolderCutOffUntilLeaseExpires(t *testing.T) {
	const name, tname, ttl = "/faults/holder-cut", "/faults/holder-cut-tickets", 2
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 0, ttl, name, "holder")
	waiter := newContender(t, c, 1, ttl, name, "waiter")
	hold := holder.lock(t, &h)
	hold.granted(t, grantTimeout)
	done := holder.m.Done()
	w := waiter.lock(t, &h)
	waitLine(t, waiter.cli, name, 2)

	// Clients of their own, on the same members: separate processes.
	tickets := startTicketPair(t, testcluster.Client(t, c, 0), testcluster.Client(t, c, 1), ttl, tname)

	cut := time.Now()
	c.Members[0].Bridge().Blackhole()
	select {
	case <-done:
		hold.op.Lost()
	case <-time.After(ttl*time.Second + expirySlack):
		t.Fatalf("holder's Done still open %v after its connection was cut (TTL %ds)", time.Since(cut), ttl)
	}
	tickets.afterCut(t)
	w.granted(t, ttl*time.Second+expirySlack)
	t.Logf("holder's Done closed and waiter granted %v after the cut (TTL %ds)", time.Since(cut), ttl)
	newKey, newToken := waiter.m.Key(), waiter.m.Token()
	if newToken <= hold.op.Token() {
		t.Fatalf("new token %d not above the lost hold's %d", newToken, hold.op.Token())
	}

	c.Members[0].Bridge().Unblackhole()
	// Healing closes the cut connection. A read (which the client retries
	// on a new one) makes sure the connection is back before the Unlock, a
	// write the client does not retry once sent.
	testcluster.Keys(t, holder.cli, name+"/")
	err := hold.unlock(t)
	if !errors.Is(err, fairmutex.ErrLost) {
		t.Fatalf("old holder's Unlock after the loss = %v, want ErrLost", err)
	}
	if err := holder.m.Unlock(context.Background()); !errors.Is(err, fairmutex.ErrNotLocked) {
		t.Fatalf("second Unlock of the lost hold = %v, want ErrNotLocked", err)
	}
	if got := line(t, waiter.cli, name); len(got) != 1 || got[0] != (entryRev{newKey, newToken}) {
		t.Fatalf("line after the old holder's Unlock = %v, want only the new holder's %s@%d", got, newKey, newToken)
	}
	assertOwner(t, waiter.cli, waiter.m.IsOwner(), true)
	assertOwner(t, waiter.cli, holder.m.IsOwner(), false)

	w.mustUnlock(t)
	checkHistory(t, &h)
	assertNoKeys(t, name, waiter.cli, holder.cli)
	tickets.afterHeal(t)
}

// ticketPair is a queue ticket held through one client and another
// waiting through a second, for the holder-cut test.
type ticketPair struct {
	h              history.History
	cli            *clientv3.Client // the waiter's
	name           string
	held, waiting  *queue.Ticket
	heldOp, waitOp *history.Op
	waited         chan error
}

func startTicketPair(t *testing.T, holderCli, waiterCli *clientv3.Client, ttl int, name string) *ticketPair {
	t.Helper()
	p := &ticketPair{cli: waiterCli, name: name, waited: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	hq, err := queue.New(testcluster.Session(t, holderCli, ttl), name)
	if err != nil {
		t.Fatal(err)
	}
	p.heldOp = p.h.Begin("ticket-holder", false)
	if p.held, err = hq.Acquire(ctx, "holder"); err != nil {
		t.Fatal(err)
	}
	p.heldOp.Granted(p.held.Rev())
	p.held.Done() // start watching the hold now, before the cut

	wq, err := queue.New(testcluster.Session(t, waiterCli, ttl), name)
	if err != nil {
		t.Fatal(err)
	}
	p.waitOp = p.h.Begin("ticket-waiter", false)
	if p.waiting, err = wq.Join(ctx, "waiter"); err != nil {
		t.Fatal(err)
	}
	p.waitOp.Joined(p.waiting.Rev())
	wctx, stop := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := p.waiting.Wait(wctx)
		if err == nil {
			p.waitOp.Granted(p.waiting.Rev())
		}
		p.waited <- err
	}()
	t.Cleanup(func() { stop(); <-finished })
	return p
}

// afterCut checks, once the cut holder's lease has expired, that its
// ticket's Done has closed and the waiting ticket has its turn.
func (p *ticketPair) afterCut(t *testing.T) {
	t.Helper()
	select {
	case <-p.held.Done():
		p.heldOp.Lost()
	case <-time.After(grantTimeout):
		t.Fatal("cut ticket's Done still open after its lease expired")
	}
	select {
	case err := <-p.waited:
		if err != nil {
			t.Fatalf("waiting ticket's Wait: %v", err)
		}
	case <-time.After(grantTimeout):
		t.Fatal("waiting ticket not granted after the cut holder's lease expired")
	}
}

// afterHeal checks that the cut ticket's Leave reports the loss and deletes
// nothing, then lets the waiter's ticket go.
func (p *ticketPair) afterHeal(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := p.heldOp.Release(func() error { return p.held.Leave(ctx) }); !errors.Is(err, queue.ErrLost) {
		t.Fatalf("cut ticket's Leave = %v, want ErrLost", err)
	}
	if err := p.held.Leave(ctx); !errors.Is(err, queue.ErrLeft) {
		t.Fatalf("second Leave of the cut ticket = %v, want ErrLeft", err)
	}
	if got := line(t, p.cli, p.name); len(got) != 1 || got[0].Rev != p.waiting.Rev() {
		t.Fatalf("line after the cut ticket's Leave = %v, want only the waiter's, at %d", got, p.waiting.Rev())
	}
	if err := p.waitOp.Release(func() error { return p.waiting.Leave(ctx) }); err != nil {
		t.Fatal(err)
	}
	checkHistory(t, &p.h)
	assertNoKeys(t, p.name, p.cli)
}

// assertOwner checks that a write fenced by cmp succeeds (want) or is
// refused (!want), and leaves the store as it was either way.
func assertOwner(t *testing.T, cli *clientv3.Client, cmp clientv3.Cmp, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut("/fenced", "x")).Commit()
	if err != nil {
		t.Fatalf("fenced write: %v", err)
	}
	if resp.Succeeded != want {
		t.Fatalf("fenced write succeeded = %v, want %v", resp.Succeeded, want)
	}
	if _, err := cli.Delete(ctx, "/fenced"); err != nil {
		t.Fatal(err)
	}
}

// A waiter's connection is cut and comes back before its lease expires; the
// holder releases while it is cut. The waiter keeps its place: it is granted
// before the waiter behind it, which stays waiting until it releases.
func TestWaiterReconnectsKeepsPlace(t *testing.T) {
	const name, ttl = "/faults/waiter-reconnect", 5
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 1, ttl, name, "holder")
	first := newContender(t, c, 0, ttl, name, "first") // the one cut off
	second := newContender(t, c, 2, ttl, name, "second")
	hold, waiting := lineUp(t, &h, name, holder, first, second)
	a1, a2 := waiting[0], waiting[1]

	// A dropped connection is closed at once and redialled: the waiter's
	// watches resume on the new one and its entry stays where it was.
	inLine := line(t, holder.cli, name)
	c.Members[0].Bridge().DropConnections()
	if got := line(t, first.cli, name); !slices.Equal(got, inLine) { // read through the redialled connection
		t.Fatalf("line after the drop = %v, want %v", got, inLine)
	}
	assertPending(t, "after the drop", a1, a2)

	// A blackholed connection stays up but carries nothing; healing closes
	// it. The holder releases while the first waiter cannot hear it.
	c.Members[0].Bridge().Blackhole()
	hold.mustUnlock(t)
	// Long enough for the release to happen unseen, far shorter than the TTL.
	time.Sleep(500 * time.Millisecond)
	assertPending(t, "while the first waiter is cut off", a2)
	c.Members[0].Bridge().Unblackhole()
	a1.granted(t, grantTimeout)
	assertPending(t, "while first holds", a2)
	a1.mustUnlock(t)
	a2.granted(t, grantTimeout)
	a2.mustUnlock(t)

	checkHistory(t, &h)
	holds := h.Holds()
	if len(holds) != 3 || holds[1].Who != "first" || holds[2].Who != "second" {
		t.Fatalf("grant order %v, want holder, first, second", holds)
	}
	assertNoKeys(t, name, holder.cli, first.cli)
}

// The holder's etcd member, the leader, is cut off from its peers (its
// client still reaches it). The other two elect a new leader and expire the
// holder's lease; the holder, whose keep-alives no longer get answers, sees
// its Done close; the waiter on the majority side is granted. Throughout, a
// write fenced by the old hold cannot succeed, and after the partition heals
// the old holder's Unlock reports the loss and leaves the new holder alone.
func TestHolderOnPartitionedLeader(t *testing.T) {
	const name, ttl = "/faults/partitioned-leader", 2
	c := testcluster.Cluster(t, 3)
	lead := c.WaitLeader(t)
	var others []*integration.Member
	for i, m := range c.Members {
		if i != lead {
			others = append(others, m)
		}
	}
	var h history.History

	holder := newContender(t, c, lead, ttl, name, "holder")
	waiter := newContender(t, c, (lead+1)%3, ttl, name, "waiter")
	hold := holder.lock(t, &h)
	hold.granted(t, grantTimeout)
	done := holder.m.Done()
	fence := holder.m.IsOwner()
	w := waiter.lock(t, &h)
	waitLine(t, waiter.cli, name, 2)

	cut := time.Now()
	c.Members[lead].InjectPartition(t, others...)
	select {
	case <-done:
		hold.op.Lost()
	case <-time.After(ttl*time.Second + expirySlack):
		t.Fatalf("holder's Done still open %v after its member was partitioned (TTL %ds)", time.Since(cut), ttl)
	}
	doneAt := time.Since(cut)
	w.granted(t, ttl*time.Second+expirySlack+grantTimeout)
	t.Logf("holder's Done closed %v and waiter granted %v after the partition (TTL %ds)", doneAt, time.Since(cut), ttl)

	// The old holder's fenced write, through its isolated member, fails.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	resp, err := holder.cli.Txn(ctx).If(fence).Then(clientv3.OpPut("/fenced", "old holder")).Commit()
	cancel()
	if err == nil && resp.Succeeded {
		t.Fatal("a write fenced by the lost hold succeeded while the new holder holds")
	}

	c.Members[lead].RecoverPartition(t, others...)
	c.WaitLeader(t)
	testcluster.Keys(t, holder.cli, name+"/") // its member serves again
	if err := hold.unlock(t); !errors.Is(err, fairmutex.ErrLost) {
		t.Fatalf("old holder's Unlock after the partition = %v, want ErrLost", err)
	}
	if got := line(t, holder.cli, name); len(got) != 1 || got[0] != (entryRev{waiter.m.Key(), waiter.m.Token()}) {
		t.Fatalf("line after the old holder's Unlock = %v, want only the new holder's", got)
	}
	assertOwner(t, holder.cli, fence, false)
	assertOwner(t, holder.cli, waiter.m.IsOwner(), true)
	w.mustUnlock(t)
	checkHistory(t, &h)
	assertNoKeys(t, name, holder.cli, waiter.cli)
}
