package queue

import (
	"context"
	"errors"
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
// removes whatever it may have written (see CleanupTimeout) and returns the
// error: on error nothing of this call is left in the line once etcd is
// reachable. Transient errors (no leader, lost connection) are retried
// until ctx ends; a retry never adds a second entry.
func (q *Queue) Join(ctx context.Context, value string) (*Ticket, error) {
	return q.joinOne(ctx, value, Exclusive, 1)
}

// JoinShared is Join for a shared entry: one that only exclusive entries
// block, so that shared entries can be served together.
func (q *Queue) JoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.joinOne(ctx, value, Shared, 1)
}

// Acquire joins the line with an exclusive entry and waits for its turn. On
// any error, a cancelled ctx included, it removes the entry (see
// CleanupTimeout) and returns the error, so a failed Acquire leaves nothing
// behind; a turn granted while ctx was ending is given back the same way.
func (q *Queue) Acquire(ctx context.Context, value string) (*Ticket, error) {
	t, err := q.Join(ctx, value)
	if err != nil {
		return nil, err
	}
	return q.waitOrAbandon(ctx, t)
}

// AcquireShared is Acquire with a shared entry.
func (q *Queue) AcquireShared(ctx context.Context, value string) (*Ticket, error) {
	t, err := q.JoinShared(ctx, value)
	if err != nil {
		return nil, err
	}
	return q.waitOrAbandon(ctx, t)
}

func (q *Queue) waitOrAbandon(ctx context.Context, t *Ticket) (*Ticket, error) {
	if err := t.Wait(ctx); err != nil {
		t.abandon(ctx)
		return nil, err
	}
	return t, nil
}

func (q *Queue) joinOne(ctx context.Context, value string, kind Kind, limit int) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	ts, err := join(ctx, []entrySpec{{q: q, value: value, kind: kind, limit: limit}})
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// entrySpec is one entry of a join.
type entrySpec struct {
	q     *Queue
	value string
	kind  Kind
	limit int // 1 but for permits
	key   string
	slot  int
}

// join appends every entry in one transaction, so that they all get the
// same create revision. Per entry, the Txn puts the entry only if its key
// does not exist (so a retry after a lost reply finds the entry instead of
// writing a second one) and reads the newest entries that block it; a
// permit also requires the line to hold no permits of another limit.
func join(ctx context.Context, specs []entrySpec) ([]*Ticket, error) {
	q := specs[0].q
	start := time.Now()
	var guards []clientv3.Cmp
	var then, orElse []clientv3.Op
	for i := range specs {
		sp := &specs[i]
		sp.slot = sp.q.st.takeSlot()
		sp.key = sp.q.st.key(sp.q.layout, sp.slot, sp.kind, sp.limit)
		from, to := sp.q.blockRange(sp.kind, sp.limit)
		guards = append(guards, clientv3.Compare(clientv3.CreateRevision(sp.key), "=", 0))
		// The new entries are the newest in the range (all of this Txn's
		// may be, where one line's range covers another's): read past them
		// to see what is ahead.
		then = append(then,
			clientv3.OpPut(sp.key, sp.value, clientv3.WithLease(sp.q.s.Lease())),
			clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(),
				clientv3.WithLimit(int64(turn.AheadLimit(sp.limit)+len(specs))),
				clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)))
		orElse = append(orElse, clientv3.OpGet(sp.key, clientv3.WithKeysOnly()))
		if sp.kind == Permit {
			for _, r := range sp.q.layout.OtherLimits(sp.limit) {
				guards = append(guards, clientv3.Compare(clientv3.CreateRevision(r[0]), "=", 0).WithRange(r[1]))
				orElse = append(orElse, clientv3.OpGet(r[0], clientv3.WithRange(r[1]), clientv3.WithKeysOnly(), clientv3.WithLimit(1)))
			}
		}
	}
	attempts := 0
	resp, err := q.write(ctx, specs, func(ctx context.Context) (resp *clientv3.TxnResponse, err error) {
		err = q.retry(ctx, func(ctx context.Context) error {
			attempts++
			resp, err = q.s.Client().Txn(ctx).If(guards...).Then(then...).Else(orElse...).Commit()
			return err
		})
		return resp, err
	}, func(resp *clientv3.TxnResponse) bool { return resp.Succeeded || foundOwn(specs, resp) })
	if err != nil {
		return nil, err
	}
	ts := make([]*Ticket, len(specs))
	if resp.Succeeded {
		for i, sp := range specs {
			// Entries of this same Txn (JoinAll) have its revision and are
			// not ahead, even where one line's range covers another's.
			ahead := keysOlder(resp.Responses[2*i+1], resp.Header.Revision)
			ts[i] = newTicket(sp, resp.Header.Revision, start, len(ahead))
			ts[i].setRead(ahead, resp.Header.Revision)
		}
	} else if err := joinFailed(ctx, specs, resp, start, ts, attempts > 1); err == errStray {
		// A first attempt found keys of its slots: entries an earlier call
		// leaked, now being removed. Join again on other slots.
		for i := range specs {
			specs[i].key, specs[i].slot = "", 0
		}
		return join(ctx, specs)
	} else if err != nil {
		return nil, err
	}
	for _, t := range ts {
		t.q.hooks().joined(JoinInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Ahead: t.aheadAtJoin})
	}
	return ts, nil
}

// errStray: a join's first attempt found keys of its own slots.
var errStray = errors.New("queue: stray entry on a free slot")

// joinFailed makes sense of a join whose guard failed. After a retry
// (retried), entries found at the call's keys were written by an earlier
// attempt whose reply was lost: they are the call's, if all are there. On
// a first attempt they can only be strays, entries an earlier call leaked
// (a write applied after the delete that was to remove it): they are
// removed and errStray says to join again. A permit may also have met
// permits of another limit. joinFailed fills ts or returns the error; every
// entry not adopted is removed, and slots go back once their keys are gone.
func joinFailed(ctx context.Context, specs []entrySpec, resp *clientv3.TxnResponse, start time.Time, ts []*Ticket, retried bool) error {
	var mismatch, missing, found bool
	r := 0
	for i, sp := range specs {
		kvs := resp.Responses[r].GetResponseRange().GetKvs()
		r++
		if len(kvs) == 1 {
			// What is ahead is unknown until Wait reads it.
			ts[i] = newTicket(sp, kvs[0].CreateRevision, start, -1)
			found = true
		} else {
			missing = true
		}
		if sp.kind == Permit {
			for range 2 {
				if len(resp.Responses[r].GetResponseRange().GetKvs()) > 0 {
					mismatch = true
				}
				r++
			}
		}
	}
	if retried && !missing {
		return nil
	}
	for i, sp := range specs {
		if ts[i] != nil {
			sp.q.abandonRev(ctx, sp.key, sp.slot, ts[i].rev)
			ts[i] = nil
		} else {
			sp.q.st.giveSlot(sp.slot)
		}
	}
	switch {
	case mismatch:
		return ErrLimitMismatch
	case !retried && found:
		return errStray
	}
	// Written by an earlier attempt, then some entry of it deleted.
	return &lostError{name: specs[0].q.Name(), expired: sessionEnded(specs[0].q.s)}
}

// write runs op, a transaction that may write the entries of specs, and
// returns its outcome; wrote tells from op's answer whether it wrote them.
// The write is not cut short by ctx: a cancelled RPC may still be applied
// by etcd after a delete sent behind it, leaking an entry that would block
// the line for as long as the session lives. So when ctx ends first, write
// waits (at most CleanupTimeout) for etcd's answer, removes what was
// written, and returns ctx.Err(). If op fails, write removes the entries
// too. Slots of entries not written go back at once.
func (q *Queue) write(ctx context.Context, specs []entrySpec, op func(context.Context) (*clientv3.TxnResponse, error), wrote func(*clientv3.TxnResponse) bool) (*clientv3.TxnResponse, error) {
	if err := ctx.Err(); err != nil {
		for _, sp := range specs {
			sp.q.st.giveSlot(sp.slot)
		}
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		grace := time.NewTimer(CleanupTimeout)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel()
		case <-wctx.Done():
		}
	})
	resp, err := op(wctx)
	stop()
	switch {
	case err == nil && ctx.Err() == nil:
		return resp, nil // the caller gives back the slots of entries not written
	case err == nil && !wrote(resp):
		for _, sp := range specs {
			sp.q.st.giveSlot(sp.slot)
		}
	default: // failed, or written while ctx ended: remove whatever may be there
		for _, sp := range specs {
			sp.q.abandon(ctx, sp.key, sp.slot)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

// foundOwn reports whether a failed join's reads found its entries,
// written by an earlier attempt whose reply was lost.
func foundOwn(specs []entrySpec, resp *clientv3.TxnResponse) bool {
	r := 0
	for _, sp := range specs {
		if len(resp.Responses[r].GetResponseRange().GetKvs()) > 0 {
			return true
		}
		r++
		if sp.kind == Permit {
			r += 2
		}
	}
	return false
}

// keysOlder returns the keys of a range response created before rev.
func keysOlder(r *etcdserverpb.ResponseOp, rev int64) []string {
	var out []string
	for _, kv := range r.GetResponseRange().GetKvs() {
		if kv.CreateRevision < rev {
			out = append(out, string(kv.Key))
		}
	}
	return out
}
