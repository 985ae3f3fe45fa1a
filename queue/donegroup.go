package queue

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/leaseguard"
	"github.com/fairlock/fairlock/internal/watchmux"
)

// doneWatches is what one session keeps for the Done channels of its
// tickets: one watch stream for every entry's key, and one worker per
// safety margin for the lease's deadline, instead of goroutines per ticket.
type doneWatches struct {
	ctx   context.Context // the session's
	cli   *clientv3.Client
	guard *leaseguard.Guard

	once sync.Once
	mux  *watchmux.Mux // made on first use

	mu     sync.Mutex
	groups map[time.Duration]*deadlineGroup
}

// watch has t's Done closed when its entry is gone or its session's lease
// may be about to expire (the group of its margin); it returns what stops
// both, or false when the deadline has already passed or the lease is gone.
func (d *doneWatches) watch(t *Ticket, margin time.Duration) (stop func(), ok bool) {
	d.once.Do(func() { d.mux = watchmux.New(d.ctx, d.cli) })
	g := d.group(margin)
	if !g.add(t) {
		return nil, false
	}
	// The watch's callback runs on the mux's goroutine, never inside
	// Watch, so it may take t.mu.
	stopWatch := d.mux.Watch(t.key, t.rev, t.observedGone)
	return func() {
		stopWatch()
		g.remove(t)
	}, true
}

// group returns the group of the tickets with safety margin margin.
func (d *doneWatches) group(margin time.Duration) *deadlineGroup {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.groups[margin]
	if g == nil {
		if d.groups == nil {
			d.groups = map[time.Duration]*deadlineGroup{}
		}
		g = &deadlineGroup{ctx: d.ctx, guard: d.guard, margin: margin, unready: map[*Ticket]struct{}{}}
		g.w = newWorker(g.run, g.idle)
		d.groups[margin] = g
	}
	return g
}

// A deadlineGroup closes its tickets' Done when the session's lease may be
// about to expire on etcd's side: the guard's Lost(margin) channel that was
// open when the ticket joined the group closes. One worker serves the
// group. Before the guard's first answer the deadline is unknown: tickets
// wait for it in unready, and close if the guard stops first.
type deadlineGroup struct {
	ctx    context.Context // the session's
	guard  *leaseguard.Guard
	margin time.Duration
	w      *worker // woken when the tickets change

	mu      sync.Mutex
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
	if !g.addTicket(t) {
		return false
	}
	g.w.kick()
	return true
}

func (g *deadlineGroup) addTicket(t *Ticket) bool {
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
	return true
}

func (g *deadlineGroup) addLocked(t *Ticket, lost <-chan struct{}) {
	if n := len(g.buckets); n > 0 && g.buckets[n-1].lost == lost {
		g.buckets[n-1].tickets[t] = struct{}{}
		return
	}
	g.buckets = append(g.buckets, deadlineBucket{lost: lost, tickets: map[*Ticket]struct{}{t: {}}})
}

// remove takes t out of the group.
func (g *deadlineGroup) remove(t *Ticket) {
	g.mu.Lock()
	delete(g.unready, t)
	for i := range g.buckets {
		delete(g.buckets[i].tickets, t)
	}
	g.mu.Unlock()
	g.w.nudge()
}

// idle reports whether the group has no tickets, dropping emptied
// buckets.
func (g *deadlineGroup) idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	kept := g.buckets[:0]
	for _, b := range g.buckets {
		if len(b.tickets) > 0 {
			kept = append(kept, b)
		}
	}
	clear(g.buckets[len(kept):])
	g.buckets = kept
	return len(g.buckets) == 0 && len(g.unready) == 0
}

// run serves the group until it has no tickets left.
func (g *deadlineGroup) run(wake <-chan struct{}) {
	for !g.idle() {
		g.mu.Lock()
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
		case <-wake:
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
	g.ended = true
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
