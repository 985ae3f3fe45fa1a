package integration_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// Generous bounds for "eventually": the suite must pass on a loaded 2-core
// machine under -race, so they bound hangs rather than measure speed.
const (
	grantTimeout = 20 * time.Second
	callTimeout  = 20 * time.Second
	// expirySlack is how late, past its TTL, a lease may be seen expired:
	// etcd revokes expired leases in a loop, the client notices on its own
	// clock, and the machine is slow.
	expirySlack = 8 * time.Second
	// giveUpTimeout bounds how long a call may take to notice that its
	// session has ended, once it has.
	giveUpTimeout = 3 * time.Second
)

// newMutex returns a fairmutex on name through s, failing the test on error.
func newMutex(t *testing.T, s *concurrency.Session, name string) *fairmutex.Mutex {
	t.Helper()
	m, err := fairmutex.New(s, name)
	if err != nil {
		t.Fatalf("fairmutex.New(%q): %v", name, err)
	}
	return m
}

// contender is a Mutex of its own client and session on one member: a
// separate process, as far as the lock can tell.
type contender struct {
	who string
	cli *clientv3.Client
	s   *concurrency.Session
	m   *fairmutex.Mutex
}

func newContender(t *testing.T, c *integration.Cluster, member, ttl int, name, who string) *contender {
	t.Helper()
	return contenderOn(t, testcluster.Client(t, c, member), ttl, name, who)
}

// newSettledContender is newContender, returning only once the session's
// first keep-alive has been answered. Until then the client gives the
// session a few seconds (its dial timeout plus one) whatever its TTL, so a
// cut right after newContender ends the session, and the lease, not the
// library, then takes the contender's entries away.
func newSettledContender(t *testing.T, c *integration.Cluster, member, ttl int, name, who string) *contender {
	t.Helper()
	cli := testcluster.Client(t, c, member)
	spy := &keepAliveSpy{Lease: cli.Lease, answered: make(chan struct{})}
	cli.Lease = spy // before the session starts its keep-alives
	ct := contenderOn(t, cli, ttl, name, who)
	select {
	case <-spy.answered:
	case <-time.After(callTimeout):
		t.Fatalf("%s: no keep-alive answered within %v", who, callTimeout)
	}
	return ct
}

// keepAliveSpy closes answered when a keep-alive response first arrives.
type keepAliveSpy struct {
	clientv3.Lease
	answered chan struct{}
	once     sync.Once
}

func (l *keepAliveSpy) KeepAlive(ctx context.Context, id clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	in, err := l.Lease.KeepAlive(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make(chan *clientv3.LeaseKeepAliveResponse)
	go func() {
		defer close(out)
		// The session reads until the channel closes, and in closes when
		// the session ends: this goroutine ends with it.
		for resp := range in {
			l.once.Do(func() { close(l.answered) })
			out <- resp
		}
	}()
	return out, nil
}

// contenderOn is newContender with a client of the test's choosing.
func contenderOn(t *testing.T, cli *clientv3.Client, ttl int, name, who string) *contender {
	t.Helper()
	s := testcluster.Session(t, cli, ttl)
	return &contender{who: who, cli: cli, s: s, m: newMutex(t, s, name)}
}

// attempt is one Lock call running in its own goroutine, recorded in a
// history.
type attempt struct {
	who    string
	m      *fairmutex.Mutex
	op     *history.Op
	cancel context.CancelFunc
	result chan error    // Lock's error, sent once
	done   chan struct{} // closed when Lock has returned
	err    error         // Lock's error, once received
	got    bool
}

// lock starts ct.m.Lock in a goroutine. The test's cleanup cancels it and
// waits for it, so no Lock outlives its test.
func (ct *contender) lock(t *testing.T, h *history.History) *attempt {
	ctx, cancel := context.WithCancel(context.Background())
	a := &attempt{who: ct.who, m: ct.m, op: h.Begin(ct.who, false), cancel: cancel,
		result: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		err := a.m.Lock(ctx)
		if err == nil {
			a.op.Granted(a.m.Token())
		} else {
			a.op.Failed(err)
		}
		a.result <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-a.done
	})
	return a
}

// lineUp has holder take the lock on name, then each waiter queue behind
// it, each only once the one before is in line, so the order of the line
// is known. It returns the holder's granted attempt and the waiters'.
func lineUp(t *testing.T, h *history.History, name string, holder *contender, waiters ...*contender) (*attempt, []*attempt) {
	t.Helper()
	hold := holder.lock(t, h)
	hold.granted(t, grantTimeout)
	var waiting []*attempt
	for i, w := range waiters {
		waiting = append(waiting, w.lock(t, h))
		waitLine(t, holder.cli, name, i+2)
	}
	return hold, waiting
}

// wait returns Lock's error, failing the test if Lock has not returned
// within d.
func (a *attempt) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	if a.got {
		return a.err
	}
	select {
	case a.err = <-a.result:
		a.got = true
		return a.err
	case <-time.After(d):
		t.Fatalf("%s: Lock has not returned after %v", a.who, d)
		return nil
	}
}

// returned waits up to d for Lock to return and reports whether it did,
// with its error.
func (a *attempt) returned(d time.Duration) (bool, error) {
	if a.got {
		return true, a.err
	}
	select {
	case a.err = <-a.result:
		a.got = true
		return true, a.err
	case <-time.After(d):
		return false, nil
	}
}

// granted fails the test unless Lock returns the lock within d.
func (a *attempt) granted(t *testing.T, d time.Duration) {
	t.Helper()
	if err := a.wait(t, d); err != nil {
		t.Fatalf("%s: Lock: %v", a.who, err)
	}
}

// pending reports whether Lock is still waiting, without waiting itself.
func (a *attempt) pending() bool {
	if a.got {
		return false
	}
	select {
	case a.err = <-a.result:
		a.got = true
		return false
	default:
		return true
	}
}

// unlock releases the hold, recording the release, and returns Unlock's
// error.
func (a *attempt) unlock(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return a.op.Release(func() error { return a.m.Unlock(ctx) })
}

// mustUnlock releases the hold and fails the test on any error.
func (a *attempt) mustUnlock(t *testing.T) {
	t.Helper()
	if err := a.unlock(t); err != nil {
		t.Fatalf("%s: Unlock: %v", a.who, err)
	}
}

// assertPending fails the test if any of the attempts has returned.
func assertPending(t *testing.T, what string, as ...*attempt) {
	t.Helper()
	for _, a := range as {
		if !a.pending() {
			t.Fatalf("%s: %s returned (err %v) while it should still wait", what, a.who, a.err)
		}
	}
}

// line returns the keys of the lock's line, oldest first.
func line(t *testing.T, cli *clientv3.Client, name string) []entryRev {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatalf("read line of %s: %v", name, err)
	}
	out := make([]entryRev, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = entryRev{string(kv.Key), kv.CreateRevision}
	}
	return out
}

type entryRev struct {
	Key string
	Rev int64
}

// waitLine waits until the lock's line has n entries: used to make sure a
// contender has joined before the next one starts, which fixes join order.
func waitLine(t *testing.T, cli *clientv3.Client, name string, n int) {
	t.Helper()
	testcluster.WaitKeys(t, cli, name+"/", n)
}

// assertNoKeys fails the test if anything is left under the lock's name, as
// seen through every client given (one per live member: each member answers
// from its own store after a linearizable read).
func assertNoKeys(t *testing.T, name string, clis ...*clientv3.Client) {
	t.Helper()
	for _, cli := range clis {
		if keys := testcluster.Keys(t, cli, name+"/"); len(keys) != 0 {
			t.Fatalf("keys left under %s/: %q", name, keys)
		}
	}
}

// awaitNoKeys waits up to d for nothing to be left under the lock's name, as
// seen through every client given, then fails the test as assertNoKeys does.
// It is for checks right after faults, when entries go soon but not at
// once: with a lease that etcd has yet to expire, or with a failed call's
// cleanup delete, which a goroutine retries until etcd answers.
func awaitNoKeys(t *testing.T, name string, d time.Duration, clis ...*clientv3.Client) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		empty := true
		for _, cli := range clis {
			if len(testcluster.Keys(t, cli, name+"/")) != 0 {
				empty = false
				break
			}
		}
		if empty {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	assertNoKeys(t, name, clis...)
}

// checkHistory fails the test if the history breaks a promise of the lock.
func checkHistory(t *testing.T, h *history.History) {
	t.Helper()
	if err := h.Check(); err != nil {
		t.Fatal(err)
	}
}

// isLossErr reports whether err says the entry or its session is gone.
func isLossErr(err error) bool {
	return errors.Is(err, fairmutex.ErrLost) || errors.Is(err, fairmutex.ErrSessionExpired)
}
