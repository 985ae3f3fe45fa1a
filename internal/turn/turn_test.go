package turn_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairlock/fairlock/internal/turn"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		ahead []string
		want  turn.Decision
	}{
		{"mutex, head of the line", 1, nil, turn.Decision{Granted: true}},
		{"mutex, one ahead", 1, []string{"a"}, turn.Decision{Watch: []string{"a"}}},
		{"mutex, several ahead: watch the newest", 1, []string{"b", "a"}, turn.Decision{Watch: []string{"b"}}},
		{"permits, free", 3, []string{"b", "a"}, turn.Decision{Granted: true}},
		{"permits, oldest waiter watches every holder", 3, []string{"c", "b", "a"}, turn.Decision{Watch: []string{"c", "b", "a"}}},
		{"permits, later waiter watches its predecessor and its puts", 3, []string{"d", "c", "b", "a"}, turn.Decision{Watch: []string{"d"}, WatchPuts: true}},
		{"permits of one, like a mutex", 1, []string{"b", "a"}, turn.Decision{Watch: []string{"b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, turn.Decide(tc.limit, tc.ahead)); diff != "" {
				t.Errorf("Decide(%d, %v) (-want +got):\n%s", tc.limit, tc.ahead, diff)
			}
		})
	}
}

func TestMustSignal(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		behind bool
		want   bool
	}{{1, true, false}, {1, false, false}, {2, false, false}, {2, true, true}, {8, true, true}} {
		if got := turn.MustSignal(tc.limit, tc.behind); got != tc.want {
			t.Errorf("MustSignal(%d, %v) = %v, want %v", tc.limit, tc.behind, got, tc.want)
		}
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, turn.Holders(tc.line)); diff != "" {
				t.Errorf("Holders (-want +got):\n%s", diff)
			}
		})
	}
}
