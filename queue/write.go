package queue

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// entrySpec is one entry that a write may make.
type entrySpec struct {
	q      *Queue
	value  string
	kind   Kind
	limit  int // 1 but for permits
	weight int // 1 but for weighted permits
	key    string
	slot   int
}

// put is the op that writes the entry, bound to its session's lease.
func (sp *entrySpec) put() clientv3.Op {
	return clientv3.OpPut(sp.key, sp.value, clientv3.WithLease(sp.q.s.Lease()))
}

// txnShape builds a write's transaction around its entries' keys: the
// guards beyond "each entry's key is free", every op of Then (sp.put among
// them), and the reads of Else beyond each entry's own key, which Else
// reads first, in the order of the specs.
type txnShape func(specs []entrySpec) (guards []clientv3.Cmp, then, orElse []clientv3.Op)

// written is the outcome of a write that got etcd's answer.
type written struct {
	resp *clientv3.TxnResponse
	// revs holds each entry's create revision; nil when nothing was
	// written and resp's responses are Else's.
	revs []int64
	// adopted: the entries were found, written by an attempt whose reply
	// was lost; resp's responses are Else's, so what the write read is
	// unknown.
	adopted bool
	tainted bool // some attempt had an unknown outcome (see releaseSlot)
}

// writeEntries is the one way entries are written: Join, TryJoin, Requeue
// and JoinAll differ only in the shape of their transaction. It takes a
// free slot per entry, runs the transaction (retrying transient errors),
// and applies one rule to entries found on the slots' keys after a lost
// reply: they are this call's, since a free slot has no entry and no write
// in flight (see releaseSlot), so they are adopted.
//
// Cancellation is bounded once for the whole call: when ctx ends, the
// write in flight gets until CleanupTimeout later for etcd's answer and the
// removal of what it wrote, together; what cannot be removed by then is
// the cleanup worker's. Either way writeEntries returns ctx.Err() and
// leaves nothing of the call in use: slots of entries known not written go
// back, others are removed, and a slot whose write's outcome stays unknown
// is quarantined.
func (q *Queue) writeEntries(ctx context.Context, specs []entrySpec, shape txnShape) (written, error) {
	if err := ctx.Err(); err != nil {
		return written{}, err
	}
	for {
		for i := range specs {
			sp := &specs[i]
			sp.slot = sp.q.st.takeSlot()
			sp.key = sp.q.st.key(sp.q.layout, sp.slot, sp.kind, sp.limit, sp.weight)
		}
		guards, then, orElse := shape(specs)
		free := make([]clientv3.Cmp, 0, len(specs)+len(guards))
		own := make([]clientv3.Op, 0, len(specs)+len(orElse))
		for _, sp := range specs {
			free = append(free, clientv3.Compare(clientv3.CreateRevision(sp.key), "=", 0))
			own = append(own, clientv3.OpGet(sp.key, clientv3.WithKeysOnly()))
		}
		guards, orElse = append(free, guards...), append(own, orElse...)
		attempts := 0
		resp, deadline, err := q.commit(ctx, func(ctx context.Context) (*clientv3.TxnResponse, error) {
			attempts++
			return q.s.Client().Txn(ctx).If(guards...).Then(then...).Else(orElse...).Commit()
		})
		w := written{resp: resp, tainted: attempts > 1}
		if err != nil {
			switch {
			case ctx.Err() != nil || w.tainted:
				// Unknown outcome: remove whatever may be there, and never
				// use these slots again.
				abandonSpecs(specs, nil, true, deadline)
			case err != ErrSessionExpired: // the lease takes the rest
				releaseSpecs(specs, false)
			}
			if ctx.Err() != nil {
				return written{}, ctx.Err()
			}
			return written{}, err
		}
		var found []int64
		if resp.Succeeded {
			w.revs = make([]int64, len(specs))
			for i := range w.revs {
				w.revs[i] = resp.Header.Revision
			}
		} else {
			for i := range specs {
				if kvs := resp.Responses[i].GetResponseRange().GetKvs(); len(kvs) == 1 {
					found = append(found, kvs[0].CreateRevision)
				} else {
					found = append(found, 0)
				}
			}
			switch n := countFound(found); {
			case n == len(specs) && w.tainted:
				w.revs, w.adopted = found, true
			case n == 0:
				releaseSpecs(specs, w.tainted)
			case w.tainted:
				// Written by an earlier attempt, then some entry of it
				// deleted: the call's entries are lost.
				abandonSpecs(specs, found, true, time.Now())
				return written{}, &lostError{name: q.Name(), expired: sessionEnded(q.s)}
			default:
				// Entries on free slots at the first attempt: cannot happen
				// (see releaseSlot). Take them out of use and write again.
				q.log(slog.LevelError, "entry found on a free slot", slog.String("key", specs[0].key))
				abandonSpecs(specs, found, true, time.Now())
				continue
			}
		}
		if ctx.Err() != nil {
			// Answered, but ctx ended meanwhile: give back what was written.
			if w.revs != nil {
				abandonSpecs(specs, w.revs, w.tainted, deadline)
			}
			return written{}, ctx.Err()
		}
		return w, nil
	}
}

// commit runs op until it succeeds or fails for good (see retry), on a
// context that outlives ctx by at most CleanupTimeout: a cancelled RPC may
// still be applied by etcd after a delete sent behind it, so once ctx ends
// the write gets that long for its answer. deadline is when the call's
// cleanup must end: CleanupTimeout after ctx ended (or after op failed).
func (q *Queue) commit(ctx context.Context, op func(context.Context) (*clientv3.TxnResponse, error)) (resp *clientv3.TxnResponse, deadline time.Time, err error) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	ended := make(chan time.Time, 1)
	stop := context.AfterFunc(ctx, func() {
		ended <- time.Now()
		grace := time.NewTimer(CleanupTimeout)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel()
		case <-wctx.Done():
		}
	})
	err = q.retry(wctx, func(ctx context.Context) (err error) {
		resp, err = op(ctx)
		return err
	})
	if stop() {
		return resp, time.Now().Add(CleanupTimeout), err
	}
	// ctx ended: the grace timer's goroutine has started; it stops with
	// wctx, cancelled on return.
	return resp, (<-ended).Add(CleanupTimeout), err
}

func countFound(revs []int64) int {
	n := 0
	for _, r := range revs {
		if r != 0 {
			n++
		}
	}
	return n
}

// releaseSpecs gives back the slots of entries known not written.
func releaseSpecs(specs []entrySpec, tainted bool) {
	for _, sp := range specs {
		sp.q.st.releaseSlot(sp.q, sp.key, sp.slot, tainted)
	}
}

// abandonSpecs hands the entries of specs to the cleanup worker and waits
// for their removal until deadline. revs holds their create revisions
// where known (0 or a nil revs: unknown, which quarantines the slot).
func abandonSpecs(specs []entrySpec, revs []int64, tainted bool, deadline time.Time) {
	if len(specs) == 0 {
		return
	}
	entries := make([]*abandonedEntry, len(specs))
	for i, sp := range specs {
		var rev int64
		if revs != nil {
			rev = revs[i]
		}
		entries[i] = &abandonedEntry{q: sp.q, key: sp.key, slot: sp.slot, rev: rev, tainted: tainted}
	}
	specs[0].q.st.abandon(deadline, entries...)
}
