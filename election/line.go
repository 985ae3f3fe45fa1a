package election

import (
	"cmp"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// apply returns the line of candidates (entries in create-revision order,
// the leader first) after evs, the events of one revision, and whether its
// head changed: another leader, no leader any more, or the leader's value.
// It leaves line as it was.
//
// One revision at a time, because a transaction's events share its
// revision and only the line between transactions is a state the store
// was ever in: Rotate's delete and put are one change of leader, not a
// moment with the old leader gone and no new one.
func apply(line []Leader, evs []*clientv3.Event) ([]Leader, bool) {
	next := slices.Clone(line)
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		i := slices.IndexFunc(next, func(l Leader) bool { return l.Key == key })
		switch ev.Type {
		case mvccpb.DELETE:
			if i >= 0 {
				next = slices.Delete(next, i, i+1)
			}
		case mvccpb.PUT:
			c := Leader{Value: string(ev.Kv.Value), Token: ev.Kv.CreateRevision, Key: key, Lease: clientv3.LeaseID(ev.Kv.Lease)}
			if i >= 0 && next[i].Token == c.Token { // a new value (Proclaim)
				next[i] = c
				continue
			}
			if i >= 0 { // the key was re-created: a new entry
				next = slices.Delete(next, i, i+1)
			}
			// Usually the tail, but several lines joined in one
			// transaction can hold entries older than a newer put's.
			j, _ := slices.BinarySearchFunc(next, c.Token,
				func(l Leader, token int64) int { return cmp.Compare(l.Token, token) })
			next = slices.Insert(next, j, c)
		}
	}
	return next, head(line) != head(next)
}

// head returns the leader of line, the zero Leader when it is empty.
func head(line []Leader) Leader {
	if len(line) == 0 {
		return Leader{}
	}
	return line[0]
}

// byRevision splits events, in revision order as a watch delivers them,
// into runs of one revision each. A watch response can carry several
// revisions (when it catches up), and every one of them may change the
// leader.
func byRevision(evs []*clientv3.Event) [][]*clientv3.Event {
	var runs [][]*clientv3.Event
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].Kv.ModRevision == evs[i].Kv.ModRevision {
			j++
		}
		runs = append(runs, evs[i:j])
		i = j
	}
	return runs
}
