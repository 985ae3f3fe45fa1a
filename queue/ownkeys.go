package queue

import (
	"cmp"
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// OwnKeyCheckInterval is how often a session checks that the entries of
// its waiting tickets are still in their lines, and that what is ahead of
// each is as its last read saw it. A waiter watches only the entries ahead
// of it (one server watcher, as etcd's own Mutex has), not its own key: a
// deletion of its own entry by someone else (`fairlock rm`, say) is rare,
// and is found by this check, one read per session whatever the number of
// waiters, within this interval; a waiter's every wake-up checks its entry
// too, and a lease that ends is seen at once. The same read covers a
// watch that cannot deliver: a watch stream stays on the member the client
// placed it on, and a member that is stopped or cut off from the others
// sends nothing, however long it lasts, while the check's reads go on
// through the client's other endpoints, each bounded by this interval and
// asked again at once through the next when it fails. So a waiter whose
// turn comes while its watch's member is silent learns of it within about
// a few OwnKeyCheckIntervals.
const OwnKeyCheckInterval = 500 * time.Millisecond

// ownCheckOps is how many operations one read of the check holds at most:
// etcd refuses transactions of more than 128 operations by default.
const ownCheckOps = 120

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
	// seen, buffered 1, gets what the check read when it finds the entries
	// ahead changed since the waiter's last read (see probe): a read the
	// waiter can decide on, as on its own.
	seen  chan seen
	probe *probe // guarded by the check's mu; nil before the waiter's first read
}

// probe is what a waiter's last read saw ahead of it: the read of the
// entries ahead (aheadOp), the keys it found, and the revision it read at.
// The check reads the same again: an entry gone from it, or written since,
// may bring the turn, and the waiter's watch may not have said so.
type probe struct {
	op   clientv3.Op
	keys []string
	// points reads the keys one by one (keys only); nil: the check reads
	// op whole (see newProbe).
	points []clientv3.Op
	rev    int64
	// unknown: the waiter has read nothing yet; any read is news to it.
	unknown bool
}

// maxProbePoints is how many keys ahead a check reads one by one at most;
// a probe of more (a semaphore of a large limit) is read whole.
const maxProbePoints = 16

// newProbe returns the probe of a read op that found keys ahead at rev.
// The check reads the keys one by one rather than op: a range read over a
// line visits every key of the line, and a line of a thousand waiters,
// each checked twice a second, would cost etcd a million key visits a
// second; nothing can join a line ahead of an entry (create revisions only
// grow), so the keys found ahead are all that can change, and reading
// them costs a key each. What changed is then read whole.
func newProbe(op clientv3.Op, keys []string, rev int64) *probe {
	p := &probe{op: op, keys: keys, rev: rev}
	if len(keys) <= maxProbePoints {
		for _, k := range keys {
			p.points = append(p.points, clientv3.OpGet(k, clientv3.WithKeysOnly()))
		}
	}
	return p
}

// seen is a read of what is ahead of a waiter, made for it by the check:
// its own entry, the entries ahead (the probe's read), at revision rev.
type seen struct {
	own   *mvccpb.KeyValue
	ahead *etcdserverpb.ResponseOp
	rev   int64
}

// changed reports whether r, the probe's read made again, differs from
// what the waiter saw.
func (p *probe) changed(r *etcdserverpb.ResponseOp) bool {
	if p.unknown {
		return true
	}
	kvs := r.GetResponseRange().GetKvs()
	if len(kvs) != len(p.keys) {
		return true
	}
	for i, kv := range kvs {
		if string(kv.Key) != p.keys[i] || kv.ModRevision > p.rev {
			return true
		}
	}
	return false
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
	w = &ownWait{gone: make(chan struct{}), seen: make(chan seen, 1)}
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

// setProbe records what w's waiter read ahead of it last.
func (o *ownCheck) setProbe(w *ownWait, p *probe) {
	o.mu.Lock()
	w.probe = p
	o.mu.Unlock()
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
	var batches [][]checked
	ops := ownCheckOps
	for t, w := range o.waiting {
		c := checked{t: t, w: w, probe: w.probe}
		n := c.size(false)
		if ops+n > ownCheckOps {
			batches, ops = append(batches, nil), 0
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], c)
		ops += n
	}
	o.mu.Unlock()
	for _, b := range batches {
		o.check(b)
	}
	return len(batches) > 0
}

// checked is one waiter of a check's read.
type checked struct {
	t     *Ticket
	w     *ownWait
	probe *probe // as the waiter last set it
}

// whole reports whether c's read reads what is ahead whole: when asked
// to, or when its probe has no point reads.
func (c checked) whole(whole bool) bool { return whole || c.probe.points == nil }

// size is how many operations c's part of a check's read has.
func (c checked) size(whole bool) int {
	switch {
	case c.probe == nil:
		return 1
	case c.whole(whole):
		return 2
	default:
		return 1 + len(c.probe.points)
	}
}

// appendOps appends c's part of a check's read to ops: its own key, then
// what is ahead of it, key by key (the probe's points) or whole.
func (c checked) appendOps(ops []clientv3.Op, whole bool) []clientv3.Op {
	ops = append(ops, c.t.ownOp())
	switch {
	case c.probe == nil:
	case c.whole(whole):
		ops = append(ops, c.probe.op)
	default:
		ops = append(ops, c.probe.points...)
	}
	return ops
}

// pointsChanged reports whether the point reads rs of c's probe's keys
// show one of them gone or written since the waiter's read.
func (c checked) pointsChanged(rs []*etcdserverpb.ResponseOp) bool {
	for _, r := range rs {
		kvs := r.GetResponseRange().GetKvs()
		if len(kvs) == 0 || kvs[0].ModRevision > c.probe.rev {
			return true
		}
	}
	return false
}

// check reads the own key and what is ahead of every waiter of batch: it
// closes gone for a waiter whose entry is gone, and sends a read of what
// is ahead to one for which that changed (read whole, as its own read
// would). A refusal goes to the waiters; other errors are left to the
// next round (a waiter's wake-ups check too).
func (o *ownCheck) check(batch []checked) {
	if changed, err := o.read(batch, false); err == nil && len(changed) > 0 {
		o.read(changed, true) //nolint:errcheck // the next round asks again
	}
}

// read makes one check's read for batch (whole: what is ahead of each read
// whole) and acts on it, as check says, once more at once when it fails
// (it went to a member that did not answer; the next goes to the next
// member); it returns the waiters whose keys ahead, read one by one,
// changed.
func (o *ownCheck) read(batch []checked, whole bool) (changed []checked, err error) {
	if changed, err = o.readOnce(batch, whole); err != nil {
		changed, err = o.readOnce(batch, whole)
	}
	return changed, err
}

// readEach reads each waiter of batch alone: etcd refuses a whole
// transaction for one key the user may not read, and only the waiters of
// that key's lock are to be told.
func (o *ownCheck) readEach(batch []checked, whole bool) (changed []checked, err error) {
	for _, c := range batch {
		ch, e := o.read([]checked{c}, whole)
		changed, err = append(changed, ch...), cmp.Or(err, e)
	}
	return changed, err
}

// readOnce is one attempt of read. It returns the read's error, but for a
// refusal, which it hands to the waiters.
func (o *ownCheck) readOnce(batch []checked, whole bool) (changed []checked, err error) {
	var ops []clientv3.Op
	for _, c := range batch {
		ops = c.appendOps(ops, whole)
	}
	ctx, cancel := context.WithTimeout(o.ctx, OwnKeyCheckInterval)
	resp, err := o.cli.Txn(ctx).Then(ops...).Commit()
	cancel()
	refused := etcderr.IsRefused(err)
	if refused && len(batch) > 1 {
		return o.readEach(batch, whole)
	}
	if err != nil && !refused {
		return nil, err
	}
	i := 0
	for _, c := range batch {
		t, at, n := c.t, i, c.size(whole)
		i += n
		if !refused && ownedIn(resp.Responses[at], t.rev) {
			switch {
			case c.probe == nil:
			case !c.whole(whole):
				if c.pointsChanged(resp.Responses[at+1 : at+n]) {
					changed = append(changed, c)
				}
			case c.probe.changed(resp.Responses[at+1]):
				s := seen{own: resp.Responses[at].GetResponseRange().GetKvs()[0], ahead: resp.Responses[at+1],
					rev: resp.Header.Revision}
				select {
				case <-c.w.seen: // an older read, not taken yet: this one replaces it
				default:
				}
				c.w.seen <- s // the check is the only sender
			}
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
	return changed, nil
}
