package main

import (
	"math"
	"slices"
	"testing"
	"time"
)

// grantsOf writes a grant order as letters: "A" is a grant to tenant 0
// made while every tenant waited, "a" one made while some did not.
func grantsOf(s string) []shareGrant {
	var out []shareGrant
	for _, c := range s {
		if c >= 'a' && c <= 'z' {
			out = append(out, shareGrant{tenant: int(c - 'a')})
		} else {
			out = append(out, shareGrant{tenant: int(c - 'A'), all: true})
		}
	}
	return out
}

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		name   string
		order  string
		shares []int
		want   float64
	}{
		{"no grants", "", []int{1, 1}, 0},
		{"alternation at 1:1", "ABABABAB", []int{1, 1}, 0.5},
		{"weighted round-robin at 2:1", "AABAABAAB", []int{2, 1}, 2.0 / 3},
		{"four tenants in turn", "ABCDABCDABCD", []int{1, 1, 1, 1}, 0.75},
		{"a turn taken twice: exactly one grant", "ABBAAB", []int{1, 1}, 1},
		{"three in a row at 1:1", "ABAAAB", []int{1, 1}, 1.5},
		{"a grant not all waited for splits the run", "AAbAA", []int{1, 1}, 1},
		{"the same grants in one run", "AABAA", []int{1, 1}, 1.5},
		{"only grants not all waited for", "aaaa", []int{1, 1}, 0},
		{"FIFO drifts: 3 of 4 grants at 1:1", "AAABAAABAAABAAAB", []int{1, 1}, 4.5},
		{"a tenant never served", "ABABAB", []int{1, 1, 1}, 2},
		{"the weighted tenant served as an equal", "ABABAB", []int{2, 1}, 4.0 / 3},
	} {
		got := spread(grantsOf(c.order), c.shares)
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: spread(%q, %v) = %.4f, want %.4f", c.name, c.order, c.shares, got, c.want)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, c := range []struct {
		in   string
		want tenantMix
	}{
		{"6+2", tenantMix{{6, 1}, {2, 1}}},
		{"6:2+2", tenantMix{{6, 2}, {2, 1}}},
		{" 5 + 1+3:3 +1 ", tenantMix{{5, 1}, {1, 1}, {3, 3}, {1, 1}}},
	} {
		got, err := parseMix(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseMix(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "6", "6+", "0+2", "6:0+2", "6:x+2", "-1+2", "a+b", "1:2+1"} {
		if m, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) = %v, want an error", bad, m)
		}
	}
	m, _ := parseMix(" 6:2 + 2")
	if got := m.String(); got != "6:2+2" {
		t.Errorf("String = %q, want 6:2+2", got)
	}
	if ms, hs, err := parseTenantFlags("", "5ms"); err != nil || ms != nil || hs != nil {
		t.Errorf("no mixes: %v, %v, %v; want no cells", ms, hs, err)
	}
	for _, holds := range []string{"", "5", "-1ms", "5ms,x"} {
		if _, _, err := parseTenantFlags("6+2", holds); err == nil {
			t.Errorf("-tenant-holds %q accepted", holds)
		}
	}
}

// TestMix checks the contenders' tenants, the small tenants and the
// design's bound on the grants a caller sees go to others while in line,
// worked out by hand from queue's "Tenants" (see inLineBound).
func TestMix(t *testing.T) {
	m, _ := parseMix("5+1+1+1")
	var tenants []int
	for i := range m.contenders() {
		tenants = append(tenants, m.tenantOf(i))
	}
	if want := []int{0, 0, 0, 0, 0, 1, 2, 3}; !slices.Equal(tenants, want) {
		t.Errorf("tenants of 5+1+1+1's contenders: %v, want %v", tenants, want)
	}
	if got := m.small(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("small tenants of 5+1+1+1: %v", got)
	}
	for _, c := range []struct {
		mix    string
		tenant int
		want   int
	}{
		// B's callers: one holds or waits in the lock's line, the other
		// waits for admission: A, B's other, then A again.
		{"6+2", 1, 3},
		// The same with A's share 2: two of A's, B's other, two of A's.
		{"6:2+2", 1, 5},
		// A lone caller: one of each other tenant's.
		{"5+1+1+1", 1, 3},
		// A's callers wait for A's four others, three others' between each.
		{"5+1+1+1", 0, 19},
		// Admitted at once (share 2 for two callers): A, and B's other.
		{"6+2:2", 1, 2},
	} {
		m, err := parseMix(c.mix)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.inLineBound(c.tenant); got != c.want {
			t.Errorf("%s: bound of tenant %s = %d, want %d", c.mix, tenantName(c.tenant), got, c.want)
		}
	}
}

// TestRecorderTenants checks a tenants cell's book on a scripted history:
// when every tenant counts as waiting, and the grants a caller sees go to
// others while in line.
func TestRecorderTenants(t *testing.T) {
	mix := tenantMix{{2, 1}, {1, 1}}
	r := newRecorder(1)
	r.tenants = newTenantBook(mix)
	r.begin()
	a1 := r.arriveAs(false, 0, 1, 0)
	r.called(a1, true, 0)
	r.grant(a1) // B has not come yet
	b := r.arriveAs(false, 0, 1, 1)
	r.called(b, true, 0)
	a2 := r.arriveAs(false, 0, 1, 0)
	r.called(a2, true, 0)
	r.release(a1)
	r.grant(b) // everyone waits, a1 in its Unlock too
	r.cycle(a1)
	a1 = r.arriveAs(false, 0, 1, 0)
	r.release(b)
	r.cycle(b) // B's only caller is done: B no longer waits
	r.grant(a2)
	r.abandon(a1)
	b = r.arriveAs(false, 0, 1, 1)
	r.called(b, true, 0)
	a3 := r.arriveAs(false, 0, 1, 0)
	r.called(a3, true, 0)
	r.release(a2)
	r.cycle(a2)
	r.grant(a3) // A waits again through a3: everyone waits
	r.release(a3)
	r.grant(b) // in line through a3's grant
	r.stop()
	// In line: a1 alone; b with a2 in line; a2 with no B in line; a3
	// with b; b with nobody of A's in line (a1 gave up).
	want := []shareGrant{{0, false, 0}, {1, true, 0}, {0, false, 0}, {0, true, 0}, {1, false, 0}}
	if !slices.Equal(r.tenants.inLine, want) {
		t.Errorf("grants, all in line: %v, want %v", r.tenants.inLine, want)
	}
	want = []shareGrant{{0, false, 0}, {1, true, 0}, {0, false, 0}, {0, true, 0}, {1, true, 0}}
	if !slices.Equal(r.tenants.loop, want) {
		t.Errorf("grants, all looping: %v, want %v", r.tenants.loop, want)
	}
	if got := r.tenants.inLineMax; !slices.Equal(got, []int{1, 1}) {
		t.Errorf("most grants to others while in line, per tenant: %v, want [1 1] (a2 through b's, b through a3's)", got)
	}
	if w := r.tenants.waits; len(w[0]) != 3 || len(w[1]) != 2 || slices.Min(w[0]) <= 0 || slices.Min(w[1]) <= 0 {
		t.Errorf("waits per tenant %v, want 3 and 2, all above 0", w)
	}
	if r.violations != 0 {
		t.Errorf("%d violations", r.violations)
	}
}

// TestTenantTargets checks the verdicts on a run's figures: a spread of
// exactly one grant at shares 2:1 (thirds, rounded by floats) meets the
// target; a bound exceeded or a slow tenants cell does not.
func TestTenantTargets(t *testing.T) {
	mix := tenantMix{{6, 2}, {2, 1}}
	cell := func(name string, perSec float64, order string, inLine int) cellResult {
		return cellResult{Contender: name, N: 8, PerSec: perSec, Tenants: &tenantFigures{Mix: mix, Hold: 5 * time.Millisecond,
			Spread: spread(grantsOf(order), mix.shares()), SpreadLoop: spread(grantsOf(order), mix.shares()),
			InWindows: len(order), InWindowsLoop: len(order), SmallInLineMax: inLine,
			SmallBound: mix.inLineBound(1)}}
	}
	verdicts := func(res *results) map[string]bool {
		out := map[string]bool{}
		tenantTargets(res, func(target, _ string, met bool) { out[target] = met })
		return out
	}
	// Three grants of A's in a row: one more than its 2 of 3, exactly.
	good := &results{Tenants: []cellResult{cell(nameTenants, 70, "AABAAABAABAAB", 5), cell(nameFIFO, 100, "AAAB", 7)}}
	if s := good.Tenants[0].Tenants.Spread; math.Abs(s-1) > 1e-9 {
		t.Fatalf("spread %v, want 1", s)
	}
	got := verdicts(good)
	if len(got) != 4 {
		t.Fatalf("%d targets, want 4: %v", len(got), got)
	}
	for target, met := range got {
		if !met {
			t.Errorf("%q not met on good figures", target)
		}
	}
	bad := &results{Tenants: []cellResult{cell(nameTenants, 50, "AAAAB", 6), cell(nameFIFO, 100, "AAAB", 7)}}
	for target, met := range verdicts(bad) {
		if met {
			t.Errorf("%q met on bad figures", target)
		}
	}
}

// TestByToken checks that the grants of a tenants cell are read in the
// lock's order, by token, whatever the order they were booked in: three
// of A's then three of B's as booked are the alternation the lock made.
func TestByToken(t *testing.T) {
	booked := []shareGrant{{0, true, 10}, {0, true, 14}, {0, true, 18}, {1, true, 12}, {1, true, 16}, {1, true, 20}}
	want := []shareGrant{{0, true, 10}, {1, true, 12}, {0, true, 14}, {1, true, 16}, {0, true, 18}, {1, true, 20}}
	if got := byToken(booked); !slices.Equal(got, want) {
		t.Errorf("byToken(%v) = %v, want %v", booked, got, want)
	}
	if s := spread(byToken(booked), []int{1, 1}); s != 0.5 {
		t.Errorf("spread in the lock's order %v, want 0.5", s)
	}
	if s := spread(booked, []int{1, 1}); s != 1.5 {
		t.Errorf("spread as booked %v, want 1.5", s)
	}
}

// TestInLineByRevision checks the reading of "in line" by etcd's
// revisions: a caller waits for the grants made from the revision of its
// first call to its own grant, and a grant is made at the granted entry's
// creation or at its predecessor's release, whichever is later.
func TestInLineByRevision(t *testing.T) {
	callers := []revCaller{
		{tenant: 0, join: 2, token: 3, released: 6},
		{tenant: 1, join: 4, token: 4, released: 8},
		{tenant: 0, join: 5, token: 7, released: 10},
		{tenant: 1, join: 9, token: 9, released: 12},
		{tenant: 0, join: 10},            // never granted
		{tenant: 1, join: 13, token: 14}, // granted, but not booked (after the window)
	}
	got := inLineByRevision(callers, []int64{9, 7, 4, 3}, 2)
	want := []shareGrant{
		{0, false, 3}, // at 3: B not yet in line
		{1, true, 4},  // at 6, A's release: the next A (joined at 5) waits
		{0, false, 7}, // at 8, B's release: the next B joins only at 9
		{1, true, 9},  // at 10: the A that joined at 10 waits
	}
	if !slices.Equal(got, want) {
		t.Errorf("inLineByRevision = %v, want %v", got, want)
	}
}
