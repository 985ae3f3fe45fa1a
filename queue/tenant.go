package queue

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A tenant's caller (see WithTenant) holds two entries: one in the
// tenant's admission line, a line of permits of limit share under the
// lock's name (keys.Layout.Admission), and, once admitted, one in the
// lock's own line, tagged with the tenant. The lock's line so holds at
// most share entries of each tenant at a time, and its FIFO order is a
// round-robin of the tenants weighted by their shares: a tenant's next
// caller is admitted when one of its callers leaves, and joins the lock's
// line behind the other tenants' callers already there.
//
// The hold is the lock-line entry's: its ticket's token, Done and IsOwner.
// The admission entry is the ticket's companion: the ticket's release
// removes both in one transaction (Leave), and whatever else ends the
// ticket takes the companion with it (see step and abandonTickets). Both
// lines are herd-free, each as any line is.
//
// Only the calls that wait for the turn (Acquire, AcquireShared,
// AcquirePermitN) and the Try calls serve a tenant: a caller's place in
// the lock's line is taken only once it is admitted, so a ticket that
// waits in the lock's line without having waited for admission cannot be.

// admissionLine returns the admission line of q's tenant: q's session, the
// tenant's keys, no hooks (an admission is not a grant of the lock), and
// q's name in errors and logs.
func (q *Queue) admissionLine() *Queue {
	cfg := q.cfg
	cfg.hooks, cfg.withTenant, cfg.tenant, cfg.share, cfg.etcdInterop = nil, false, "", 0, false
	return &Queue{s: q.s, st: q.st, layout: q.layout.Admission(q.cfg.tenant), cfg: cfg, of: q}
}

// admission is the draft of a caller's entry in its tenant's admission
// line: a permit of weight 1, whatever the caller's own weight, so that a
// share counts callers; rides when the caller's entry in the lock's line
// will be exclusive and on the admission's rider.
func (q *Queue) admission(value string, rides bool) draft {
	return draft{entry: entry{q: q.admit, kind: Permit, limit: q.cfg.share, weight: 1, rides: rides}, value: value}
}

// acquire joins d's line and waits for its turn, removing what it wrote on
// any error (see Acquire). A tenant's caller first waits for admission.
func (q *Queue) acquire(ctx context.Context, d draft) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	if q.admit == nil {
		return q.waitOrAbandon(ctx)(q.joinOne(ctx, d))
	}
	start := time.Now()
	a, t, err := q.joinAdmission(ctx, d, start)
	if err != nil {
		return nil, err
	}
	d.admitted = a
	var reads extraReads
	if t == nil {
		reads = d.handedReads()
	}
	handed, rev, err := a.waitReading(ctx, reads)
	if err != nil {
		a.Abandon(ctx)
		return nil, err
	}
	if t == nil && handed != nil {
		t = d.handed(handed, rev, start)
	}
	if t == nil {
		ts, err := joinAt(ctx, []draft{d}, start, a)
		if err != nil {
			a.Abandon(ctx)
			return nil, err
		}
		t = ts[0]
	} else {
		t.joinedHook()
	}
	head, rev, err := t.waitReading(ctx, t.headReads())
	if err != nil {
		t.Abandon(ctx) // the companion too
		return nil, err
	}
	if head != nil {
		t.mu.Lock()
		t.head = headRead{head[0].GetResponseRange().GetKvs(), rev}
		t.mu.Unlock()
	}
	return t, nil
}

// handedReads are the reads that a caller's wait for admission adds to
// its reads of the admission line, for an entry that rides on its
// admission (see draft.ridesOn): the rider's key, and what is ahead of it
// in the lock's line, as the adoption of a rider reads it (joinAt). The
// read that finds the caller admitted so also finds the entry the release
// that admitted it wrote for it, and the caller holds it without a write
// of its own (handed).
func (d *draft) handedReads() extraReads {
	rider, ok := d.ridesOn()
	if !ok {
		return nil
	}
	lock := entry{q: d.q, key: rider, kind: d.kind, limit: d.limit, weight: d.weight}
	return func(opts ...clientv3.OpOption) []clientv3.Op {
		return []clientv3.Op{lock.ownOp(opts...), lock.adoptOp(opts...)}
	}
}

// handed returns the ticket of d's entry in the lock's line from reads
// (handedReads', in the read at revision rev that found d's caller
// admitted) when the release that admitted it wrote it; nil when it did
// not.
func (d *draft) handed(reads []*etcdserverpb.ResponseOp, rev int64, start time.Time) *Ticket {
	rider, _ := d.ridesOn()
	kvs := reads[0].GetResponseRange().GetKvs()
	if len(kvs) != 1 || kvs[0].CreateRevision < d.admitted.rev {
		return nil
	}
	e := entry{q: d.q, key: rider, slot: -1, rev: kvs[0].CreateRevision, kind: d.kind, limit: d.limit, weight: d.weight}
	t := newTicket(e, d.value, joinNote{at: start, ahead: -1})
	t.admission = d.admitted
	t.adopted(reads[1], rev)
	return t
}

// joinAdmission joins d's caller to its tenant's admission line and, for
// an exclusive entry, when that line is empty (the caller is admitted at
// once), puts its entry in the lock's line on the admission's rider in the
// same transaction: an uncontended tenant's Lock stays one round trip. It
// returns the admission's ticket and, when the second write was made, the
// ticket of the entry in the lock's line; nil when the caller must wait
// for its admission and join then.
func (q *Queue) joinAdmission(ctx context.Context, d draft, start time.Time) (admission, t *Ticket, err error) {
	if err := q.admit.usable(); err != nil {
		return nil, nil, err
	}
	lock := draft{entry: entry{q: q, slot: -1, kind: d.kind, limit: d.limit, weight: d.weight}, value: d.value}
	ads := []draft{q.admission(d.value, d.kind == Exclusive)}
	w, err := q.admit.writeEntries(ctx, ads, func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
		guards, then, orElse = joinOps(ds)
		a := &ds[0]
		rider, ok := a.rider() // only an exclusive caller's admission has one
		if !ok {
			return guards, then, orElse
		}
		lock.key = rider
		from, to := a.q.blockRange(a.kind, a.limit)
		empty := clientv3.Compare(clientv3.CreateRevision(from), "=", 0).WithRange(to)
		free := clientv3.Compare(clientv3.CreateRevision(rider), "=", 0)
		_, joined, _ := joinOps([]draft{lock}) // an exclusive entry: no guard, no read of Else
		return guards, append(then, clientv3.OpTxn([]clientv3.Cmp{empty, free}, joined, nil)), orElse
	})
	if err != nil {
		return nil, nil, err
	}
	if w.revs == nil {
		return nil, nil, q.admit.mismatch(q.cfg.share)
	}
	admission = w.ticket(ads[0], 0, start, 1)
	if w.adopted || lock.key == "" {
		return admission, nil, nil // whether the second write was made is unknown, or it was not tried
	}
	joined := w.resp.Responses[2].GetResponseTxn()
	if !joined.GetSucceeded() {
		return admission, nil, nil
	}
	lock.rev = w.revs[0]
	ahead := aheadOf(joined.Responses[1], lock.rev)
	t = newTicket(lock.entry, lock.value, joinNote{at: start, ahead: len(ahead)})
	t.read = view{ahead: ahead, rev: lock.rev}
	t.admission = admission
	return admission, t, nil
}

// refuseTenant is the error of a call that cannot serve q's tenant.
func (q *Queue) refuseTenant(call string) error {
	if q == nil || q.admit == nil {
		return nil
	}
	return fmt.Errorf("%w: %s on lock %s for tenant %q: use the calls that wait for the turn (Acquire...) or TryJoin",
		ErrTenantUnsupported, call, q.Name(), q.cfg.tenant)
}

// mismatch is the error of a join refused because the line holds permits
// of another limit: for an admission line, callers of the tenant that
// declared another share.
func (q *Queue) mismatch(limit int) error {
	if q.of != nil {
		return fmt.Errorf("%w: tenant %q on lock %s declares share %d", ErrShareMismatch, q.of.cfg.tenant, q.Name(), limit)
	}
	return ErrLimitMismatch
}

// companionOps is the part of a tenant's release that concerns its
// admission line (see handing); none without a tenant.
func (t *Ticket) companionOps(ctx context.Context) handing {
	a := t.admission
	if a == nil {
		return handing{}
	}
	handOver := t.kind == Exclusive && !t.q.noHandover.Load()
	if a.limit < 2 && !handOver {
		return t.handing(nil, 0, false)
	}
	head, ok := t.grantHead()
	if !ok {
		if head, ok = a.readHead(ctx); !ok {
			return t.handing(nil, 0, false)
		}
	}
	return t.handing(head.kvs, head.rev, handOver)
}
