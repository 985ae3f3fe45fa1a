package queue

import (
	"context"
	"log/slog"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// quarantine watches a quarantined slot's key for the rest of the session
// and removes any entry that appears there: a write of it whose outcome
// was unknown may be applied at any later time (a proposal etcd had taken
// before the call gave up), and would otherwise hold a place in the line
// that nobody owns. One watch per quarantined slot, from now on, covered by
// a read once it is in place, as every watch of this package. A watch or
// read that etcd refuses for good ends it (logged): watching again every
// 50 ms would change nothing, and an entry a late write puts there stays
// until the session ends.
func (sl *slots) quarantine(q *Queue, key string) {
	sl.mu.Lock()
	if sl.watched[key] || sl.ctx.Err() != nil {
		sl.mu.Unlock()
		return
	}
	if sl.watched == nil {
		sl.watched = map[string]bool{}
	}
	sl.watched[key] = true
	sl.mu.Unlock()
	go sl.watchQuarantined(q, key)
}

// watchQuarantined is quarantine's watch of key.
func (sl *slots) watchQuarantined(q *Queue, key string) {
	err := followKey(sl.ctx, sl.cli, key, func(ctx context.Context, ev watchEvent) (bool, error) {
		switch {
		case ev.put:
			sl.removeStray(q, key, ev.rev)
		case ev.created: // read what came before
			get, err := sl.cli.Get(ctx, key, clientv3.WithKeysOnly())
			if err != nil {
				return false, err
			}
			for _, kv := range get.Kvs {
				sl.removeStray(q, key, kv.CreateRevision)
			}
		}
		return false, nil
	})
	if err != nil {
		q.log(slog.LevelError, "etcd refuses to watch a slot taken out of use: stopped watching it",
			slog.String("key", key), slog.Any("err", err))
	}
}

// removeStray hands the entry at key, created at rev, to the cleanup. It
// is on no slot: the quarantined one stays quarantined.
func (sl *slots) removeStray(q *Queue, key string, rev int64) {
	q.log(slog.LevelWarn, "removing an entry written late by a call that gave up",
		slog.String("key", key), slog.Int64("token", rev))
	sl.cleanup.abandon(entry{q: q, key: key, slot: -1, rev: rev})
}
