package queue

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchEvent is what a key watch reports.
type watchEvent struct {
	key     string
	created bool  // the watch is in place, as of rev
	deleted bool  // the key was deleted, at rev
	put     bool  // the key was written, at rev
	broken  bool  // the watch ended (no leader, compaction, client closing)
	rev     int64 // see above
}

// watchKey is the one way fairlock watches a key: from "now", never from a
// past revision, because etcd serves a watch that starts at or below its
// current revision from a loop that runs every 100 ms, and every handoff
// would wait for it. Such a watch covers only what happens after its
// created revision, which it reports first, so the caller can read once to
// cover the gap. It sends what happens to key to out until ctx ends, and a
// broken event if the watch ends before. opts may filter events out:
// watchers that only care about a delete say so, so that etcd does not send
// them every put (a permit's touch, an election's Proclaim).
func watchKey(ctx context.Context, cli *clientv3.Client, key string, out chan<- watchEvent, opts ...clientv3.OpOption) {
	send := func(ev watchEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for resp := range cli.Watch(clientv3.WithRequireLeader(ctx), key, append([]clientv3.OpOption{clientv3.WithCreatedNotify()}, opts...)...) {
		if resp.Canceled || resp.Err() != nil {
			break
		}
		if resp.Created {
			if !send(watchEvent{key: key, created: true, rev: resp.Header.Revision}) {
				return
			}
			continue
		}
		for _, ev := range resp.Events {
			e := watchEvent{key: key, rev: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypeDelete {
				e.deleted = true
			} else {
				e.put = true
			}
			if !send(e) {
				return
			}
		}
	}
	send(watchEvent{key: key, broken: true})
}
