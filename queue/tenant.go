package queue

import (
	"context"
	"fmt"
	"time"

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
// share counts callers.
func (q *Queue) admission(value string) draft {
	return draft{entry: entry{q: q.admit, kind: Permit, limit: q.cfg.share, weight: 1}, value: value}
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
	a, err := q.admit.waitOrAbandon(ctx)(q.admit.joinOne(ctx, q.admission(d.value)))
	if err != nil {
		return nil, err
	}
	d.admitted = a
	ts, err := joinAt(ctx, []draft{d}, start, a)
	if err != nil {
		a.Abandon(ctx)
		return nil, err
	}
	return q.waitOrAbandon(ctx)(ts[0], nil) // abandons the companion too
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

// companionOps are the ops of a release's transaction that remove the
// ticket's companion, if it has one, fenced on its own revision (a
// companion removed meanwhile must not fail the release), and wake the
// callers its leaving admits; handover is the op that writes, for the
// caller it admits, its entry in the lock's line (see handover.go), nil
// when there is none to write.
func (t *Ticket) companionOps(ctx context.Context) (ops, handover []clientv3.Op) {
	a := t.admission
	if a == nil {
		return nil, nil
	}
	ops = []clientv3.Op{clientv3.OpTxn([]clientv3.Cmp{a.owned()}, a.deleteOps(), nil)}
	handing := t.kind == Exclusive && !t.q.noHandover.Load()
	if a.limit < 2 && !handing {
		return ops, nil
	}
	head, ok := a.readHead(ctx)
	if !ok {
		return ops, nil
	}
	ops = append(ops, a.letInOps(head)...)
	if handing {
		handover = a.handover(head)
	}
	return ops, handover
}
