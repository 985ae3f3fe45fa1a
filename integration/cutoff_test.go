package integration_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// A waiter already in line, its watches running, is cut off from etcd
// until its session expires. Nothing it watches can tell it (its
// connection carries nothing); its session ending must: Lock returns an
// error that matches ErrSessionExpired, and ErrLost since it had an entry,
// within the TTL and some slack, never the lock and never a hang
// (etcd #19597).
func TestWaiterCutOffUntilSessionExpires(t *testing.T) {
	const name, ttl, shortTTL = "/faults/waiter-cut", 10, 2
	c := testcluster.Cluster(t, 3)
	var h history.History

	holder := newContender(t, c, 1, ttl, name, "holder")
	cli, calls := testcluster.CountingClient(t, c, 0)
	waiter := settledContenderOn(t, cli, shortTTL, name, "waiter")
	hold, waiting := lineUp(t, &h, name, holder, waiter)
	w := waiting[0]
	// Its watch (on the holder's entry; its own key is checked by its
	// session, not watched) is asked for before the cut.
	testcluster.Eventually(t, callTimeout, "the waiter's watch", func() bool { return len(calls.WatchStartRevs()) >= 1 })

	bridge := c.Members[0].Bridge()
	cut := time.Now()
	bridge.Blackhole()
	t.Cleanup(bridge.Unblackhole)
	err := w.wait(t, shortTTL*time.Second+expirySlack+giveUpTimeout)
	t.Logf("Lock returned %v after the cut (TTL %ds): %v", time.Since(cut), shortTTL, err)
	if err == nil {
		t.Fatal("a waiter cut off until its session expired was granted the lock")
	}
	if !errors.Is(err, fairmutex.ErrSessionExpired) || !errors.Is(err, fairmutex.ErrLost) {
		t.Fatalf("Lock of a waiter cut off until its session expired = %q, want an error matching ErrSessionExpired and ErrLost", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("message of more than one line: %q", err)
	}
	if tok := waiter.m.Token(); tok != 0 {
		t.Fatalf("the waiter holds token %d after its Lock failed", tok)
	}
	bridge.Unblackhole()
	hold.mustUnlock(t)
	checkHistory(t, &h)
	awaitNoKeys(t, name, grantTimeout, holder.cli)
}

// settledContenderOn is newSettledContender on a client of the test's
// choosing: it returns once the session's first keep-alive was answered.
func settledContenderOn(t *testing.T, cli *clientv3.Client, ttl int, name, who string) *contender {
	t.Helper()
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
