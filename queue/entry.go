package queue

import (
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
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

// deleteOps deletes the entry and the request that its holder yield, which
// goes with it.
func (e *entry) deleteOps() []clientv3.Op {
	return []clientv3.Op{clientv3.OpDelete(e.key), clientv3.OpDelete(e.yieldKey())}
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
	var fences []clientv3.Cmp
	var all, each []clientv3.Op
	for i := range es {
		e := &es[i]
		all = append(all, e.deleteOps()...)
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
	if len(es) > 1 && len(fences) > 0 {
		txn = txn.Else(each...)
	}
	return txn
}
