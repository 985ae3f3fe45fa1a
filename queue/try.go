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
	return q.tryJoin(ctx, draft{entry: entry{q: q, kind: Exclusive, limit: 1, weight: 1}, value: value})
}

// TryJoinShared appends a shared entry only if no exclusive entry is in the
// line, in a single transaction; otherwise it returns ErrBlocked and writes
// nothing.
func (q *Queue) TryJoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, draft{entry: entry{q: q, kind: Shared, limit: 1, weight: 1}, value: value})
}

// maxTryRounds bounds the guarded retries of a try join whose read found
// room but whose write met a newer entry: a line that busy is taken.
const maxTryRounds = 2

// tryJoin puts the entry if the entries that block it leave room for it
// (and, for a tenant's caller, puts its admission entry beside it if its
// admission line has room too). When none does, that is one guarded Txn.
// With limit > 1 and some entries in the line, a Txn cannot add up their
// weights, so the first Txn's failure reads them and a second puts the
// entry only if no entry joined since that read (entries leaving only
// helps). Nothing is written when the turn would not come. An entry
// written is at its turn: it was written under the guard, whichever
// attempt wrote it.
func (q *Queue) tryJoin(ctx context.Context, d draft) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	start := time.Now()
	ds := []draft{d}
	if q.admit != nil {
		ds = []draft{q.admission(d.value, false), d} // both at once: nothing rides
	}
	// Entries at or below seenRev may stay: 0 means none may.
	var seenRev int64
	for rounds := 0; ; rounds++ {
		// Else reads each entry's own key (writeEntries), then, per
		// entry, its line and the permits of other limits in it.
		reads := make([]int, len(ds))
		w, err := q.writeEntries(ctx, ds, func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
			for i := range ds {
				d := &ds[i]
				from, to := d.q.blockRange(d.kind, d.limit)
				reads[i] = len(ds) + len(orElse)
				guards = append(guards, clientv3.Compare(clientv3.CreateRevision(from), "<", seenRev+1).WithRange(to))
				// Unsorted: a sorted read would visit the whole line.
				orElse = append(orElse, d.lineOp(clientv3.WithLimit(int64(turn.AheadLimit(d.limit)))))
				g, others := d.otherLimits()
				guards, then, orElse = append(guards, g...), append(then, d.put()), append(orElse, others...)
			}
			return guards, then, orElse
		})
		if err != nil {
			return nil, err
		}
		if w.revs != nil {
			return q.triedTicket(ctx, w, ds, start)
		}
		room := ctx.Err() == nil && rounds < maxTryRounds
		for i, d := range ds {
			end := len(w.resp.Responses)
			if i+1 < len(ds) {
				end = reads[i+1]
			}
			if limitMismatch(w.resp.Responses[reads[i]+1 : end]) {
				return nil, d.q.mismatch(d.limit)
			}
			ahead := aheadOf(w.resp.Responses[reads[i]], w.resp.Header.Revision+1)
			room = room && turn.Decide(d.limit, d.weight, ahead).Granted
		}
		if !room {
			return nil, ErrBlocked
		}
		seenRev = w.resp.Header.Revision // room, as of this read: try again, guarded by it
	}
}

// triedTicket makes the ticket of a try join's write, which holds its
// turn, with its companion when the write made one.
func (q *Queue) triedTicket(ctx context.Context, w written, ds []draft, start time.Time) (*Ticket, error) {
	ts := make([]*Ticket, len(ds))
	for i := range ds {
		ts[i] = w.ticket(ds[i], i, start, -1)
	}
	t := ts[len(ts)-1]
	if len(ts) == 2 {
		t.admission = ts[0]
		if err := t.admission.grant(ctx); err != nil {
			t.Abandon(ctx)
			return nil, err
		}
	}
	t.joinedHook()
	if err := t.grant(ctx); err != nil {
		t.Abandon(ctx)
		return nil, err
	}
	return t, nil
}
