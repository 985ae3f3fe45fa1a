package queue

import (
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/turn"
)

// A tenant's release hands over: the caller its leaving admits gets its
// entry in the lock's line in the release's own transaction, written for
// it on its admission's rider (keys.AdmittedEntry: the lock's line, the
// admission entry's id) and bound to its lease, rather than one or two
// round trips later, once it has learned of its admission. In between,
// the other tenants' callers already in the lock's line would be served,
// and with short holds a tenant could lose its turns one after another:
// the round-robin of tenants holds only if a tenant's next caller is in
// the lock's line as soon as its last one leaves. The caller, once it
// learns of its admission, writes its entry as it would have, finds it
// there, and adopts it (writeEntries).
//
// The release reads the head of the admission line (readHead, local to
// its member: a stale read only costs the speed-up), or takes it from the
// read that found its turn when that was a moment ago (grantHead); a
// caller of the tenant that joined since makes the release read again
// (see handing). It writes only under guards, evaluated before the
// release's own deletes: the admitted caller's admission entry is still
// there, and so is every entry the read found ahead of it, so that it is
// exactly the one the release admits (nothing joins a line ahead of an
// entry); each entry ahead of it other than the leaving one has its entry
// in the lock's line already, so that a tenant's callers keep their order
// there; and nothing is on its rider yet. A guard that fails writes nothing, and the caller writes its entry
// itself. Only a caller whose entry will be exclusive has a rider: its
// admission entry's id says so (keys.RiderID), and nothing else of an
// admission key says what kind of entry its caller takes; a release hands
// over to such a caller only, and only when every caller of the tenant
// ahead of it is such a caller too.

// handover returns the op of a's release that writes the lock-line entry
// of the caller a's leaving admits, of head (a's readHead), or nil when
// it admits nobody or a guard cannot be known to hold.
func (a *Ticket) handover(head []*mvccpb.KeyValue) []clientv3.Op {
	in := a.letInOf(head)
	if len(in) != 1 {
		return nil
	}
	x := head[in[0]]
	rider, ok := keys.AdmittedEntry(string(x.Key))
	if !ok {
		return nil
	}
	var guards []clientv3.Cmp
	for _, kv := range head[:in[0]+1] {
		e := entry{key: string(kv.Key), rev: kv.CreateRevision}
		guards = append(guards, e.owned())
		if kv == x || (kv.CreateRevision == a.rev && e.key == a.key) {
			continue
		}
		r, ok := keys.AdmittedEntry(e.key)
		if !ok {
			return nil
		}
		guards = append(guards, clientv3.Compare(clientv3.CreateRevision(r), ">", 0))
	}
	guards = append(guards, clientv3.Compare(clientv3.CreateRevision(rider), "=", 0))
	put := clientv3.OpPut(rider, string(x.Value), clientv3.WithLease(clientv3.LeaseID(x.Lease)))
	return []clientv3.Op{clientv3.OpTxn(guards, []clientv3.Op{put}, nil)}
}

// headFresh is how long after its grant a release decides on the head of
// the admission line read with the grant rather than reading it again.
const headFresh = 10 * time.Millisecond

// handoverRounds bounds the guarded transactions of a release whose
// admission line gains a caller between the read it decided on and its
// write (see handing): past that, one more releases without looking again.
const handoverRounds = 3

// headRead is a read of the head of an admission line (readHead's): its
// oldest entries, as of revision rev.
type headRead struct {
	kvs []*mvccpb.KeyValue
	rev int64
}

// handing is the part of a tenant's release that concerns its admission
// line: ops remove the admission entry and touch the callers it lets in;
// handover writes the lock-line entry of the caller it admits. Both are
// decided on a read of the line's head, so a caller of the tenant that
// joins after that read would be missed when the read found fewer than it
// asked for: guard then holds only while the line has no entry newer than
// the read, and when it fails, Else reads the release's own entry and the
// head again (recheck), for another round.
type handing struct {
	ops, handover []clientv3.Op
	guard         []clientv3.Cmp
	recheck       []clientv3.Op
}

// handing returns the release's handing, decided on head (the oldest
// entries of the admission line as of rev, nil when unknown), with a
// handover when handOver.
func (t *Ticket) handing(head []*mvccpb.KeyValue, rev int64, handOver bool) handing {
	a := t.admission
	h := handing{ops: []clientv3.Op{clientv3.OpTxn([]clientv3.Cmp{a.owned()}, a.deleteOps(), nil)}}
	if rev == 0 {
		return h
	}
	h.ops = append(h.ops, a.letInOps(head)...)
	if !handOver {
		return h
	}
	h.handover = a.handover(head)
	if len(head) >= turn.AheadLimit(a.limit) {
		return h // a caller that joins now is behind those read, and admits nobody
	}
	from, to := a.q.blockRange(a.kind, a.limit)
	h.guard = []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(from), "<", rev+1).WithRange(to)}
	h.recheck = []clientv3.Op{t.ownOp(), a.headOp()}
	return h
}

// rechecked returns the head that Else read when a release's guard
// failed with its entry still in the line; false otherwise.
func (t *Ticket) rechecked(resp *clientv3.TxnResponse) (headRead, bool) {
	if resp.Succeeded || len(resp.Responses) != 2 || !ownedIn(resp.Responses[0], t.rev) {
		return headRead{}, false
	}
	return headRead{resp.Responses[1].GetResponseRange().GetKvs(), resp.Header.Revision}, true
}

// headReads are the reads that a tenant's exclusive ticket's wait adds to
// its reads of the lock's line: the head of its admission line, for the
// release's handover (grantHead). None for other tickets.
func (t *Ticket) headReads() extraReads {
	if t.admission == nil || t.kind != Exclusive || t.q.noHandover.Load() {
		return nil
	}
	a := t.admission
	return func(opts ...clientv3.OpOption) []clientv3.Op { return []clientv3.Op{a.headOp(opts...)} }
}

// grantHead returns the head of the admission line read with the
// ticket's grant, if that came less than headFresh ago.
func (t *Ticket) grantHead() (headRead, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head.rev == 0 || time.Since(t.grantedAt) >= headFresh {
		return headRead{}, false
	}
	return t.head, true
}
