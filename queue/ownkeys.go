package queue

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// OwnKeyCheckInterval is how often a session checks that the entries of
// its waiting tickets are still in their lines. A waiter watches only the
// entries ahead of it (one server watcher, as etcd's own Mutex has), not
// its own key: a deletion of its own entry by someone else (`fairlock rm`,
// say) is rare, and is found by this check, one read per session whatever
// the number of waiters, within this interval; a waiter's every wake-up
// checks its entry too, and a lease that ends is seen at once.
const OwnKeyCheckInterval = 500 * time.Millisecond

// ownCheckBatch is how many keys one read of the check asks for: etcd
// refuses transactions of more than 128 operations by default.
const ownCheckBatch = 64

// ownCheck is a session's check of its waiters' own keys: one read per
// OwnKeyCheckInterval for all of them, by one worker, while any waits.
type ownCheck struct {
	ctx context.Context // the session's
	cli *clientv3.Client
	w   *worker

	mu      sync.Mutex
	waiting map[*Ticket]*ownWait
}

// ownWait is a waiting ticket's registration with the check.
type ownWait struct {
	gone chan struct{} // closed when the entry is found gone, or err is set
	err  error         // set before gone closes: etcd refuses the check for good
}

func newOwnCheck(ctx context.Context, cli *clientv3.Client) *ownCheck {
	o := &ownCheck{ctx: ctx, cli: cli, waiting: map[*Ticket]*ownWait{}}
	o.w = newWorker(o.run, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.waiting) == 0 || o.ctx.Err() != nil
	})
	return o
}

// add registers a waiting ticket; its gone is closed when the entry is
// found gone, or when etcd refuses the check in a way no retry mends (then
// its err says so). Call stop when the ticket no longer waits.
func (o *ownCheck) add(t *Ticket) (w *ownWait, stop func()) {
	w = &ownWait{gone: make(chan struct{})}
	o.mu.Lock()
	o.waiting[t] = w
	o.mu.Unlock()
	o.w.kick()
	return w, func() {
		o.mu.Lock()
		delete(o.waiting, t)
		o.mu.Unlock()
	}
}

// run checks the waiters' keys every OwnKeyCheckInterval while any waits.
func (o *ownCheck) run(<-chan struct{}) {
	tick := time.NewTicker(OwnKeyCheckInterval)
	defer tick.Stop()
	for o.round(tick.C) {
	}
}

// round waits for tick and checks every waiter's key; it reports false,
// having checked nothing, when none waits or the session has ended.
func (o *ownCheck) round(tick <-chan time.Time) bool {
	select {
	case <-o.ctx.Done():
		return false
	case <-tick:
	}
	o.mu.Lock()
	ts := make([]*Ticket, 0, len(o.waiting))
	for t := range o.waiting {
		ts = append(ts, t)
	}
	o.mu.Unlock()
	if len(ts) == 0 {
		return false
	}
	for len(ts) > 0 {
		batch := ts[:min(len(ts), ownCheckBatch)]
		ts = ts[len(batch):]
		o.check(batch)
	}
	return true
}

func (o *ownCheck) check(ts []*Ticket) {
	ops := make([]clientv3.Op, len(ts))
	for i, t := range ts {
		ops[i] = t.ownOp()
	}
	ctx, cancel := context.WithTimeout(o.ctx, OwnKeyCheckInterval)
	resp, err := o.cli.Txn(ctx).Then(ops...).Commit()
	cancel()
	refused := etcderr.IsRefused(err)
	if err != nil && !refused {
		return // the next round asks again; a waiter's wake-ups check too
	}
	for i, t := range ts {
		if !refused && ownedIn(resp.Responses[i], t.rev) {
			continue
		}
		o.mu.Lock()
		if w, ok := o.waiting[t]; ok {
			delete(o.waiting, t)
			if refused {
				w.err = err // asking again every round would change nothing: the waiters return it
			}
			close(w.gone)
		}
		o.mu.Unlock()
	}
}
