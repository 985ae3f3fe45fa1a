package main

import (
	"sync"
	"time"
)

// recorder keeps the in-process book of one cell: who arrived when, who was
// granted when, and when each hold was released. One mutex orders every
// event, so "earlier" and "later" are the order the contenders' goroutines
// reported them in, on the monotonic clock.
type recorder struct {
	mu      sync.Mutex
	start   time.Time
	stopped bool

	seq            int64
	pending        map[int64]*arrival
	pendingWriters int
	lastRelease    time.Time // of any hold
	lastWriterEnd  time.Time // of a write hold
	readers        int
	writers        int

	grants, reads  int
	lockCalls      [2]int // server calls inside granted Lock calls: [0] writers, [1] readers
	handoffs       []time.Duration
	cycles         []time.Duration // Lock call start to Unlock return
	overtakesTotal int
	overtakesMax   int
	joinedTotal    int // overtakes of callers already in line: see arrival.joined
	joinedMax      int
	violations     int // grants that broke mutual exclusion
}

// arrival is one Lock or RLock call in flight.
type arrival struct {
	seq  int64
	at   time.Time
	read bool
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
}

func newRecorder() *recorder {
	return &recorder{pending: make(map[int64]*arrival)}
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

// arrive records the start of a Lock (read false) or RLock (read true) call.
func (r *recorder) arrive(read bool) *arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	a := &arrival{seq: r.seq, at: time.Now(), read: read}
	if read {
		a.blocked = r.writers > 0 || r.pendingWriters > 0
	} else {
		a.blocked = r.writers > 0 || r.readers > 0 || len(r.pending) > 0
		r.pendingWriters++
	}
	r.pending[a.seq] = a
	return a
}

// called records that one of a's server calls returned, ok if it
// succeeded: the first success is when the server learnt of the caller.
func (r *recorder) called(a *arrival, ok bool) {
	r.mu.Lock()
	a.calls++
	if ok && a.joined.IsZero() {
		a.joined = time.Now()
	}
	r.mu.Unlock()
}

// abandon records a Lock call that returned without the lock.
func (r *recorder) abandon(a *arrival) {
	r.mu.Lock()
	r.unpend(a)
	r.mu.Unlock()
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
	conflict := r.writers > 0 || (!a.read && r.readers > 0)
	if a.read {
		r.readers++
	} else {
		r.writers++
	}
	if r.stopped {
		return
	}
	if conflict {
		r.violations++
	}
	r.grants++
	if a.read {
		r.reads++
		r.lockCalls[1] += a.calls
	} else {
		r.lockCalls[0] += a.calls
	}
	// Every earlier caller still waiting has just been overtaken, except a
	// reader by a reader: readers released together may return in any order.
	// Two calls that started close together reach the server in either
	// order (one goroutine is descheduled, one request waits for the
	// other's batch), so the second count only takes callers the server
	// already knew of when this one started: those overtakes are the lock's
	// doing, not the client's scheduling.
	for _, p := range r.pending {
		if p.seq < a.seq && !(p.read && a.read) {
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

// release records the start of an Unlock (read false) or RUnlock call.
func (r *recorder) release(read bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastRelease = time.Now()
	if read {
		r.readers--
	} else {
		r.writers--
		r.lastWriterEnd = r.lastRelease
	}
}

// cycle records how long one Lock plus Unlock took, from a's arrival.
func (r *recorder) cycle(a *arrival) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.cycles = append(r.cycles, time.Since(a.at))
	}
}
