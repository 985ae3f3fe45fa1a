// Package slot is the life of a session's entry keys. A session writes
// its entries on slots, small numbers that name their keys, and reuses a
// slot once its entry is known gone, so that a line's distinct keys stay
// few however often it is locked (etcd's range reads visit every key
// written under a prefix until it compacts them). A slot comes back only
// when no write to it can still land: one whose write had an unknown
// outcome is quarantined instead, for the rest of the session.
//
//	free ─take─▶ writing ─written─▶ live ─remove─▶ removing ─gone─▶ free
//	writing ─unwritten─▶ free;  writing ─remove─▶ removing;  live ─gone─▶ free
//	writing ─doubt─▶ writing, doubted: where it would become free, it is
//	quarantined instead, and never used again
//
// So every entry found on a free slot's key is the taking call's own,
// written by an attempt whose reply was lost. Next is the one transition
// function; Table keeps a session's slots with it. Package queue does the
// I/O (the writes, the removals, the watch of a quarantined key).
package slot

import (
	"slices"
	"sync"
)

// Stage is where a slot is in its life.
type Stage uint8

// The stages.
const (
	// Free: no entry on its key and no write to it in flight.
	Free Stage = iota
	// Writing: taken by a call whose write is in flight.
	Writing
	// Live: its entry is in a line.
	Live
	// Removing: its entry is handed to the cleanup.
	Removing
	// Quarantined: never used again; its key is watched, and any entry
	// that a late write puts there is removed.
	Quarantined
)

var names = [...]string{"free", "writing", "live", "removing", "quarantined"}

func (s Stage) String() string {
	if int(s) < len(names) {
		return names[s]
	}
	return "stage(?)"
}

// State is a slot's stage, and whether a write of it had an unknown
// outcome (Doubted): such a write may still be applied, at any later
// time, so the slot never returns to Free.
type State struct {
	Stage   Stage
	Doubted bool
}

// Event is what happens to a slot.
type Event uint8

// The events.
const (
	// Take: a call takes a free slot to write on.
	Take Event = iota
	// Doubt: an attempt of the write had an unknown outcome (a transient
	// error, or a ctx that ended before etcd answered).
	Doubt
	// Written: etcd answered, and the entry is there.
	Written
	// Unwritten: etcd answered, and nothing was written.
	Unwritten
	// Remove: the entry, written or maybe written, is handed to the cleanup.
	Remove
	// Gone: the entry is known gone (left, lost, or removed by the cleanup).
	Gone
)

// Next returns the state that event e moves a slot in state s to, and
// whether the move happens; a move that does not happen leaves the slot as
// it was.
func Next(s State, e Event) (State, bool) {
	back := State{Stage: Free}
	if s.Doubted {
		back = State{Stage: Quarantined, Doubted: true}
	}
	switch {
	case e == Take && s.Stage == Free:
		return State{Stage: Writing}, true
	case e == Doubt && s.Stage == Writing:
		return State{Stage: Writing, Doubted: true}, true
	case e == Written && s.Stage == Writing:
		return State{Stage: Live, Doubted: s.Doubted}, true
	case e == Unwritten && s.Stage == Writing:
		return back, true
	case e == Remove && (s.Stage == Writing || s.Stage == Live):
		return State{Stage: Removing, Doubted: s.Doubted}, true
	case e == Gone && (s.Stage == Live || s.Stage == Removing):
		return back, true
	}
	return s, false
}

// Table is the slots of one session. It is safe for concurrent use; its
// zero value has no slot in use.
type Table struct {
	mu    sync.Mutex
	slots []State // by slot number; every slot past the end is free and never used
	free  []int   // the free slots below len(slots), lowest first
}

// Take takes the lowest free slot for a write.
func (t *Table) Take() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.slots)
	if len(t.free) > 0 {
		n, t.free = t.free[0], t.free[1:]
	} else {
		t.slots = append(t.slots, State{})
	}
	t.slots[n], _ = Next(t.slots[n], Take)
	return n
}

// Move applies event e to slot n and returns its new state, and whether
// the move happened. A slot that becomes Free is the next Take's if it is
// the lowest; one that becomes Quarantined (ok and Stage Quarantined: once
// per slot) needs its key watched.
func (t *Table) Move(n int, e Event) (State, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.slots) {
		return State{}, false
	}
	to, ok := Next(t.slots[n], e)
	if !ok {
		return t.slots[n], false
	}
	t.slots[n] = to
	if to.Stage == Free {
		i, _ := slices.BinarySearch(t.free, n)
		t.free = slices.Insert(t.free, i, n)
	}
	return to, true
}

// State returns slot n's state; Free for a slot never used.
func (t *Table) State(n int) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.slots) {
		return State{}
	}
	return t.slots[n]
}
