package queue

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// watchEvent is what a key watch reports.
type watchEvent struct {
	key     string
	created bool  // the watch is in place, as of rev
	deleted bool  // the key was deleted, at rev
	put     bool  // the key was written, at rev
	broken  bool  // the watch ended (no leader, compaction, client closing)
	rev     int64 // see above
	err     error // why it broke, when etcd said (a refusal: see watchKey)
}

// watchKey is the one way fairlock watches a key: from "now", never from a
// past revision, because etcd serves a watch that starts at or below its
// current revision from a loop that runs every 100 ms, and every handoff
// would wait for it. Such a watch covers only what happens after its
// created revision, which it reports first, so the caller can read once to
// cover the gap. It sends what happens to key to out until ctx ends, and a
// broken event if the watch ends before, with etcd's reason. opts may
// filter events out: watchers that only care about a delete say so, so
// that etcd does not send them every put (a permit's touch, an election's
// Proclaim).
//
// A watch that etcd refuses (see package internal/etcderr) is tried once
// more on a stream of its own, with a fresh auth token (a stream's token
// may be stale: etcderr.FreshStream); a refusal there too is final, and
// the broken event carries it, for the caller to give up rather than watch
// again.
func watchKey(ctx context.Context, cli *clientv3.Client, key string, out chan<- watchEvent, opts ...clientv3.OpOption) {
	send := func(ev watchEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	opts = append([]clientv3.OpOption{clientv3.WithCreatedNotify()}, opts...)
	err := followKey(ctx, cli, key, send, opts)
	if ctx.Err() == nil && etcderr.IsRefused(err) {
		err = followKey(etcderr.FreshStream(ctx), cli, key, send, opts)
	}
	if ctx.Err() == nil {
		send(watchEvent{key: key, broken: true, err: err})
	}
}

// followKey follows one watch of key until it ends or ctx does, and
// returns etcd's reason for its end, if it gave one.
func followKey(ctx context.Context, cli *clientv3.Client, key string, send func(watchEvent) bool, opts []clientv3.OpOption) error {
	for resp := range cli.Watch(clientv3.WithRequireLeader(ctx), key, opts...) {
		if resp.Canceled || resp.Err() != nil {
			return resp.Err()
		}
		if resp.Created {
			if !send(watchEvent{key: key, created: true, rev: resp.Header.Revision}) {
				return nil
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
				return nil
			}
		}
	}
	return nil
}
