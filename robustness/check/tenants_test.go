package check_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fairlock/fairlock/robustness/check"
	"github.com/fairlock/fairlock/robustness/history"
)

func TestRuns(t *testing.T) {
	shares := map[string]int{"a": 2, "b": 1}
	g := func(tenant string, waiting bool) check.TenantGrant {
		return check.TenantGrant{Tenant: tenant, OthersWaiting: waiting}
	}
	for _, tc := range []struct {
		name    string
		grants  []check.TenantGrant
		longest map[string]int
		over    []int // the lengths of the runs over share + 1
	}{
		{"round robin by share", []check.TenantGrant{g("a", true), g("a", true), g("b", true), g("a", true),
			g("a", true), g("b", true)}, map[string]int{"a": 2, "b": 1}, nil},
		{"share plus one", []check.TenantGrant{g("a", true), g("a", true), g("a", true), g("b", true), g("b", true)},
			map[string]int{"a": 3, "b": 2}, nil},
		{"one too many", []check.TenantGrant{g("b", true), g("a", true), g("a", true), g("a", true), g("a", true)},
			map[string]int{"a": 4, "b": 1}, []int{4}},
		{"a grant while another tenant does not wait ends the run",
			[]check.TenantGrant{g("a", true), g("a", true), g("a", false), g("a", true), g("a", true), g("a", true)},
			map[string]int{"a": 3}, nil},
		{"two runs over", []check.TenantGrant{g("b", true), g("b", true), g("b", true), g("a", true), g("b", true),
			g("b", true), g("b", true), g("b", true)}, map[string]int{"a": 1, "b": 4}, []int{3, 4}},
	} {
		longest, over := check.Runs(tc.grants, shares)
		var lens []int
		for _, r := range over {
			lens = append(lens, len(r.Grants))
		}
		if fmt.Sprint(longest) != fmt.Sprint(tc.longest) || !slices.Equal(lens, tc.over) {
			t.Errorf("%s: longest %v, over %v; want %v, %v", tc.name, longest, lens, tc.longest, tc.over)
		}
	}
}

const (
	tenantsMutex = "/robustness/tenants/mutex"
	sec          = int64(1e9)
)

// tenantsFake is a run of the tenants workload's mutex (tenant a, share 2,
// is tenants-1's; b, share 1, tenants-2's) in which b has a caller admitted
// but not in the lock's line from the start, and a caller of a's joins,
// holds and leaves n times over, each with an admission of its own: n
// grants of a's in a row while b waits.
func tenantsFake(t *testing.T, n int) *fake {
	f := newFake(t, "tenants-1#1", "tenants-2#1")
	rev := int64(10)
	put := func(key string, lease int64) {
		f.events = append(f.events, history.Event{T: rev * sec / 10, Rev: rev, Key: key, Create: rev, Lease: lease})
		rev++
	}
	put(tenantsMutex+"/.q/b/.p/1/kb", 0xb)
	for i := range int64(n) {
		adm, entry := fmt.Sprintf("%s/.q/a/.p/2/k%d", tenantsMutex, i), fmt.Sprintf("%s/.x/k%d#a", tenantsMutex, i)
		put(adm, 0xa0+i)
		admRev := rev - 1
		put(entry, 0xa0+i)
		// The release: both entries in one transaction.
		f.events = append(f.events,
			history.Event{T: rev * sec / 10, Rev: rev, Key: adm, Create: admRev, Delete: true},
			history.Event{T: rev * sec / 10, Rev: rev, Key: entry, Create: rev - 1, Delete: true})
		rev++
	}
	return f
}

// A tenant that gets more than its share plus one grants in a row while
// the other waits is a violation, unless a fault that can keep the other
// tenant's admitted caller out of the line was under way.
func TestTenantsRuns(t *testing.T) {
	wantViolations(t, tenantsFake(t, 3).check(), "tenants") // share + 1
	wantViolations(t, tenantsFake(t, 4).check(), "tenants", "tenant a (share 2) got 4 grants in a row")
	for _, fl := range []history.Fault{
		{Seq: 1, Kind: "stop-follower", Members: []string{"m2"}, Victim: "m2 (follower)", From: 1 * sec, To: 2 * sec},
		{Seq: 1, Kind: "pause-client", Procs: []string{"tenants-2#1"}, Victim: "tenants-2#1", From: 1 * sec, To: 2 * sec},
	} {
		f := tenantsFake(t, 4)
		f.faults = append(f.faults, fl)
		rep := f.check()
		wantViolations(t, rep, "tenants")
		if !slices.ContainsFunc(result(t, rep, "tenants").Figures, func(s string) bool {
			return strings.Contains(s, "runs over share + 1: 1, 1 excused by a fault")
		}) {
			t.Errorf("%s: figures %q: want the run excused", fl.Kind, result(t, rep, "tenants").Figures)
		}
	}
	// A's own pause excuses nothing.
	f := tenantsFake(t, 4)
	f.faults = append(f.faults, history.Fault{Seq: 1, Kind: "pause-client", Procs: []string{"tenants-1#1"},
		Victim: "tenants-1#1", From: 1 * sec, To: 2 * sec})
	wantViolations(t, f.check(), "tenants", "got 4 grants in a row")
}

// An entry that joins the lock's line without an admission of its own (its
// tenant's, its lease's, not serving another entry) and that a caller was
// granted is a violation, and so are more entries of a tenant in the line
// than it has callers admitted. One that nobody was granted is a stray,
// the late copy of a join, which the session removes: a violation only
// when it stays longer than StrayBound.
func TestTenantsShares(t *testing.T) {
	joins := []history.Event{
		{Rev: 101, Key: tenantsMutex + "/.x/kb#b", Lease: 0xb},       // b's admitted caller joins
		{Rev: 102, Key: tenantsMutex + "/.q/b/.p/1/kz", Lease: 0xbb}, // second in b's admission line
		{Rev: 103, Key: tenantsMutex + "/.x/kz#b", Lease: 0xbb},      // joins all the same
	}
	for _, tc := range []struct {
		name    string
		granted bool
		gone    int64 // when the entry of 103 went, 0: never
		want    []string
	}{
		{"granted", true, 0, []string{
			"token 103 (tenant b, lease bb) joined the lock's line at revision 103 (+10.300s) without an admission",
			"at revision 103 (+10.300s) tenant b (share 1) had 2 entries in the lock's line and 1 callers admitted"}},
		{"a stray, gone at once", false, 10*sec + 400*int64(1e6), nil},
		{"a stray that stays", false, 14 * sec, []string{"stray entry, token 103 (a late copy of a join, no caller's) " +
			"stayed in the lock's line from +10.300s to +14.000s, more than 2.5s"}},
		{"a stray left at the end", false, 0, []string{"stray entry, token 103"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tenantsFake(t, 1)
			for _, e := range joins {
				e.T, e.Create = e.Rev*sec/10, e.Rev
				f.events = append(f.events, e)
			}
			if tc.granted {
				f.rec(history.Record{T: 10*sec + 300*int64(1e6), Proc: "tenants-2#1", Kind: history.Grant, Op: 1,
					Lock: tenantsMutex, Mode: "x", Token: 103})
			}
			if tc.gone != 0 {
				f.events = append(f.events, history.Event{T: tc.gone, Rev: 104, Key: tenantsMutex + "/.x/kz#b",
					Create: 103, Lease: 0xbb, Delete: true})
			}
			wantViolations(t, f.check(), "tenants", tc.want...)
		})
	}
}

// An admission serves one entry: a second entry of the same lease (a late
// copy of the caller's earlier join, on another of its keys) has none, and
// is a stray when nobody was granted it; when the first is nobody's and the
// second the caller's, the first is the stray (seed 505: a late copy came
// 5 ms before the caller's next join).
func TestTenantsAdmissionServesOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		granted []int64 // of tokens 101, 102
		gone    int64   // the token that goes at +10.25s
		want    []string
	}{
		{"the second nobody's", []int64{101}, 102, nil},
		{"the first nobody's", []int64{102}, 101, nil},
		{"both granted", []int64{101, 102}, 102, []string{"token 102 (tenant b, lease b) joined the lock's line at " +
			"revision 102 (+10.200s) without an admission",
			"tenant b (share 1) had 2 entries in the lock's line and 1 callers admitted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tenantsFake(t, 1)
			keys := map[int64]string{101: tenantsMutex + "/.x/kb#b", 102: tenantsMutex + "/.x/kb2#b"}
			for _, rev := range []int64{101, 102} { // b's admitted caller's lease, twice
				f.events = append(f.events, history.Event{T: rev * sec / 10, Rev: rev, Key: keys[rev], Create: rev,
					Lease: 0xb})
			}
			f.events = append(f.events, history.Event{T: 10*sec + 250*int64(1e6), Rev: 103, Key: keys[tc.gone],
				Create: tc.gone, Lease: 0xb, Delete: true})
			for _, tok := range tc.granted {
				f.rec(history.Record{T: tok * sec / 10, Proc: "tenants-2#1", Kind: history.Grant, Op: tok,
					Lock: tenantsMutex, Mode: "x", Token: tok})
			}
			wantViolations(t, f.check(), "tenants", tc.want...)
		})
	}
}
