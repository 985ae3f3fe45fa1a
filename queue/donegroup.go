package queue

import (
	"context"
	"sync"
	"time"

	"github.com/fairlock/fairlock/internal/leaseguard"
	"github.com/fairlock/fairlock/internal/watchmux"
)

// doneWatch is what one session keeps for the Done channels of its
// tickets: one watch stream for every entry's key, and one goroutine per
// safety margin for the lease's deadline, instead of goroutines per ticket.
type doneWatch struct {
	once      sync.Once
	mux       *watchmux.Mux
	mu        sync.Mutex
	deadlines map[time.Duration]*deadlineGroup
}

// doneOf returns st's doneWatch, made on first use.
func (st *sessionState) doneOf() *doneWatch {
	d := &st.done
	d.once.Do(func() {
		d.mux = watchmux.New(st.ctx, st.s.Client())
		d.deadlines = map[time.Duration]*deadlineGroup{}
	})
	return d
}

// deadline returns the group of the tickets with safety margin margin.
func (d *doneWatch) deadline(st *sessionState, margin time.Duration) *deadlineGroup {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.deadlines[margin]
	if g == nil {
		g = &deadlineGroup{ctx: st.ctx, guard: st.guard, margin: margin, kick: make(chan struct{}, 1),
			unready: map[*Ticket]struct{}{}}
		d.deadlines[margin] = g
	}
	return g
}

// A deadlineGroup closes its tickets' Done when the session's lease may be
// about to expire on etcd's side: the guard's Lost(margin) channel that was
// open when the ticket joined the group closes. One goroutine serves the
// group while it has tickets. Before the guard's first answer the deadline
// is unknown: tickets wait for it in unready, and close if the guard stops
// first.
type deadlineGroup struct {
	ctx    context.Context // the session's
	guard  *leaseguard.Guard
	margin time.Duration
	kick   chan struct{} // buffered 1: the tickets changed

	mu      sync.Mutex
	running bool
	ended   bool                 // the guard stopped or the session ended: add closes at once
	unready map[*Ticket]struct{} // added before the guard was ready
	buckets []deadlineBucket     // by Lost channel, oldest first
}

type deadlineBucket struct {
	lost    <-chan struct{}
	tickets map[*Ticket]struct{}
}

// add puts t in the group; it reports false when t's deadline has already
// passed (or the lease is gone), and then t is not added.
func (g *deadlineGroup) add(t *Ticket) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return false
	}
	if isClosed(g.guard.Readied()) && g.guard.Ready(context.Background()) == nil {
		lost := g.guard.Lost(g.margin)
		if isClosed(lost) {
			return false
		}
		g.addLocked(t, lost)
	} else {
		g.unready[t] = struct{}{}
	}
	if !g.running {
		g.running = true
		go g.run()
	}
	g.kickLocked()
	return true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (g *deadlineGroup) addLocked(t *Ticket, lost <-chan struct{}) {
	if n := len(g.buckets); n > 0 && g.buckets[n-1].lost == lost {
		g.buckets[n-1].tickets[t] = struct{}{}
		return
	}
	g.buckets = append(g.buckets, deadlineBucket{lost: lost, tickets: map[*Ticket]struct{}{t: {}}})
}

func (g *deadlineGroup) kickLocked() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// remove takes t out of the group.
func (g *deadlineGroup) remove(t *Ticket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.unready, t)
	for i := range g.buckets {
		delete(g.buckets[i].tickets, t)
	}
	g.kickLocked()
}

// run serves the group until it has no tickets left.
func (g *deadlineGroup) run() {
	for {
		g.mu.Lock()
		// Drop emptied buckets; stop when nothing is left.
		kept := g.buckets[:0]
		for _, b := range g.buckets {
			if len(b.tickets) > 0 {
				kept = append(kept, b)
			}
		}
		clear(g.buckets[len(kept):])
		g.buckets = kept
		if len(g.buckets) == 0 && len(g.unready) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		var lost <-chan struct{}
		if len(g.buckets) > 0 {
			lost = g.buckets[0].lost
		}
		var ready <-chan struct{}
		if len(g.unready) > 0 {
			ready = g.guard.Readied()
		}
		g.mu.Unlock()

		select {
		case <-g.kick:
		case <-lost:
			g.closeBucket(lost)
		case <-ready:
			g.sortUnready()
		case <-g.ctx.Done():
			g.end()
			return
		}
	}
}

// closeBucket closes the Done of the tickets waiting on lost.
func (g *deadlineGroup) closeBucket(lost <-chan struct{}) {
	g.mu.Lock()
	var ts map[*Ticket]struct{}
	if len(g.buckets) > 0 && g.buckets[0].lost == lost {
		ts = g.buckets[0].tickets
		g.buckets[0].tickets = map[*Ticket]struct{}{}
	}
	g.mu.Unlock()
	for t := range ts {
		t.closeDone()
	}
}

// sortUnready moves the tickets that waited for the guard's first answer to
// their bucket, or closes them if the guard stopped without one or the
// deadline has already passed.
func (g *deadlineGroup) sortUnready() {
	g.mu.Lock()
	var closing []*Ticket
	err := g.guard.Ready(context.Background()) // Readied has closed: at once
	var lost <-chan struct{}
	if err == nil {
		lost = g.guard.Lost(g.margin)
	}
	for t := range g.unready {
		if err != nil || isClosed(lost) {
			closing = append(closing, t)
		} else {
			g.addLocked(t, lost)
		}
	}
	clear(g.unready)
	if err != nil {
		g.ended = true // the guard stopped: the lease is gone
	}
	g.mu.Unlock()
	for _, t := range closing {
		t.closeDone()
	}
}

// end closes the Done of every ticket: the session ended.
func (g *deadlineGroup) end() {
	g.mu.Lock()
	g.ended, g.running = true, false
	var closing []*Ticket
	for t := range g.unready {
		closing = append(closing, t)
	}
	for _, b := range g.buckets {
		for t := range b.tickets {
			closing = append(closing, t)
		}
	}
	clear(g.unready)
	g.buckets = nil
	g.mu.Unlock()
	for _, t := range closing {
		t.closeDone()
	}
}
