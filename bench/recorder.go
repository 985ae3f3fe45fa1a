package main

import (
	"sync"
	"time"
)

// recorder keeps the in-process book of one cell: who arrived when, who was
// granted when, and when each hold was released. One mutex orders every
// event, so "earlier" and "later" are the order the contenders' goroutines
// reported them in, on the monotonic clock.
//
// A cell has one line (a lock), or several for multi-lock cells, each call
// taking a set of them; a line admits limit exclusive holders at once
// (1 but for semaphores), or any number of readers (line 0 only). For
// weighted semaphores a holder counts for its weight: a line admits holds
// whose weights add up to at most limit.
type recorder struct {
	mu      sync.Mutex
	limit   int
	start   time.Time
	stopped bool

	seq            int64
	pending        map[int64]*arrival
	pendingWriters int
	lastRelease    time.Time // of any hold
	lastWriterEnd  time.Time // of a write hold
	readers        int
	writers        [64]int // exclusive holders per line, each counted for its weight

	grants, reads  int
	weights        int    // of the grants
	lockCalls      [2]int // server calls inside granted Lock calls: [0] writers, [1] readers
	handoffs       []time.Duration
	waits          []time.Duration // Lock call start to grant, of every grant
	cycles         []time.Duration // Lock call start to Unlock return
	overtakesTotal int
	overtakesMax   int
	joinedTotal    int // overtakes of callers already in line: see arrival.joined
	joinedMax      int
	violations     int // grants that broke mutual exclusion

	tenants *tenantBook // tenants cells only
}

// arrival is one Lock or RLock call in flight.
type arrival struct {
	seq   int64
	at    time.Time
	read  bool
	lines uint64 // the lines the call takes, a bit set
	// weight is of the hold the call asks for on each line: 1 but for
	// weighted semaphores.
	weight int
	// blocked: when the call started, it could not be granted at once in
	// a fair lock: a conflicting hold, or a conflicting caller before it.
	blocked bool
	// joined is when the call's first server call returned: from then on
	// the server knows of the caller (a queue lock has its place in line).
	// Zero until then.
	joined          time.Time
	calls           int // server calls made by the Lock call so far
	overtaken       int // later arrivals granted before this one
	overtakenJoined int // of those, ones that arrived after joined

	tenant       int   // tenants cells: the caller's tenant; -1 for the others
	grantsJoined int   // grants booked when joined was set
	token        int64 // tenants cells: the hold's token, set before its grant is booked
	// joinRev: the revision of the call's first server call that
	// returned (its header's), when etcd first knew of the caller;
	// releaseRev: the newest revision its Unlock's calls returned, that of
	// the release. 0 until known.
	joinRev, releaseRev int64
}

// newRecorder returns the book of a cell whose lines admit limit holders
// at once.
func newRecorder(limit int) *recorder {
	return &recorder{limit: max(limit, 1), pending: make(map[int64]*arrival)}
}

// begin opens the measurement window.
func (r *recorder) begin() {
	r.mu.Lock()
	r.start = time.Now()
	r.mu.Unlock()
}

// stop closes the window: what happens afterwards is not counted. It returns
// the window's length.
func (r *recorder) stop() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	// A waiter still in line at the end may have been overtaken more than
	// anyone who got through.
	for _, a := range r.pending {
		r.overtakesMax = max(r.overtakesMax, a.overtaken)
		r.joinedMax = max(r.joinedMax, a.overtakenJoined)
	}
	return time.Since(r.start)
}

// arrive records the start of a Lock (read false) or RLock (read true)
// call on the given lines (a bit set; 0 means line 0 alone).
func (r *recorder) arrive(read bool, lines uint64) *arrival {
	return r.arriveN(read, lines, 1)
}

// arriveN is arrive for a hold of the given weight (a weighted
// semaphore's AcquireN; below 1 counts as 1).
func (r *recorder) arriveN(read bool, lines uint64, weight int) *arrival {
	return r.arriveAs(read, lines, weight, -1)
}

// arriveAs is arriveN for a caller of the given tenant of a tenants cell
// (-1 for none).
func (r *recorder) arriveAs(read bool, lines uint64, weight, tenant int) *arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lines == 0 {
		lines = 1
	}
	r.seq++
	a := &arrival{seq: r.seq, at: time.Now(), read: read, lines: lines, weight: max(weight, 1), tenant: tenant}
	if r.tenants != nil && tenant >= 0 {
		r.tenants.looping[tenant]++
		r.tenants.arrivals = append(r.tenants.arrivals, a)
	}
	if read {
		a.blocked = r.writers[0] > 0 || r.pendingWriters > 0
	} else {
		a.blocked = r.full(lines, a.weight) || r.readers > 0
		for _, p := range r.pending {
			a.blocked = a.blocked || p.lines&lines != 0
		}
		r.pendingWriters++
	}
	r.pending[a.seq] = a
	return a
}

// full reports whether a hold of weight w does not fit beside the
// exclusive holds of any of lines (for w = 1: whether one has limit
// holders).
func (r *recorder) full(lines uint64, w int) bool {
	for i := range r.writers {
		if lines&(1<<i) != 0 && r.writers[i]+w > r.limit {
			return true
		}
	}
	return false
}

// addWriters adds d to the exclusive holds of each of lines: one holder,
// or a holder's weight.
func (r *recorder) addWriters(lines uint64, d int) {
	for i := range r.writers {
		if lines&(1<<i) != 0 {
			r.writers[i] += d
		}
	}
}

// called records that one of a's server calls returned, ok if it
// succeeded: the first success is when the server learnt of the caller.
// rev is the revision the call's answer carries (0: none).
func (r *recorder) called(a *arrival, ok bool, rev int64) {
	r.mu.Lock()
	a.calls++
	if ok && a.joined.IsZero() {
		a.joined = time.Now()
		a.grantsJoined = r.grants
		a.joinRev = rev
	}
	r.mu.Unlock()
}

// releasedAt records that a call of a's Unlock returned at revision rev.
func (r *recorder) releasedAt(a *arrival, rev int64) {
	r.mu.Lock()
	a.releaseRev = max(a.releaseRev, rev)
	r.mu.Unlock()
}

// abandon records a Lock call that returned without the lock.
func (r *recorder) abandon(a *arrival) {
	r.mu.Lock()
	r.unpend(a)
	r.leave(a)
	r.mu.Unlock()
}

// leave records that a's contender stopped waiting: its Lock failed, or
// its Unlock returned.
func (r *recorder) leave(a *arrival) {
	if r.tenants != nil && a.tenant >= 0 {
		r.tenants.looping[a.tenant]--
	}
}

func (r *recorder) unpend(a *arrival) {
	delete(r.pending, a.seq)
	if !a.read {
		r.pendingWriters--
	}
}

// grant records that a's call returned holding the lock.
func (r *recorder) grant(a *arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.unpend(a)
	// After stop, sessions are closed under waiters that cannot be
	// cancelled, and their "grants" prove nothing.
	var conflict bool
	if a.read {
		conflict = r.writers[0] > 0
		r.readers++
	} else {
		conflict = r.full(a.lines, a.weight) || r.readers > 0
		r.addWriters(a.lines, a.weight)
	}
	if r.stopped {
		return
	}
	if conflict {
		r.violations++
	}
	if r.tenants != nil && a.tenant >= 0 {
		inLine := 0
		if !a.joined.IsZero() {
			inLine = r.grants - a.grantsJoined
		}
		r.tenants.grant(a, now.Sub(a.at), inLine, r.pending)
	}
	r.grants++
	r.weights += a.weight
	r.waits = append(r.waits, now.Sub(a.at))
	if a.read {
		r.reads++
		r.lockCalls[1] += a.calls
	} else {
		r.lockCalls[0] += a.calls
	}
	// Every earlier caller still waiting for a line this one took has just
	// been overtaken, except a reader by a reader: readers released together
	// may return in any order. With limit > 1, only if this grant left no
	// room for the earlier caller: in a fair line the earlier caller's turn
	// came with this one's or before, and the book counts every holder etcd
	// has, but for the earlier caller itself, so it stays below limit;
	// then the two were let in together and merely returned in this order.
	// Two calls that started close together reach the server in either
	// order (one goroutine is descheduled, one request waits for the
	// other's batch), so the second count only takes callers the server
	// already knew of when this one started: those overtakes are the lock's
	// doing, not the client's scheduling. With weights, room is for the
	// earlier caller's weight beside the holds, this one's included.
	for _, p := range r.pending {
		room := r.limit > 1 && !r.full(a.lines, p.weight)
		if p.seq < a.seq && p.lines&a.lines != 0 && !(p.read && a.read) && !room {
			p.overtaken++
			r.overtakesTotal++
			if !p.joined.IsZero() && p.joined.Before(a.at) {
				p.overtakenJoined++
				r.joinedTotal++
			}
		}
	}
	r.overtakesMax = max(r.overtakesMax, a.overtaken)
	r.joinedMax = max(r.joinedMax, a.overtakenJoined)
	// A handoff: the caller was blocked when it came, and the release that
	// let it in came after it: the last write hold's end for a reader
	// (readers ahead of it never blocked it), the last of any for a writer.
	freed := r.lastRelease
	if a.read {
		freed = r.lastWriterEnd
	}
	if a.blocked && freed.After(a.at) {
		r.handoffs = append(r.handoffs, now.Sub(freed))
	}
}

// release records the start of the Unlock (or RUnlock) of a's hold.
func (r *recorder) release(a *arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastRelease = time.Now()
	if a.read {
		r.readers--
	} else {
		r.addWriters(a.lines, -a.weight)
		r.lastWriterEnd = r.lastRelease
	}
}

// granted returns the grants counted so far.
func (r *recorder) granted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.grants
}

// cycle records how long one Lock plus Unlock took, from a's arrival.
func (r *recorder) cycle(a *arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leave(a)
	if !r.stopped {
		r.cycles = append(r.cycles, time.Since(a.at))
	}
}
