package queue

import (
	"context"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
)

// Join appends an exclusive entry holding value to the line, in one round
// trip, and returns its ticket. The ticket may already be at the head of the
// line (Position 0); call Wait to block until it is.
//
// If ctx ends, or the call fails, before Join knows the outcome, Join
// removes whatever it may have written (within CleanupTimeout of ctx's
// end) and returns the error: on error nothing of this call is left in the
// line once etcd is reachable. Transient errors (no leader, lost
// connection) are retried until ctx ends; a retry never adds a second
// entry.
func (q *Queue) Join(ctx context.Context, value string) (*Ticket, error) {
	return q.joinOne(ctx, entrySpec{q: q, value: value, kind: Exclusive, limit: 1, weight: 1})
}

// JoinShared is Join for a shared entry: one that only exclusive entries
// block, so that shared entries can be served together.
func (q *Queue) JoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.joinOne(ctx, entrySpec{q: q, value: value, kind: Shared, limit: 1, weight: 1})
}

// Acquire joins the line with an exclusive entry and waits for its turn. On
// any error, a cancelled ctx included, it removes the entry (within
// CleanupTimeout of ctx's end) and returns the error, so a failed Acquire
// leaves nothing behind; a turn granted while ctx was ending is given back
// the same way.
func (q *Queue) Acquire(ctx context.Context, value string) (*Ticket, error) {
	return q.waitOrAbandon(ctx)(q.Join(ctx, value))
}

// AcquireShared is Acquire with a shared entry.
func (q *Queue) AcquireShared(ctx context.Context, value string) (*Ticket, error) {
	return q.waitOrAbandon(ctx)(q.JoinShared(ctx, value))
}

// waitOrAbandon waits for a joined ticket's turn, abandoning it on error.
func (q *Queue) waitOrAbandon(ctx context.Context) func(*Ticket, error) (*Ticket, error) {
	return func(t *Ticket, err error) (*Ticket, error) {
		if err != nil {
			return nil, err
		}
		if err := t.Wait(ctx); err != nil {
			t.Abandon(ctx)
			return nil, err
		}
		return t, nil
	}
}

func (q *Queue) joinOne(ctx context.Context, sp entrySpec) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	ts, err := join(ctx, []entrySpec{sp})
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// join appends every entry in one transaction, so that they all get the
// same create revision. Per entry, the Txn puts the entry and reads the
// newest entries that block it; a permit also requires the line to hold no
// permits of another limit.
func join(ctx context.Context, specs []entrySpec) ([]*Ticket, error) {
	q := specs[0].q
	start := time.Now()
	w, err := q.writeEntries(ctx, specs, func(specs []entrySpec) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
		for i := range specs {
			sp := &specs[i]
			from, to := sp.q.blockRange(sp.kind, sp.limit)
			// The new entries are the newest in the range (all of this Txn's
			// may be, where one line's range covers another's): read past
			// them to see what is ahead.
			then = append(then, sp.put(),
				clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(),
					clientv3.WithLimit(int64(turn.AheadLimit(sp.limit)+len(specs))),
					clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)))
			g, reads := sp.q.otherLimits(sp)
			guards, orElse = append(guards, g...), append(orElse, reads...)
		}
		return guards, then, orElse
	})
	if err != nil {
		return nil, err
	}
	if w.revs == nil {
		return nil, ErrLimitMismatch // the one guard left that can fail
	}
	ts := make([]*Ticket, len(specs))
	for i, sp := range specs {
		if w.adopted {
			// What is ahead is unknown until Wait reads it.
			ts[i] = newTicket(sp, w.revs[i], start, -1, w.tainted)
			continue
		}
		// Entries of this same Txn (JoinAll) have its revision and are not
		// ahead, even where one line's range covers another's.
		ahead := aheadOf(w.resp.Responses[2*i+1], w.revs[i])
		ts[i] = newTicket(sp, w.revs[i], start, len(ahead), w.tainted)
		ts[i].setRead(ahead, w.revs[i])
	}
	for _, t := range ts {
		t.q.hooks().joined(JoinInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Ahead: t.aheadAtJoin})
	}
	return ts, nil
}

// otherLimits returns, for a permit, the guards that no permit of another
// limit is in its line, and the reads that tell, in Else, that one is.
func (q *Queue) otherLimits(sp *entrySpec) (guards []clientv3.Cmp, reads []clientv3.Op) {
	if sp.kind != Permit {
		return nil, nil
	}
	for _, r := range q.layout.OtherLimits(sp.limit) {
		guards = append(guards, clientv3.Compare(clientv3.CreateRevision(r[0]), "=", 0).WithRange(r[1]))
		reads = append(reads, clientv3.OpGet(r[0], clientv3.WithRange(r[1]), clientv3.WithKeysOnly(), clientv3.WithLimit(1)))
	}
	return guards, reads
}

// limitMismatch reports whether Else's reads from otherLimits, at
// resp.Responses[from:], found a permit of another limit.
func limitMismatch(resp *clientv3.TxnResponse, from int) bool {
	for _, r := range resp.Responses[from:] {
		if len(r.GetResponseRange().GetKvs()) > 0 {
			return true
		}
	}
	return false
}

// aheadOf returns the entries of a range response created before rev,
// with their weights.
func aheadOf(r *etcdserverpb.ResponseOp, rev int64) []turn.Ahead {
	var out []turn.Ahead
	for _, kv := range r.GetResponseRange().GetKvs() {
		if kv.CreateRevision < rev {
			out = append(out, turn.Ahead{Key: string(kv.Key), Weight: weightOf(string(kv.Key))})
		}
	}
	return out
}
