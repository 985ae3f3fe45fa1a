package queue

import (
	"context"
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

// ownCheck is a waiting ticket's registration with the check of own keys.
type ownCheck struct {
	gone chan struct{} // closed when the entry is found gone, or err is set
	err  error         // set before gone closes: etcd refuses the check for good
}

// checkOwn registers a waiting ticket with its session's check of own
// keys; its gone is closed when the ticket's entry is found gone, or when
// etcd refuses the check in a way no retry mends (then its err says so).
// Call stop when the ticket no longer waits.
func (st *sessionState) checkOwn(t *Ticket) (c *ownCheck, stop func()) {
	c = &ownCheck{gone: make(chan struct{})}
	st.mu.Lock()
	if st.waiting == nil {
		st.waiting = map[*Ticket]*ownCheck{}
	}
	st.waiting[t] = c
	start := !st.checking
	st.checking = true
	st.mu.Unlock()
	if start {
		go st.checkOwnLoop()
	}
	return c, func() {
		st.mu.Lock()
		delete(st.waiting, t)
		st.mu.Unlock()
	}
}

// checkOwnLoop reads the keys of the session's waiting tickets every
// OwnKeyCheckInterval, while any waits.
func (st *sessionState) checkOwnLoop() {
	tick := time.NewTicker(OwnKeyCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-st.ctx.Done():
			st.mu.Lock()
			st.checking = false
			st.mu.Unlock()
			return
		case <-tick.C:
		}
		st.mu.Lock()
		if len(st.waiting) == 0 {
			st.checking = false
			st.mu.Unlock()
			return
		}
		ts := make([]*Ticket, 0, len(st.waiting))
		for t := range st.waiting {
			ts = append(ts, t)
		}
		st.mu.Unlock()
		for len(ts) > 0 {
			batch := ts[:min(len(ts), ownCheckBatch)]
			ts = ts[len(batch):]
			st.checkBatch(batch)
		}
	}
}

func (st *sessionState) checkBatch(ts []*Ticket) {
	ops := make([]clientv3.Op, len(ts))
	for i, t := range ts {
		ops[i] = clientv3.OpGet(t.key, clientv3.WithKeysOnly())
	}
	ctx, cancel := context.WithTimeout(st.ctx, OwnKeyCheckInterval)
	resp, err := st.s.Client().Txn(ctx).Then(ops...).Commit()
	cancel()
	refused := etcderr.IsRefused(err)
	if err != nil && !refused {
		return // the next round asks again; a waiter's wake-ups check too
	}
	for i, t := range ts {
		if !refused && ownedIn(resp.Responses[i], t.rev) {
			continue
		}
		st.mu.Lock()
		if c, ok := st.waiting[t]; ok {
			delete(st.waiting, t)
			if refused {
				c.err = err // asking again every round would change nothing: the waiters return it
			}
			close(c.gone)
		}
		st.mu.Unlock()
	}
}
