package queue

import (
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/turn"
)

// blockRange is the key range [from, to) of the entries that block one of
// the given kind: for an exclusive entry every exclusive and shared entry
// (permits live apart), for a shared one the exclusive entries, for a
// permit the permits of its limit. With WithEtcdMutexInterop, the keys of
// etcd's own Mutex on the name (and so, as for etcd's Mutex, every key
// under the name) block exclusive and shared entries too.
func (q *Queue) blockRange(kind Kind, limit int) (from, to string) {
	l := q.layout
	switch kind {
	case Permit:
		return l.PermitPrefix(limit), keys.PrefixEnd(l.PermitPrefix(limit))
	case Shared:
		from = l.ExclusivePrefix()
	default:
		from = l.SharedPrefix()
	}
	if q.cfg.etcdInterop {
		return from, keys.PrefixEnd(l.EtcdMutexPrefix())
	}
	return from, keys.PrefixEnd(l.ExclusivePrefix())
}

// lineOp is the one read of the entries that block e (its blockRange):
// their keys only, narrowed by opts (a limit, a sort, revision bounds).
func (e *entry) lineOp(opts ...clientv3.OpOption) clientv3.Op {
	from, to := e.q.blockRange(e.kind, e.limit)
	return clientv3.OpGet(from, append([]clientv3.OpOption{clientv3.WithRange(to), clientv3.WithKeysOnly()}, opts...)...)
}

// aheadOp reads the newest n entries that block e, newest first: what
// turn.Decide needs (n is turn.AheadLimit, and more where the read sees e's
// own write and those beside it). opts narrow it further.
func (e *entry) aheadOp(n int, opts ...clientv3.OpOption) clientv3.Op {
	return e.lineOp(append([]clientv3.OpOption{clientv3.WithLimit(int64(n)),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)}, opts...)...)
}

// olderOp reads what turn.Decide needs of the entries older than e: the
// newest turn.AheadLimit of those that block it. opts narrow it further.
func (e *entry) olderOp(opts ...clientv3.OpOption) clientv3.Op {
	return e.aheadOp(turn.AheadLimit(e.limit), append(opts[:len(opts):len(opts)], clientv3.WithMaxCreateRev(e.rev-1))...)
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

// weightOf is the weight of the entry at key: a permit's, from its key; 1
// for every other entry (and for keys fairlock did not write, such as etcd
// Mutex keys met with WithEtcdMutexInterop).
func weightOf(key string) int {
	if p, err := keys.Parse(key); err == nil {
		return p.Weight
	}
	return 1
}

// otherLimits returns, for a permit, the guards that no permit of another
// limit is in its line, and the reads that tell, in Else, that one is.
func (e *entry) otherLimits() (guards []clientv3.Cmp, reads []clientv3.Op) {
	if e.kind != Permit {
		return nil, nil
	}
	for _, r := range e.q.layout.OtherLimits(e.limit) {
		guards = append(guards, clientv3.Compare(clientv3.CreateRevision(r[0]), "=", 0).WithRange(r[1]))
		reads = append(reads, clientv3.OpGet(r[0], clientv3.WithRange(r[1]), clientv3.WithKeysOnly(), clientv3.WithLimit(1)))
	}
	return guards, reads
}

// limitMismatch reports whether Else's reads from otherLimits found a
// permit of another limit.
func limitMismatch(reads []*etcdserverpb.ResponseOp) bool {
	for _, r := range reads {
		if len(r.GetResponseRange().GetKvs()) > 0 {
			return true
		}
	}
	return false
}
