package turn_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairlock/fairlock/internal/turn"
)

// ahead builds Decide's input from "key:weight" pairs (":1" may be left out).
func ahead(specs ...string) []turn.Ahead {
	var out []turn.Ahead
	for _, s := range specs {
		key, w, ok := strings.Cut(s, ":")
		weight := 1
		if ok {
			weight, _ = strconv.Atoi(w)
		}
		out = append(out, turn.Ahead{Key: key, Weight: weight})
	}
	return out
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name          string
		limit, weight int
		ahead         []turn.Ahead
		want          turn.Decision
	}{
		{"mutex, head of the line", 1, 1, nil, turn.Decision{Granted: true}},
		{"mutex, one ahead", 1, 1, ahead("a"), turn.Decision{Watch: []string{"a"}}},
		{"mutex, several ahead: watch the newest", 1, 1, ahead("b", "a"), turn.Decision{Watch: []string{"b"}}},
		{"permits, free", 3, 1, ahead("b", "a"), turn.Decision{Granted: true}},
		{"permits, oldest waiter watches the line's deletes", 3, 1, ahead("c", "b", "a"),
			turn.Decision{WatchLine: true}},
		{"permits, later waiter watches its predecessor and its puts", 3, 1, ahead("d", "c", "b", "a"),
			turn.Decision{Watch: []string{"d"}, WatchPuts: true}},
		{"permits of one, like a mutex", 1, 1, ahead("b", "a"), turn.Decision{Watch: []string{"b"}}},
		// Weights: limit 5.
		{"weighted, fits", 5, 2, ahead("a:3"), turn.Decision{Granted: true}},
		{"weighted, fits exactly", 5, 5, nil, turn.Decision{Granted: true}},
		{"weighted, does not fit: oldest waiter watches the line", 5, 3, ahead("a:3"),
			turn.Decision{WatchLine: true}},
		{"weighted, light behind a heavy waiter does not overtake", 5, 1, ahead("b:3", "a:3"),
			turn.Decision{Watch: []string{"b"}, WatchPuts: true}},
		{"weighted, behind light holders that fill the limit", 5, 1, ahead("c:1", "b:1", "a:3"),
			turn.Decision{WatchLine: true}},
		{"weighted, more entries ahead than the limit: someone waits", 3, 1, ahead("d:1", "c:1", "b:1", "a:1"),
			turn.Decision{Watch: []string{"d"}, WatchPuts: true}},
		{"weighted, heavy waiter behind holders with room left", 8, 4, ahead("b:2", "a:3"),
			turn.Decision{WatchLine: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, turn.Decide(tc.limit, tc.weight, tc.ahead)); diff != "" {
				t.Errorf("Decide(%d, %d, %v) (-want +got):\n%s", tc.limit, tc.weight, tc.ahead, diff)
			}
		})
	}
}

func TestMustTouch(t *testing.T) {
	for _, tc := range []struct {
		limit           int
		behind, touched bool
		want            bool
	}{
		{1, true, false, false}, {1, false, false, false}, {2, false, false, false},
		{2, true, false, true}, {8, true, false, true},
		{2, true, true, false}, // the release that let it in touched it already
	} {
		if got := turn.MustTouch(tc.limit, tc.behind, tc.touched); got != tc.want {
			t.Errorf("MustTouch(%d, %v, %v) = %v, want %v", tc.limit, tc.behind, tc.touched, got, tc.want)
		}
	}
}

func TestLetIn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int
		line    []int
		leaving int
		want    []int
	}{
		{"limit 1: the successor comes in", 1, []int{1, 1, 1}, 0, []int{1}},
		{"limit 1: a waiter leaving lets nobody in", 1, []int{1, 1, 1}, 1, nil},
		{"limit 1: nobody waits", 1, []int{1}, 0, nil},
		{"limit 2, the oldest waiter comes in", 2, []int{1, 1, 1, 1}, 0, []int{2}},
		{"a later holder leaving lets in the same waiter", 2, []int{1, 1, 1, 1}, 1, []int{2}},
		{"nobody waits", 3, []int{1, 1}, 1, nil},
		{"heavy holder leaving lets in several light waiters", 5, []int{3, 2, 1, 1, 1, 1}, 0, []int{2, 3, 4}},
		{"heavy waiter still does not fit: nobody in, nobody behind overtakes", 5, []int{2, 2, 4, 1}, 0, nil},
		{"heavy waiter fits once a heavy holder leaves", 5, []int{3, 1, 4, 1}, 0, []int{2}},
		{"the leaving entry was the only one", 2, []int{2}, 0, nil},
		{"out of range", 2, []int{1, 1, 1}, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, turn.LetIn(tc.limit, tc.line, tc.leaving)); diff != "" {
				t.Errorf("LetIn(%d, %v, %d) (-want +got):\n%s", tc.limit, tc.line, tc.leaving, diff)
			}
		})
	}
}

func TestMustReread(t *testing.T) {
	for _, tc := range []struct {
		name             string
		readRev, created int64
		pending          int
		want             bool
	}{
		{"a watch still pending: wait for it", 10, 12, 1, false},
		{"created after the read: a change may have been missed", 10, 12, 0, true},
		{"created at the read's revision: covered", 12, 12, 0, false},
		{"created before the read: covered", 12, 11, 0, false},
		{"no read yet", 0, 5, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := turn.MustReread(tc.readRev, tc.created, tc.pending); got != tc.want {
				t.Errorf("MustReread(%d, %d, %d) = %v, want %v", tc.readRev, tc.created, tc.pending, got, tc.want)
			}
		})
	}
}

func TestHolders(t *testing.T) {
	x := turn.Member{Exclusive: true}
	s := turn.Member{Shared: true}
	p2 := turn.Member{Limit: 2}
	for _, tc := range []struct {
		name string
		line []turn.Member
		want []bool
	}{
		{"empty", nil, []bool{}},
		{"exclusive line", []turn.Member{x, x, x}, []bool{true, false, false}},
		{"readers together, then a writer, then a late reader", []turn.Member{s, s, x, s}, []bool{true, true, false, false}},
		{"writer first", []turn.Member{x, s, s}, []bool{true, false, false}},
		{"permits apart from the rest", []turn.Member{x, p2, x, p2, p2}, []bool{true, true, false, true, false}},
		{"weighted permits in order, no overtaking", []turn.Member{{Limit: 5, Weight: 3}, {Limit: 5, Weight: 3}, {Limit: 5, Weight: 1}},
			[]bool{true, false, false}},
		{"weighted permits filling the limit", []turn.Member{{Limit: 5, Weight: 3}, {Limit: 5, Weight: 2}, {Limit: 5}},
			[]bool{true, true, false}},
		{"admission lines of two tenants of one share, apart from each other and from permits",
			[]turn.Member{{Limit: 1, Line: "a"}, {Limit: 1, Line: "b"}, {Limit: 1}, {Limit: 1, Line: "a"}, {Limit: 1, Line: "b"}},
			[]bool{true, true, true, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, turn.Holders(tc.line)); diff != "" {
				t.Errorf("Holders (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	for _, tc := range []struct {
		name          string
		limit, weight int
		ahead         []int
		want          int
	}{
		{"mutex, head", 1, 1, nil, 0},
		{"mutex, two ahead", 1, 1, []int{1, 1}, 2},
		{"permits, room", 3, 1, []int{1, 1}, 0},
		{"permits, oldest waiter", 3, 1, []int{1, 1, 1}, 1},
		{"permits, two waiters ahead", 3, 1, []int{1, 1, 1, 1, 1}, 3},
		{"weighted, fits", 5, 2, []int{3}, 0},
		{"weighted, heavy waiter ahead", 5, 1, []int{3, 3}, 2},
		{"weighted, oldest waiter", 5, 3, []int{3}, 1},
	} {
		if got := turn.Position(tc.limit, tc.weight, tc.ahead); got != tc.want {
			t.Errorf("%s: Position(%d, %d, %v) = %d, want %d", tc.name, tc.limit, tc.weight, tc.ahead, got, tc.want)
		}
	}
}
