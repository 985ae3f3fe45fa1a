package queue

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/phase"
	"github.com/fairlock/fairlock/internal/turn"
)

// Requeue moves the ticket's entry to the tail of its line in one
// transaction (a fenced delete of the entry and a new entry with the same
// value and kind) and returns the new ticket, which may already hold its
// turn: call Wait. The old ticket has left.
//
// It returns an error matching ErrLost, changing nothing, when the entry
// was already gone. When ctx ends before the outcome is known it returns
// ctx.Err() and removes the new entry if it was written; the old one may
// or may not remain: call Leave on the old ticket.
func (t *Ticket) Requeue(ctx context.Context) (*Ticket, error) {
	if t != nil && t.admission != nil {
		return nil, t.q.refuseTenant("Requeue")
	}
	if err := t.beginLeave(); err != nil {
		return nil, err
	}
	q := t.q
	start := time.Now()
	ds := []draft{{entry: entry{q: q, kind: t.kind, limit: t.limit, weight: t.weight}, value: t.Value()}}
	w, err := q.writeEntries(ctx, ds, func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
		d := &ds[0]
		// The old entry's request to yield goes with it.
		return []clientv3.Cmp{t.owned()}, append(t.deleteOps(), d.put(), d.aheadOp(turn.AheadLimit(d.limit)+1)), nil
	})
	if errors.Is(err, ErrSessionExpired) && !isLost(err) {
		// The entry went with the lease, as for Leave: a delete seen
		// meanwhile was the lease's, not this call's.
		lost := &lostError{name: q.Name(), token: t.rev, expired: true}
		t.step(phase.Lose, lost)
		t.step(phase.ReportLoss, nil)
		return nil, lost
	}
	if err != nil {
		t.abortLeave()
	}
	switch {
	case isLost(err): // the new entry's
		return nil, err
	case err != nil:
		return nil, err
	case w.revs == nil:
		// The fence failed: the entry was gone before this call could move
		// it. A delete that a watch reports meanwhile is that earlier one,
		// seen late (the lease's, say), not this call's.
		lost := t.lost(ctx)
		t.step(phase.Lose, lost)
		t.step(phase.ReportLoss, nil)
		return nil, lost
	}
	nt := w.ticket(ds[0], 0, start, 3)
	t.step(phase.Remove, nil) // the same transaction deleted the old entry
	nt.joinedHook()
	return nt, nil
}

// SetValue replaces the entry's value, fenced: only while the entry is in
// the line with its create revision, which it keeps, as it keeps its
// lease. It returns an error matching ErrLost, writing nothing, when the
// entry is gone. When ctx ends first it returns ctx.Err(), and the value
// may or may not have changed.
func (t *Ticket) SetValue(ctx context.Context, value string) error {
	if err := t.usable(); err != nil {
		return err
	}
	var resp *clientv3.TxnResponse
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = t.q.s.Client().Txn(ctx).If(t.owned()).
			Then(clientv3.OpPut(t.key, value, clientv3.WithIgnoreLease())).Commit()
		return err
	})
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return t.lost(ctx)
	}
	t.mu.Lock()
	t.value = value
	t.mu.Unlock()
	return nil
}
