package queue

import (
	"context"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/slot"
)

// slots is a session's entry keys: a table of slots (package internal/slot
// has their life: free, writing, live, removing, or quarantined for good),
// the key each slot names in a line, and the watches of the quarantined
// ones. Slots are the session's, not a line's: a slot free again may next
// be written under another name.
type slots struct {
	ctx     context.Context // the session's
	cli     *clientv3.Client
	lease   clientv3.LeaseID
	gen     uint64   // the session's generation, part of its keys (see the registry)
	cleanup *cleanup // removes what appears on a quarantined key

	table slot.Table // has its own lock
	mu    sync.Mutex
	// watched: the quarantined keys watched, so that a slot quarantined
	// under one key is watched once.
	watched map[string]bool
}

// take takes the lowest free slot for e, an entry about to be written, and
// sets e's slot and key. Reusing slots, rather than a new key per call,
// keeps a line's distinct keys few.
func (sl *slots) take(e *entry) {
	e.slot = sl.table.Take()
	id := keys.SlotID(int64(sl.lease), sl.gen, e.slot)
	if e.rides {
		id = keys.RiderID(id)
	}
	switch e.kind {
	case Permit:
		e.key = e.q.layout.WeightedPermitEntry(id, e.limit, e.weight)
	case Shared:
		e.key = e.q.layout.Entry(id, true)
	default:
		e.key = e.q.layout.Entry(id, false)
	}
	e.key = keys.Tagged(e.key, e.q.cfg.tenant) // "" but for a tenant's entry in the lock's line
}

// move applies ev to e's slot; a slot that it quarantines has its key
// watched from then on (see quarantine).
func (sl *slots) move(e *entry, ev slot.Event) {
	if e.slot < 0 {
		return // a stray: its slot is quarantined already
	}
	if to, ok := sl.table.Move(e.slot, ev); ok && to.Stage == slot.Quarantined {
		sl.quarantine(e.q, e.key)
	}
}

// moveAll applies the events to the slot of every entry of es, in order.
func (sl *slots) moveAll(es []entry, evs ...slot.Event) {
	for i := range es {
		for _, ev := range evs {
			sl.move(&es[i], ev)
		}
	}
}
