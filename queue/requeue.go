package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
)

// Requeue moves the ticket's entry to the tail of its line in one
// transaction: a fenced delete of the entry and a new entry with the same
// value and kind under another key. It returns the new ticket, which may
// already be at its turn (call Wait); the old ticket has left. When the
// entry was already gone it returns an error matching ErrLost and changes
// nothing. Transient errors are retried until ctx ends (a retry after a
// lost reply finds the new entry). If ctx ends before the outcome is known
// it returns ctx.Err() and removes the new entry if it was written; the
// old one then may or may not remain: call Leave on the old ticket.
func (t *Ticket) Requeue(ctx context.Context) (*Ticket, error) {
	if err := t.beginLeave(); err != nil {
		return nil, err
	}
	q := t.q
	start := time.Now()
	from, to := q.blockRange(t.kind, t.limit)
	specs := []entrySpec{{q: q, value: t.Value(), kind: t.kind, limit: t.limit, weight: t.weight}}
	w, err := q.writeEntries(ctx, specs, func(specs []entrySpec) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
		sp := &specs[0]
		return []clientv3.Cmp{t.IsOwner()},
			[]clientv3.Op{clientv3.OpDelete(t.key), sp.put(),
				clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(),
					clientv3.WithLimit(int64(turn.AheadLimit(sp.limit)+1)),
					clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)),
				clientv3.OpDelete(t.yieldKey())}, // the old entry's request to yield goes with it
			nil
	})
	if err != nil || w.revs == nil {
		t.abortLeave()
	}
	switch {
	case err == ErrSessionExpired:
		return nil, t.observeGone(ctx, true) // the entry went with the lease
	case err != nil:
		return nil, err
	case w.revs == nil:
		return nil, t.observeGone(ctx, false)
	}
	var nt *Ticket
	if w.adopted { // an earlier attempt moved it; its reply was lost
		nt = newTicket(specs[0], w.revs[0], start, -1, w.tainted)
	} else {
		ahead := aheadOf(w.resp.Responses[2], w.revs[0])
		nt = newTicket(specs[0], w.revs[0], start, len(ahead), w.tainted)
		nt.setRead(ahead, w.revs[0])
	}
	t.end(left, nil) // the same transaction deleted the old entry
	q.hooks().joined(JoinInfo{Name: q.Name(), Key: nt.key, Token: nt.rev, Kind: nt.kind, Ahead: nt.aheadAtJoin})
	return nt, nil
}

// SetValue replaces the entry's value, fenced: only while the entry is in
// the line with its create revision (its token), which it keeps, as it
// keeps its lease. It returns an error matching ErrLost, writing nothing,
// when the entry is gone. Transient errors are retried until ctx ends; if
// ctx ends first the value may or may not have changed.
func (t *Ticket) SetValue(ctx context.Context, value string) error {
	if err := t.usable(); err != nil {
		return err
	}
	var resp *clientv3.TxnResponse
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = t.q.s.Client().Txn(ctx).If(t.IsOwner()).
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
