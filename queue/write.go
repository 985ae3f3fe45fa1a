package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/slot"
)

// draft is an entry that a write is to make, with the value it stores.
type draft struct {
	entry
	value string
	// admitted is, for a tenant's caller, its admission, once granted: an
	// exclusive entry rides on it (see ridesOn).
	admitted *Ticket
}

// ridesOn returns the key of a tenant caller's exclusive entry: its
// admission entry's rider (see entry.rider), which the release that
// admitted it may have written already. Other entries take a slot of
// their own.
func (d *draft) ridesOn() (string, bool) {
	if d.admitted == nil || d.kind != Exclusive {
		return "", false
	}
	return d.admitted.rider()
}

// put is the op that writes the entry, bound to its session's lease.
func (d *draft) put() clientv3.Op {
	return clientv3.OpPut(d.key, d.value, clientv3.WithLease(d.q.s.Lease()))
}

// txnShape builds a write's transaction around its entries' keys: the
// guards beyond "each entry's key is free", every op of Then (d.put among
// them), and the reads of Else beyond each entry's own key, which Else
// reads first, in the order of the drafts.
type txnShape func(ds []draft) (guards []clientv3.Cmp, then, orElse []clientv3.Op)

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
}

// writeEntries is the one way entries are written: Join, TryJoin, Requeue
// and JoinAll differ only in the shape of their transaction. It takes a
// free slot per entry, runs the transaction (retrying transient errors),
// and applies one rule to entries found on the slots' keys after a lost
// reply: they are this call's, since a free slot has no entry and no write
// in flight (package internal/slot), so they are adopted. An entry found
// there at the first attempt is nobody's: it is removed, its slot
// quarantined, and the write made again on other slots. A rider (see
// ridesOn) takes no slot: its key is its admission's, the write is guarded
// by the admission entry, and an entry found on it is the caller's,
// written by the release that admitted it, and adopted.
//
// Cancellation is bounded once for the whole call: when ctx ends, the
// write in flight gets until CleanupTimeout later for etcd's answer and the
// removal of what it wrote, together; what cannot be removed by then is
// the cleanup worker's. Either way writeEntries returns ctx.Err() and
// leaves nothing of the call in use: slots of entries known not written go
// back, others are removed, and a slot whose write's outcome stays unknown
// is quarantined.
func (q *Queue) writeEntries(ctx context.Context, ds []draft, shape txnShape) (written, error) {
	if err := ctx.Err(); err != nil {
		return written{}, err
	}
	bound, cancel := afterEnd(ctx, CleanupTimeout)
	defer cancel()
	for {
		es := make([]entry, len(ds))
		var admissions []*Ticket // of the riders, whose reads end Else
		for i := range ds {
			if key, ok := ds[i].ridesOn(); ok {
				ds[i].key, ds[i].slot = key, -1
				admissions = append(admissions, ds[i].admitted)
			} else {
				q.st.slots.take(&ds[i].entry)
			}
			es[i] = ds[i].entry
		}
		guards, then, orElse := shape(ds)
		free := make([]clientv3.Cmp, 0, len(ds)+len(guards))
		own := make([]clientv3.Op, 0, len(ds)+len(orElse))
		for i := range ds {
			free = append(free, clientv3.Compare(clientv3.CreateRevision(ds[i].key), "=", 0))
			own = append(own, ds[i].ownOp())
		}
		guards, orElse = append(free, guards...), append(own, orElse...)
		for _, a := range admissions {
			guards, orElse = append(guards, a.owned()), append(orElse, a.ownOp())
		}
		attempts := 0
		var resp *clientv3.TxnResponse
		// On bound: once ctx ends, the write gets CleanupTimeout more for
		// its answer, since a cancelled RPC may still be applied by etcd
		// after a delete sent behind it.
		err := q.retry(bound, func(ctx context.Context) (err error) {
			attempts++
			resp, err = q.s.Client().Txn(ctx).If(guards...).Then(then...).Else(orElse...).Commit()
			return err
		})
		doubted := attempts > 1 || (err != nil && ctx.Err() != nil)
		if doubted {
			q.st.slots.moveAll(es, slot.Doubt)
		}
		if err != nil {
			switch {
			case doubted:
				// Unknown outcome: remove whatever may be there; the slots
				// are quarantined once it is gone.
				q.abandonWrite(es, nil, bound, ctx)
			case !errors.Is(err, ErrSessionExpired): // else the lease takes the rest
				q.st.slots.moveAll(es, slot.Unwritten)
			}
			if ctx.Err() != nil {
				return written{}, ctx.Err()
			}
			return written{}, err
		}
		w := written{resp: resp}
		if resp.Succeeded {
			w.revs = make([]int64, len(ds))
			for i := range w.revs {
				w.revs[i] = resp.Header.Revision
			}
			q.st.slots.moveAll(es, slot.Written)
		} else {
			found, n := make([]int64, len(ds)), 0
			for i := range ds {
				if kvs := resp.Responses[i].GetResponseRange().GetKvs(); len(kvs) == 1 {
					found[i], n = kvs[0].CreateRevision, n+1
				}
			}
			reads := resp.Responses[len(resp.Responses)-len(admissions):]
			for i, a := range admissions {
				if !ownedIn(reads[i], a.rev) {
					// The admission is gone, and with it anything written on
					// its rider: the lease ended, or it was deleted.
					return written{}, &lostError{name: q.Name(), expired: q.st.ended()}
				}
			}
			switch {
			case len(admissions) > 0 && n == len(ds):
				for i := range ds {
					if found[i] < ds[i].admitted.rev { // equal: written with the admission (joinAdmission)
						return written{}, fmt.Errorf("fairlock: lock %s: %s holds an entry older than its admission", q.Name(), ds[i].key)
					}
				}
				w.revs, w.adopted = found, true // the release that admitted it wrote it, or an earlier attempt
			case n == len(ds) && doubted:
				w.revs, w.adopted = found, true
				q.st.slots.moveAll(es, slot.Written)
			case n == 0:
				q.st.slots.moveAll(es, slot.Unwritten)
			case doubted:
				// Written by an earlier attempt, then some entry of it
				// deleted: the call's entries are lost.
				q.abandonWrite(es, found, nil, ctx)
				return written{}, &lostError{name: q.Name(), expired: q.st.ended()}
			default:
				// Entries on free slots at the first attempt: nobody's
				// (see internal/slot). Take them out of use and write again.
				q.log(slog.LevelError, "entry found on a free slot", slog.String("key", ds[0].key))
				q.st.slots.moveAll(es, slot.Doubt)
				q.abandonWrite(es, found, nil, ctx)
				continue
			}
		}
		if ctx.Err() != nil {
			// Answered, but ctx ended meanwhile: give back what was written.
			if w.revs != nil {
				q.abandonWrite(es, w.revs, bound, ctx)
			}
			return written{}, ctx.Err()
		}
		return w, nil
	}
}

// abandonWrite hands the entries of a write to the cleanup, with their
// create revisions where known (revs nil, or 0: unknown), and waits for
// their removal until bound ends: bound, when ctx has ended; CleanupTimeout
// from now, when the write failed on its own; not at all for a nil bound.
func (q *Queue) abandonWrite(es []entry, revs []int64, bound, ctx context.Context) {
	for i := range es {
		if revs != nil {
			es[i].rev = revs[i]
		}
	}
	q.st.slots.moveAll(es, slot.Remove)
	r := q.st.cleanup.abandon(es...)
	if bound == nil {
		return
	}
	if ctx.Err() == nil {
		var cancel context.CancelFunc
		bound, cancel = context.WithTimeout(context.Background(), CleanupTimeout)
		defer cancel()
	}
	r.wait(bound, q.st.cleanup)
}

// ticket makes the ticket of the i-th entry that w wrote for d. aheadAt is
// the index in w's responses of the read of the entries ahead of it, or -1
// for an entry written at its turn (a try join's); when w adopted a lost
// reply's entries, what is ahead is unknown until Wait reads it.
func (w written) ticket(d draft, i int, start time.Time, aheadAt int) *Ticket {
	d.rev = w.revs[i]
	switch {
	case aheadAt < 0:
		t := newTicket(d.entry, d.value, joinNote{at: start})
		t.read = view{rev: d.rev}
		return t
	case w.adopted:
		return newTicket(d.entry, d.value, joinNote{at: start, ahead: -1})
	}
	ahead := aheadOf(w.resp.Responses[aheadAt], d.rev)
	t := newTicket(d.entry, d.value, joinNote{at: start, ahead: len(ahead)})
	t.read = view{ahead: ahead, rev: d.rev}
	return t
}

// joinedHook tells the hooks that the ticket is in the line.
func (t *Ticket) joinedHook() {
	t.q.hooks().joined(JoinInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Ahead: t.joined.ahead})
}
