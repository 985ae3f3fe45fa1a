package queue

import (
	"context"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
)

// Join appends an exclusive entry holding value to the line, in one round
// trip, and returns its ticket, which may already hold its turn: call Wait.
//
// When ctx ends, or the call fails, before the outcome is known, Join
// returns the error and leaves nothing of the call in the line (removed
// within CleanupTimeout of ctx's end, or by the session's cleanup once etcd
// is reachable). A retry after a lost reply never adds a second entry.
func (q *Queue) Join(ctx context.Context, value string) (*Ticket, error) {
	if err := q.refuseTenant("Join"); err != nil {
		return nil, err
	}
	return q.joinOne(ctx, draft{entry: entry{q: q, kind: Exclusive, limit: 1, weight: 1}, value: value})
}

// JoinShared is Join for a shared entry: one that only exclusive entries
// block, so that shared entries can be served together.
func (q *Queue) JoinShared(ctx context.Context, value string) (*Ticket, error) {
	if err := q.refuseTenant("JoinShared"); err != nil {
		return nil, err
	}
	return q.joinOne(ctx, draft{entry: entry{q: q, kind: Shared, limit: 1, weight: 1}, value: value})
}

// Acquire joins the line with an exclusive entry and waits for its turn.
//
// On any error, an ended ctx included, it removes the entry (within
// CleanupTimeout of ctx's end) and returns the error: a failed Acquire
// leaves nothing behind, and a turn granted while ctx was ending is given
// back the same way.
func (q *Queue) Acquire(ctx context.Context, value string) (*Ticket, error) {
	return q.acquire(ctx, draft{entry: entry{q: q, kind: Exclusive, limit: 1, weight: 1}, value: value})
}

// AcquireShared is Acquire with a shared entry.
func (q *Queue) AcquireShared(ctx context.Context, value string) (*Ticket, error) {
	return q.acquire(ctx, draft{entry: entry{q: q, kind: Shared, limit: 1, weight: 1}, value: value})
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

func (q *Queue) joinOne(ctx context.Context, d draft) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	ts, err := join(ctx, []draft{d})
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// join appends every entry in one transaction, so that they all get the
// same create revision. Per entry, the Txn puts the entry and reads the
// newest entries that block it; a permit also requires the line to hold no
// permits of another limit.
func join(ctx context.Context, ds []draft) ([]*Ticket, error) {
	return joinAt(ctx, ds, time.Now(), nil)
}

// adoptSlack is how many entries may have joined behind an adopted rider
// for the adoption's read still to tell what is ahead of it.
const adoptSlack = 8

// adoptOp is the read that tells what is ahead of e, a rider that may
// have been written for it (see adopted): the newest entries of its line,
// adoptSlack more than a decision needs. opts narrow it further.
func (e *entry) adoptOp(opts ...clientv3.OpOption) clientv3.Op {
	return e.aheadOp(turn.AheadLimit(e.limit)+adoptSlack, opts...)
}

// adopted sets what is ahead of an adopted entry from r, its adoptOp read
// at revision rev, when r tells: it holds the entry, and either every
// entry of the line or as many older than it as a decision needs.
func (t *Ticket) adopted(r *etcdserverpb.ResponseOp, rev int64) {
	n := turn.AheadLimit(t.limit) + adoptSlack
	kvs := r.GetResponseRange().GetKvs()
	if !slices.ContainsFunc(kvs, func(kv *mvccpb.KeyValue) bool { return kv.CreateRevision == t.rev && string(kv.Key) == t.key }) {
		return
	}
	ahead := aheadOf(r, t.rev)
	if len(kvs) == n && len(ahead) < turn.AheadLimit(t.limit) {
		return // the line may go on past the read
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.read = view{ahead: ahead, rev: rev}
}

// joinOps are a join's transaction for ds, in the shape writeEntries
// takes: per draft, the put and the read of the newest entries that block
// it (Then's ops 2i and 2i+1); for a permit, the guards that no permit of
// another limit is in its line and Else's reads that tell.
func joinOps(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
	for i := range ds {
		d := &ds[i]
		// The new entries are the newest in the range (all of this Txn's
		// may be, where one line's range covers another's): read past them
		// to see what is ahead.
		then = append(then, d.put(), d.aheadOp(turn.AheadLimit(d.limit)+len(ds)))
		g, reads := d.otherLimits()
		guards, orElse = append(guards, g...), append(orElse, reads...)
	}
	return guards, then, orElse
}

// joinAt is join for a call that began at start (a tenant's caller: when
// it began to wait for admission), whose one entry has the companion
// admission, if not nil.
func joinAt(ctx context.Context, ds []draft, start time.Time, admission *Ticket) ([]*Ticket, error) {
	q := ds[0].q
	adoptRead := -1 // the index in Else of the read for a rider's adoption
	w, err := q.writeEntries(ctx, ds, func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op) {
		if _, rides := ds[0].ridesOn(); rides && len(ds) == 1 {
			// A rider found written (by the release that admitted it) is
			// adopted; this read tells what is ahead of it, unless too many
			// entries joined behind it meanwhile.
			adoptRead = len(ds)
			orElse = append(orElse, ds[0].adoptOp())
		}
		g, t, e := joinOps(ds)
		return g, t, append(orElse, e...)
	})
	if err != nil {
		return nil, err
	}
	if w.revs == nil {
		return nil, q.mismatch(ds[0].limit) // the one guard left that can fail
	}
	ts := make([]*Ticket, len(ds))
	for i, d := range ds {
		// Entries of this same Txn (JoinAll) have its revision and are not
		// ahead, even where one line's range covers another's.
		ts[i] = w.ticket(d, i, start, 2*i+1)
	}
	if w.adopted && adoptRead >= 0 {
		ts[0].adopted(w.resp.Responses[adoptRead], w.resp.Header.Revision)
	}
	ts[0].admission = admission
	for _, t := range ts {
		t.joinedHook()
	}
	return ts, nil
}
