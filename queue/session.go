package queue

import (
	"context"
	"slices"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/leaseguard"
)

// sessionState is what this process keeps per session lease: the entry
// slots in use, and the entries waiting to be removed. Every Queue on the
// lease shares it, so two Mutex values on one session never share a key
// (etcd #10756) and one cleanup worker serves them all.
type sessionState struct {
	s     *concurrency.Session
	lease clientv3.LeaseID
	// ctx ends when the session does. (concurrency.Session.Ctx would do,
	// but etcd's client has it only from v3.6 on.)
	ctx context.Context
	gen uint64 // this state's generation, part of its keys
	// guard times the lease from its own keep-alives, for Done and
	// HeldUntil (see package internal/leaseguard).
	guard *leaseguard.Guard
	// done serves the Done channels of the session's tickets (donegroup.go).
	done doneWatch

	mu   sync.Mutex
	free []int // slots whose entries are known gone, lowest first
	next int   // lowest slot never used
	// Abandoned entries to remove, by key, and whether the worker that
	// removes them is running; kick wakes it early.
	abandoned map[string]*abandonedEntry
	working   bool
	kick      chan struct{}
	// Slots that never return to use, by key (see quarantine).
	quarantined map[string]int
	// Waiting tickets whose own keys are checked (see checkOwn), and
	// whether the check runs.
	waiting  map[*Ticket]*ownCheck
	checking bool
}

var (
	statesMu sync.Mutex
	states   = map[clientv3.LeaseID]*sessionState{}
	// stateGen numbers the states made in this process: a state dropped
	// when its session ended on this side, while etcd may still hold the
	// lease and entries under its keys, is never made again with the same
	// keys (another Session on the same lease, say).
	stateGen uint64
)

// stateOf returns the state of s's lease, made on first use and dropped
// when the session ends (its slots and keys die with its lease).
func stateOf(s *concurrency.Session) *sessionState {
	lease := s.Lease()
	statesMu.Lock()
	defer statesMu.Unlock()
	if st := states[lease]; st != nil {
		return st
	}
	ctx, cancel := context.WithCancel(context.Background())
	stateGen++
	st := &sessionState{s: s, lease: lease, ctx: ctx, gen: stateGen, guard: leaseguard.For(s),
		abandoned: map[string]*abandonedEntry{}, kick: make(chan struct{}, 1), quarantined: map[string]int{}}
	states[lease] = st
	go func() {
		<-s.Done()
		cancel()
		statesMu.Lock()
		if states[lease] == st {
			delete(states, lease)
		}
		statesMu.Unlock()
	}()
	return st
}

// A slot's lifecycle. takeSlot hands out a free slot (free: no entry on
// its key and no write to it in flight); the call that took it writes on
// it; the slot comes back through releaseSlot only once its entry is known
// gone. A slot any of whose writes had an unknown outcome (a transient
// error, or a ctx that ended before etcd answered) is tainted: a write of
// it may still be applied, at any later time, so it never returns to use.
// It is quarantined instead (see quarantine): its key is watched for the
// rest of the session, and any entry that appears on it is removed. So
// every entry found on a free slot's key is the taking call's own, written
// by an attempt whose reply was lost: the one rule for adopting entries
// (see writeEntries).

// takeSlot reserves the lowest free slot. Reusing slots, rather than a new
// key per call, keeps a line's distinct keys few: etcd's range reads visit
// every key written under a prefix until it compacts them.
func (st *sessionState) takeSlot() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.free) > 0 {
		slot := st.free[0]
		st.free = st.free[1:]
		return slot
	}
	st.next++
	return st.next - 1
}

// releaseSlot returns a slot whose entry is known gone, or quarantines it
// when tainted.
func (st *sessionState) releaseSlot(q *Queue, key string, slot int, tainted bool) {
	if tainted {
		st.quarantine(q, key, slot)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	i, found := slices.BinarySearch(st.free, slot)
	if !found {
		st.free = slices.Insert(st.free, i, slot)
	}
}

func (st *sessionState) key(layout keys.Layout, slot int, kind Kind, limit, weight int) string {
	id := keys.SlotID(int64(st.lease), st.gen, slot)
	switch kind {
	case Permit:
		return layout.WeightedPermitEntry(id, limit, weight)
	case Shared:
		return layout.Entry(id, true)
	default:
		return layout.Entry(id, false)
	}
}
