package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
)

// TryJoin appends an exclusive entry only if the line is empty, in one
// transaction, and returns its ticket, which holds its turn. Otherwise it
// returns ErrBlocked and writes nothing: the store's revision does not
// move. Cancellation is as for Join; a retry after a lost reply finds the
// entry instead of reporting ErrBlocked.
func (q *Queue) TryJoin(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, draft{entry{q: q, kind: Exclusive, limit: 1, weight: 1}, value})
}

// TryJoinShared appends a shared entry only if no exclusive entry is in the
// line, in a single transaction; otherwise it returns ErrBlocked and writes
// nothing.
func (q *Queue) TryJoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, draft{entry{q: q, kind: Shared, limit: 1, weight: 1}, value})
}

// maxTryRounds bounds the guarded retries of a try join whose read found
// room but whose write met a newer entry: a line that busy is taken.
const maxTryRounds = 2

// tryJoin puts the entry if the entries that block it leave room for it.
// When none does, that is one guarded Txn. With limit > 1 and some entries
// in the line, a Txn cannot add up their weights, so the first Txn's
// failure reads them and a second puts the entry only if no entry joined
// since that read (entries leaving only helps). Nothing is written when
// the turn would not come. An entry written is at its turn: it was written
// under the guard, whichever attempt wrote it.
func (q *Queue) tryJoin(ctx context.Context, d draft) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	start := time.Now()
	from, to := q.blockRange(d.kind, d.limit)
	// Entries at or below seenRev may stay: 0 means none may.
	var seenRev int64
	for rounds := 0; ; rounds++ {
		ds := []draft{d}
		w, err := q.writeEntries(ctx, ds, func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
			d := &ds[0]
			guards = []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(from), "<", seenRev+1).WithRange(to)}
			// Unsorted: a sorted read would visit the whole line.
			orElse = []clientv3.Op{d.lineOp(clientv3.WithLimit(int64(turn.AheadLimit(d.limit))))}
			g, reads := d.otherLimits()
			return append(guards, g...), []clientv3.Op{d.put()}, append(orElse, reads...)
		})
		switch {
		case err != nil:
			return nil, err
		case w.revs != nil:
			t := w.ticket(ds[0], 0, start, -1)
			t.joinedHook()
			if err := t.grant(ctx); err != nil {
				t.Abandon(ctx)
				return nil, err
			}
			return t, nil
		case limitMismatch(w.resp, 2):
			return nil, ErrLimitMismatch
		}
		ahead := aheadOf(w.resp.Responses[1], w.resp.Header.Revision+1)
		if turn.Decide(d.limit, d.weight, ahead).Granted && ctx.Err() == nil && rounds < maxTryRounds {
			seenRev = w.resp.Header.Revision // room, as of this read: try again, guarded by it
			continue
		}
		return nil, ErrBlocked
	}
}
