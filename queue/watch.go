package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// brokenWatchPause is how long a watcher waits before watching again after
// a watch broke (no leader, compaction, a reconnection): a member without
// a leader refuses a watch at once, so a watcher must not spin.
const brokenWatchPause = 50 * time.Millisecond

// watchEvent is what a key watch reports.
type watchEvent struct {
	key     string
	created bool   // the watch is in place, as of rev
	deleted bool   // the key was deleted, at rev
	put     bool   // the key was written, at rev, with value
	broken  bool   // the watch ended (no leader, compaction, client closing)
	rev     int64  // see above
	value   []byte // a put's value
}

// watchKey is how the engine watches a key (a waiter its entries ahead, a
// quarantined slot its key, a holder its request to yield): from "now",
// as every watch of fairlock (see "Watches start now" in the package doc).
// Such a watch covers only what happens after its created revision, which
// it reports first, so the caller can read once to cover the gap. It sends
// what happens to key to out until ctx ends, and a broken event if the
// watch ends before. opts may filter events out: watchers that only care
// about a delete say so, so that etcd does not send them every put (a
// permit's touch, an election's Proclaim). (Done's watches share one
// stream per session instead, package internal/watchmux.)
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
	for resp := range cli.Watch(clientv3.WithRequireLeader(ctx), key, opts...) {
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
				e.put, e.value = true, ev.Kv.Value
			}
			if !send(e) {
				return
			}
		}
	}
	send(watchEvent{key: key, broken: true})
}

// followKey watches key until ctx ends or on reports it is done, watching
// again after a break. on gets every event but breaks: a created one
// (then on reads what came before), and the others opts let through; an
// error from it (a failed read) breaks the watch too.
func followKey(ctx context.Context, cli *clientv3.Client, key string,
	on func(ctx context.Context, ev watchEvent) (done bool, err error), opts ...clientv3.OpOption) {
	for ctx.Err() == nil {
		if followOnce(ctx, cli, key, on, opts) {
			return
		}
		pause := time.NewTimer(brokenWatchPause)
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
	}
}

// followOnce follows one watch of key: true once on is done, false when
// the watch broke or ctx ended.
func followOnce(ctx context.Context, cli *clientv3.Client, key string,
	on func(ctx context.Context, ev watchEvent) (bool, error), opts []clientv3.OpOption) bool {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan watchEvent)
	go watchKey(wctx, cli, key, events, opts...)
	for {
		var ev watchEvent
		select {
		case <-wctx.Done():
			return false
		case ev = <-events:
		}
		if ev.broken {
			return false
		}
		done, err := on(wctx, ev)
		if done || err != nil {
			return done
		}
	}
}
