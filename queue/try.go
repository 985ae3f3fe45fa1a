package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TryJoin appends an exclusive entry only if the line is empty, in a single
// transaction. It returns ErrBlocked, having written nothing (the store
// revision does not move), when any entry is in the line. A returned ticket
// is at the head of the line. Transient errors are retried until ctx ends;
// a retry after a lost reply finds the entry instead of reporting
// ErrBlocked. Cancellation is as for Join.
func (q *Queue) TryJoin(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, value, Exclusive, 1)
}

// TryJoinShared appends a shared entry only if no exclusive entry is in the
// line, in a single transaction; otherwise it returns ErrBlocked and writes
// nothing.
func (q *Queue) TryJoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, value, Shared, 1)
}

// maxTryRounds bounds the guarded retries of a try join whose read found
// room but whose write met a newer entry: a line that busy is taken.
const maxTryRounds = 2

// atTurn reports whether the entry of spec at create revision rev has fewer
// than limit blocking entries ahead of it; an answer that cannot be had
// counts as no.
func (q *Queue) atTurn(ctx context.Context, spec entrySpec, rev int64) bool {
	from, to := q.blockRange(spec.kind, spec.limit)
	var resp *clientv3.GetResponse
	err := q.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = q.s.Client().Get(ctx, from, clientv3.WithRange(to), clientv3.WithKeysOnly(),
			clientv3.WithMaxCreateRev(rev-1), clientv3.WithLimit(int64(spec.limit)))
		return err
	})
	return err == nil && len(resp.Kvs) < spec.limit
}

// tryJoin puts the entry if fewer than limit entries block it. When none
// does, that is one guarded Txn. With limit > 1 and some entries in the
// line, a Txn cannot count them, so the first Txn's failure reads them and a
// second puts the entry only if no entry joined since that read (entries
// leaving only helps). Nothing is written when the turn would not come.
func (q *Queue) tryJoin(ctx context.Context, value string, kind Kind, limit int) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	start := time.Now()
	spec := entrySpec{q: q, value: value, kind: kind, limit: limit}
	spec.slot = q.st.takeSlot()
	spec.key = q.st.key(q.layout, spec.slot, kind, limit)
	specs := []entrySpec{spec}
	from, to := q.blockRange(kind, limit)
	// Entries at or below seenRev may stay: 0 means none may.
	var seenRev int64
	rounds := 0 // guarded retries after a read found room
	for {
		guards := []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(spec.key), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(from), "<", seenRev+1).WithRange(to),
		}
		orElse := []clientv3.Op{
			clientv3.OpGet(spec.key, clientv3.WithKeysOnly()),
			clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(), clientv3.WithLimit(int64(limit))),
		}
		if kind == Permit {
			for _, r := range q.layout.OtherLimits(limit) {
				guards = append(guards, clientv3.Compare(clientv3.CreateRevision(r[0]), "=", 0).WithRange(r[1]))
				orElse = append(orElse, clientv3.OpGet(r[0], clientv3.WithRange(r[1]), clientv3.WithKeysOnly(), clientv3.WithLimit(1)))
			}
		}
		attempts := 0
		resp, err := q.write(ctx, specs, func(ctx context.Context) (resp *clientv3.TxnResponse, err error) {
			err = q.retry(ctx, func(ctx context.Context) error {
				attempts++
				resp, err = q.s.Client().Txn(ctx).If(guards...).
					Then(clientv3.OpPut(spec.key, value, clientv3.WithLease(q.s.Lease()))).
					Else(orElse...).Commit()
				return err
			})
			return resp, err
		}, func(resp *clientv3.TxnResponse) bool {
			return resp.Succeeded || len(resp.Responses[0].GetResponseRange().GetKvs()) > 0
		})
		if err != nil {
			return nil, err
		}
		var rev int64
		switch own := resp.Responses[0].GetResponseRange().GetKvs(); {
		case resp.Succeeded:
			rev = resp.Header.Revision
		case len(own) == 1 && (attempts == 1 || !q.atTurn(ctx, spec, own[0].CreateRevision)):
			// A stray an earlier call leaked on this slot, not this call's
			// (which, written by a lost-reply attempt, would be at its
			// turn): remove it and try again on another slot.
			q.abandonRev(ctx, spec.key, spec.slot, own[0].CreateRevision)
			spec.slot = q.st.takeSlot()
			spec.key = q.st.key(q.layout, spec.slot, kind, limit)
			specs = []entrySpec{spec}
			seenRev = 0
			continue
		case len(own) == 1: // an earlier attempt wrote it
			rev = own[0].CreateRevision
		case kind == Permit && (len(resp.Responses[2].GetResponseRange().GetKvs()) > 0 || len(resp.Responses[3].GetResponseRange().GetKvs()) > 0):
			q.st.giveSlot(spec.slot)
			return nil, ErrLimitMismatch
		case len(resp.Responses[1].GetResponseRange().GetKvs()) < limit && ctx.Err() == nil && rounds < maxTryRounds:
			seenRev = resp.Header.Revision // room, as of this read: try again, guarded by it
			rounds++
			continue
		default:
			q.st.giveSlot(spec.slot)
			return nil, ErrBlocked
		}
		t := newTicket(spec, rev, start, 0)
		t.setRead(nil, rev)
		q.hooks().joined(JoinInfo{Name: q.Name(), Key: t.key, Token: t.rev, Kind: kind, Ahead: 0})
		t.grant()
		return t, nil
	}
}
