package main

import (
	"slices"
	"testing"
)

// TestRecorderWeighted checks a weighted semaphore's book on the issue's
// scenario, limit 5: holds count for their weights, and a later caller
// granted while an earlier one waits overtakes it only if the earlier
// one's weight did not fit beside the holds.
func TestRecorderWeighted(t *testing.T) {
	// Fair: A(3) holds, B(3) waits, C(1) behind B; A leaves, B and C go in
	// together and C's return is booked first; D(2) waits until room.
	r := newRecorder(5)
	r.begin()
	a := r.arriveN(false, 0, 3)
	r.grant(a)
	b := r.arriveN(false, 0, 3)
	r.called(b, true, 0)
	c := r.arriveN(false, 0, 1)
	r.called(c, true, 0)
	if !b.blocked || !c.blocked {
		t.Errorf("blocked: B %v, C %v; want both (B does not fit, C is behind B)", b.blocked, c.blocked)
	}
	r.release(a)
	r.grant(c) // holds 1: B's 3 fits beside them, so the two went in together
	r.grant(b) // holds 4
	d := r.arriveN(false, 0, 2)
	r.called(d, true, 0)
	if !d.blocked {
		t.Errorf("D(2) beside 4 of 5 held is not counted as blocked")
	}
	r.release(b)
	r.grant(d) // holds 3
	r.stop()
	if r.violations != 0 || r.overtakesTotal != 0 || r.joinedTotal != 0 {
		t.Errorf("fair: %d violations, %d overtakes, %d in line; want none", r.violations, r.overtakesTotal, r.joinedTotal)
	}
	if r.grants != 4 || r.weights != 9 {
		t.Errorf("%d grants of weight %d, want 4 of 9", r.grants, r.weights)
	}

	// Unfair: C(1) fits beside A(3) and goes while B(3) waits: an overtake
	// in line; D(2) granted beside A and C takes 6 of 5: a violation.
	r = newRecorder(5)
	r.begin()
	a = r.arriveN(false, 0, 3)
	r.grant(a)
	b = r.arriveN(false, 0, 3)
	r.called(b, true, 0)
	c = r.arriveN(false, 0, 1)
	r.grant(c)
	d = r.arriveN(false, 0, 2)
	r.grant(d)
	r.stop()
	if r.joinedTotal != 2 || r.joinedMax != 2 || r.violations != 1 {
		t.Errorf("unfair: %d overtakes in line (max %d), %d violations; want 2 (2), 1", r.joinedTotal, r.joinedMax, r.violations)
	}
}

// TestFifoGoes checks the weighted baseline's rule: an entry goes when the
// weights of all older entries, holders or waiters, plus its own fit.
func TestFifoGoes(t *testing.T) {
	line := func(ws ...int) []lineEntry {
		var out []lineEntry
		for i, w := range ws {
			out = append(out, lineEntry{rev: int64(10 + i), weight: w})
		}
		return out
	}
	mark := func(l []lineEntry, i int) []lineEntry { l[i].mine = true; return l }
	for _, c := range []struct {
		name       string
		line       []lineEntry
		rev        int64
		goes, mine bool
	}{
		{"alone", mark(line(4), 0), 10, true, true},
		{"fits beside older", mark(line(3, 2), 1), 11, true, true},
		{"does not fit", mark(line(3, 3), 1), 11, false, true},
		{"would fit, but an older waiter does not", mark(line(3, 3, 1), 2), 12, false, true},
		{"younger entries do not count", mark(line(2, 4, 4), 0), 10, true, true},
		{"exactly the limit", mark(line(1, 2, 2), 2), 12, true, true},
		{"not in line", line(1, 1), 12, false, false},
		{"same revision, not mine", line(1, 1), 11, false, false},
	} {
		goes, mine := fifoGoes(c.line, c.rev, 5)
		if goes != c.goes || mine != c.mine {
			t.Errorf("%s: goes %v, mine %v; want %v, %v", c.name, goes, mine, c.goes, c.mine)
		}
	}
}

// TestWeightsSeeded checks that contender i of either weighted lock draws
// the same weights, all in range, and that they vary.
func TestWeightsSeeded(t *testing.T) {
	spec := cellSpec{limit: 8, maxWeight: 4}
	sem := &wsemLocker{maxWeight: spec.maxWeight}
	cur := &curatorSem{limit: spec.limit, maxWeight: spec.maxWeight}
	var got [2][]int
	for k, l := range []weigher{sem, cur} {
		rng := newWeightRand(3)
		for range 200 {
			got[k] = append(got[k], l.weigh(rng))
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("contender 3 draws different weights on the two locks")
	}
	seen := map[int]bool{}
	for _, w := range got[0] {
		if w < 1 || w > spec.maxWeight {
			t.Fatalf("weight %d out of 1..%d", w, spec.maxWeight)
		}
		seen[w] = true
	}
	if len(seen) != spec.maxWeight {
		t.Errorf("200 draws gave the weights %v, want every one of 1..%d", seen, spec.maxWeight)
	}
	if w := drawWeight(newWeightRand(0), 1); w != 1 {
		t.Errorf("drawWeight with max 1 = %d", w)
	}
}
