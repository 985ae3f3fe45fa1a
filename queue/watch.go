package queue

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
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
	err     error  // why it broke, when etcd said (a refusal: see watchKey)
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
	err := watchOnce(ctx, cli, key, send, opts)
	if ctx.Err() == nil && etcderr.IsRefused(err) {
		err = watchOnce(etcderr.FreshStream(ctx), cli, key, send, opts)
	}
	if ctx.Err() == nil {
		send(watchEvent{key: key, broken: true, err: err})
	}
}

// watchOnce follows one watch of key until it ends or ctx does, and
// returns etcd's reason for its end, if it gave one.
func watchOnce(ctx context.Context, cli *clientv3.Client, key string, send func(watchEvent) bool,
	opts []clientv3.OpOption) error {
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
				e.put, e.value = true, ev.Kv.Value
			}
			if !send(e) {
				return nil
			}
		}
	}
	return nil
}

// followKey watches key until ctx ends or on reports it is done, watching
// again after a break. on gets every event but breaks: a created one
// (then on reads what came before), and the others opts let through; an
// error from it (a failed read) breaks the watch too. A refusal no retry
// mends (of the watch, after watchKey's retry on a fresh stream, or of on's
// read) ends it: followKey returns the refusal, nil otherwise.
func followKey(ctx context.Context, cli *clientv3.Client, key string,
	on func(ctx context.Context, ev watchEvent) (done bool, err error), opts ...clientv3.OpOption) error {
	for ctx.Err() == nil {
		done, err := followOnce(ctx, cli, key, on, opts)
		switch {
		case done:
			return nil
		case etcderr.IsRefused(err):
			return err // watching again every 50 ms would change nothing
		}
		pause := time.NewTimer(brokenWatchPause)
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
	}
	return nil
}

// followOnce follows one watch of key: true once on is done, false when
// the watch broke (with why, if etcd or on's read said) or ctx ended.
func followOnce(ctx context.Context, cli *clientv3.Client, key string,
	on func(ctx context.Context, ev watchEvent) (bool, error), opts []clientv3.OpOption) (bool, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan watchEvent)
	go watchKey(wctx, cli, key, events, opts...)
	for {
		var ev watchEvent
		select {
		case <-wctx.Done():
			return false, nil
		case ev = <-events:
		}
		if ev.broken {
			return false, ev.err
		}
		done, err := on(wctx, ev)
		if done || err != nil {
			return done, err
		}
	}
}
