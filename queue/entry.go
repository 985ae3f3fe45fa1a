package queue

import (
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
)

// entry is one entry of a line: what the writer makes, what a Ticket holds
// and what the cleanup removes. It does not change once its write is
// answered. The operations on a set of entries (write, release, removal)
// take a slice of them, so that a hold of several entries (JoinAll's, a
// tenant's) goes through the same paths as a hold of one.
type entry struct {
	q      *Queue
	key    string
	slot   int   // the session's slot it is written on; -1 for none (a stray on a quarantined key)
	rev    int64 // create revision; 0 while unknown
	kind   Kind
	limit  int // 1 but for permits
	weight int // 1 but for weighted permits
	// rides: an admission entry whose caller's entry in the lock's line is
	// exclusive, on its rider (see rider); its id says so (keys.RiderID).
	rides bool
}

// owned is the comparison that holds while the entry is in its line.
func (e *entry) owned() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(e.key), "=", e.rev)
}

// ownOp reads the entry's key, for ownedIn.
func (e *entry) ownOp(opts ...clientv3.OpOption) clientv3.Op {
	return clientv3.OpGet(e.key, append([]clientv3.OpOption{clientv3.WithKeysOnly()}, opts...)...)
}

// ownedIn reports whether a range response holds the entry with create
// revision rev.
func ownedIn(r *etcdserverpb.ResponseOp, rev int64) bool {
	kvs := r.GetResponseRange().GetKvs()
	return len(kvs) == 1 && kvs[0].CreateRevision == rev
}

// yieldKey is the key of the request that the entry's holder yield.
func (e *entry) yieldKey() string {
	k, _ := e.q.layout.YieldRequest(e.key)
	return k
}

// deleteOps deletes the entry and what goes with it: the request that its
// holder yield and, for an admission entry, its rider (see rider).
func (e *entry) deleteOps() []clientv3.Op {
	ops := []clientv3.Op{clientv3.OpDelete(e.key), clientv3.OpDelete(e.yieldKey())}
	if r, ok := e.rider(); ok {
		ops = append(ops, clientv3.OpDelete(r))
	}
	return ops
}

// rider is, for a tenant's admission entry, the key of the caller's entry
// in the lock's own line that rides on it (keys.AdmittedEntry): written by
// the caller once admitted, or by the release that admits it (see
// handover.go), and never there without the admission entry, so that
// whatever removes the admission entry removes it too. No other entry
// uses that key while the admission entry's slot is not free, so a delete
// of it needs no fence.
func (e *entry) rider() (string, bool) {
	if e.q == nil || e.q.of == nil {
		return "", false
	}
	return keys.AdmittedEntry(e.key)
}

// deleteTxn is the one transaction that removes a set of entries, each
// with its yield request, for a release (Leave) and for the cleanup:
// fenced on an entry's create revision where it is known (a key reused
// since, by a later entry of the same slot, is not touched), whatever is
// on the key where it is not. If every fence holds, Then deletes them all
// and runs then (a release's touches); for a set of several, Else removes
// those still there one by one, so that one entry found gone does not keep
// the others, and its responses say which were.
func deleteTxn(txn clientv3.Txn, es []entry, then ...clientv3.Op) clientv3.Txn {
	return deleteTxnIf(txn, es, nil, nil, then...)
}

// deleteTxnIf is deleteTxn for a release of one entry that must also find
// guards holding (see handing); orElse are then Else's reads.
func deleteTxnIf(txn clientv3.Txn, es []entry, guards []clientv3.Cmp, orElse []clientv3.Op, then ...clientv3.Op) clientv3.Txn {
	if len(guards) > 0 {
		if len(es) != 1 || es[0].rev == 0 {
			panic("fairlock: deleteTxnIf guards a release of one entry of known revision")
		}
		return txn.If(append([]clientv3.Cmp{es[0].owned()}, guards...)...).Then(append(es[0].deleteOps(), then...)...).Else(orElse...)
	}
	var fences []clientv3.Cmp
	var all, each, riders []clientv3.Op
	for i := range es {
		e := &es[i]
		all = append(all, e.deleteOps()...)
		if r, ok := e.rider(); ok {
			riders = append(riders, clientv3.OpDelete(r))
		}
		if e.rev == 0 {
			each = append(each, e.deleteOps()...)
			continue
		}
		fences = append(fences, e.owned())
		each = append(each, clientv3.OpTxn([]clientv3.Cmp{e.owned()}, e.deleteOps(), nil))
	}
	if len(fences) > 0 {
		txn = txn.If(fences...)
	}
	txn = txn.Then(append(all, then...)...)
	switch {
	case len(fences) == 0:
	case len(es) > 1:
		txn = txn.Else(append(each, riders...)...)
	case len(riders) > 0:
		// An admission entry found gone (deleted by hand, say) may leave
		// its rider behind; nothing else removes it.
		txn = txn.Else(riders...)
	}
	return txn
}
