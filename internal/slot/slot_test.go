package slot_test

import (
	"testing"

	"github.com/fairlock/fairlock/internal/slot"
)

func TestNext(t *testing.T) {
	var (
		free        = slot.State{Stage: slot.Free}
		writing     = slot.State{Stage: slot.Writing}
		doubted     = slot.State{Stage: slot.Writing, Doubted: true}
		live        = slot.State{Stage: slot.Live}
		liveDoubted = slot.State{Stage: slot.Live, Doubted: true}
		removing    = slot.State{Stage: slot.Removing}
		remDoubted  = slot.State{Stage: slot.Removing, Doubted: true}
		quarantined = slot.State{Stage: slot.Quarantined, Doubted: true}
	)
	for _, tc := range []struct {
		name string
		from slot.State
		e    slot.Event
		to   slot.State
		ok   bool
	}{
		{"a free slot is taken", free, slot.Take, writing, true},
		{"a slot in use is not taken", live, slot.Take, live, false},
		{"a quarantined slot is never taken", quarantined, slot.Take, quarantined, false},

		{"the write answered: live", writing, slot.Written, live, true},
		{"the write answered, nothing written: free again", writing, slot.Unwritten, free, true},
		{"an attempt's outcome unknown: doubted", writing, slot.Doubt, doubted, true},
		{"doubted, then written after all (a retry found it)", doubted, slot.Written, liveDoubted, true},
		{"doubted, nothing there after all: never free again", doubted, slot.Unwritten, quarantined, true},
		{"doubt comes only from a write", live, slot.Doubt, live, false},

		{"a live entry leaves: free again", live, slot.Gone, free, true},
		{"a doubted entry leaves: quarantined", liveDoubted, slot.Gone, quarantined, true},
		{"a live entry is abandoned", live, slot.Remove, removing, true},
		{"a write of unknown outcome is abandoned", doubted, slot.Remove, remDoubted, true},
		{"a write cancelled after its answer is abandoned", writing, slot.Remove, removing, true},
		{"the cleanup removed it: free again", removing, slot.Gone, free, true},
		{"the cleanup removed a doubted one: quarantined", remDoubted, slot.Gone, quarantined, true},

		{"nothing is gone from a free slot", free, slot.Gone, free, false},
		{"a slot being written is not gone", writing, slot.Gone, writing, false},
		{"removed twice", removing, slot.Remove, removing, false},
		{"quarantine is for good", quarantined, slot.Gone, quarantined, false},
		{"quarantine is for good, whatever comes", quarantined, slot.Unwritten, quarantined, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to, ok := slot.Next(tc.from, tc.e)
			if to != tc.to || ok != tc.ok {
				t.Errorf("Next(%+v, %d) = %+v, %v; want %+v, %v", tc.from, tc.e, to, ok, tc.to, tc.ok)
			}
		})
	}
}

// A session's slots: the lowest free one is taken, one comes back only once
// its entry is known gone, and a quarantined one never comes back.
func TestTable(t *testing.T) {
	var tb slot.Table
	take := func(want int) {
		t.Helper()
		if got := tb.Take(); got != want {
			t.Fatalf("Take() = %d, want %d", got, want)
		}
	}
	move := func(n int, e slot.Event, want slot.Stage) {
		t.Helper()
		if to, ok := tb.Move(n, e); !ok || to.Stage != want {
			t.Fatalf("Move(%d, %d) = %v, %v; want %v", n, e, to, ok, want)
		}
	}
	take(0)
	take(1)
	take(2)
	move(0, slot.Written, slot.Live)
	move(1, slot.Written, slot.Live)
	move(2, slot.Doubt, slot.Writing)
	move(2, slot.Unwritten, slot.Quarantined)
	take(3) // 0 and 1 are in use, 2 is quarantined
	move(1, slot.Gone, slot.Free)
	move(0, slot.Remove, slot.Removing)
	take(1) // 0 is being removed: not free until it is gone
	move(0, slot.Gone, slot.Free)
	take(0)
	take(4)
	if _, ok := tb.Move(2, slot.Gone); ok {
		t.Error("a quarantined slot moved")
	}
	if _, ok := tb.Move(9, slot.Gone); ok {
		t.Error("a slot never taken moved")
	}
	if st := tb.State(2); st.Stage != slot.Quarantined {
		t.Errorf("slot 2 is %v, want quarantined", st.Stage)
	}
}
