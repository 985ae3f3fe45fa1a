package tenants_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// arrivals has the callers arrive in the order given, each "tenant:n"
// spec meaning n callers of that tenant ("" for callers without one) named
// tenant1, tenant2..., of the shares given.
func arrivals(t *testing.T, c *integration.Cluster, l *line, shares map[string]int, specs ...string) {
	t.Helper()
	count := map[string]int{}
	for i, tenant := range specs {
		count[tenant]++
		who := tenant
		if who == "" {
			who = "plain"
		}
		who = who + string(rune('0'+count[tenant]))
		l.arrive(mutexCaller(t, c, i, l.name, who, tenant, shares[tenant]))
	}
}

func TestTenantsAlternateAtEqualShares(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/deploy/alternate")
	// A queues five deploys, then B three: FIFO would serve all of A's first.
	arrivals(t, c, l, map[string]int{"A": 1, "B": 1}, "A", "A", "A", "A", "A", "B", "B", "B")
	got := l.serve(8, 1)
	want := []string{"A1", "B1", "A2", "B2", "A3", "B3", "A4", "A5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grant order (-want +got):\n%s", diff)
	}
	l.empty(c)
}

func TestTenantsShareTwoToOne(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/deploy/two-to-one")
	arrivals(t, c, l, map[string]int{"A": 2, "B": 1}, "A", "A", "A", "A", "A", "A", "B", "B", "B")
	got := l.serve(9, 1)
	want := []string{"A1", "A2", "B1", "A3", "A4", "B2", "A5", "A6", "B3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grant order (-want +got):\n%s", diff)
	}
	l.empty(c)
}

// Callers without a tenant join the lock's line directly: they are served
// in arrival order among the admitted callers, and exclude them.
func TestPlainAndTenantCallersShareOneLine(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/deploy/mixed")
	arrivals(t, c, l, map[string]int{"A": 1, "B": 1}, "A", "A", "", "B", "A", "")
	got := l.serve(6, 1)
	// A1 holds; A2 and A3 wait for admission; plain1, B1 and plain2 are in
	// the lock's line in arrival order, and A2 joins it, behind them, when
	// A1 leaves.
	want := []string{"A1", "plain1", "B1", "plain2", "A2", "A3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grant order (-want +got):\n%s", diff)
	}
	l.empty(c)
}

// A tenant that arrives behind a long line of another tenant's callers
// waits for the other tenants' shares' worth of grants, not for the line.
func TestLateTenantWaitsForSharesNotTheLine(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	l := newLine(t, c, "/deploy/late")
	specs := []string{"A", "A", "A", "A", "A", "A", "A", "A", "B"}
	arrivals(t, c, l, map[string]int{"A": 3, "B": 1}, specs...)
	got := l.serve(len(specs), 1)
	// A's share of 3 is in the lock's line when B1 arrives: B1 is the
	// fourth grant, whatever the length of A's line.
	if got[3] != "B1" {
		t.Errorf("grant order %v: B1 granted %d-th, want 4th", got, indexOf(got, "B1")+1)
	}
	l.empty(c)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
