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
	if err := t.usable(); err != nil {
		return nil, err
	}
	q := t.q
	start := time.Now()
	sp := entrySpec{q: q, value: t.Value(), kind: t.kind, limit: t.limit}
	from, to := q.blockRange(sp.kind, sp.limit)
	var nt *Ticket
	for nt == nil {
		sp.slot = q.st.takeSlot()
		sp.key = q.st.key(q.layout, sp.slot, sp.kind, sp.limit)
		attempts := 0
		resp, err := q.write(ctx, []entrySpec{sp}, func(ctx context.Context) (resp *clientv3.TxnResponse, err error) {
			err = q.retry(ctx, func(ctx context.Context) error {
				attempts++
				resp, err = q.s.Client().Txn(ctx).
					If(t.IsOwner(), clientv3.Compare(clientv3.CreateRevision(sp.key), "=", 0)).
					Then(clientv3.OpDelete(t.key),
						clientv3.OpPut(sp.key, sp.value, clientv3.WithLease(q.s.Lease())),
						clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(),
							clientv3.WithLimit(int64(turn.AheadLimit(sp.limit)+1)),
							clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)),
						clientv3.OpDelete(t.yieldKey())). // the old entry's request to yield goes with it
					Else(clientv3.OpGet(sp.key, clientv3.WithKeysOnly()), clientv3.OpGet(t.key, clientv3.WithKeysOnly())).
					Commit()
				return err
			})
			return resp, err
		}, func(resp *clientv3.TxnResponse) bool {
			return resp.Succeeded || len(resp.Responses[0].GetResponseRange().GetKvs()) > 0
		})
		if err == ErrSessionExpired {
			err = &lostError{name: q.Name(), token: t.rev, expired: true} // the entry went with the lease
		}
		if err != nil {
			return nil, err
		}
		newKV := resp.Responses[0].GetResponseRange().GetKvs()
		switch {
		case resp.Succeeded:
			ahead := keysOlder(resp.Responses[2], resp.Header.Revision)
			nt = newTicket(sp, resp.Header.Revision, start, len(ahead))
			nt.setRead(ahead, resp.Header.Revision)
		case len(newKV) == 1 && attempts > 1 && !ownedIn(resp.Responses[1], t.rev):
			// An earlier attempt moved it; its reply was lost.
			nt = newTicket(sp, newKV[0].CreateRevision, start, -1)
		case len(newKV) == 1:
			// A stray an earlier call leaked on this slot: remove it and
			// try again on another slot.
			q.abandonRev(ctx, sp.key, sp.slot, newKV[0].CreateRevision)
		default:
			q.st.giveSlot(sp.slot)
			err := t.lost(ctx)
			if t.settle() {
				q.st.giveSlot(t.slot)
				t.reportLoss(err)
			}
			return nil, err
		}
	}
	if t.settle() {
		q.st.giveSlot(t.slot)
		if held := t.heldFor(); held >= 0 {
			q.hooks().released(ReleaseInfo{Name: q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Held: held})
		}
	}
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
