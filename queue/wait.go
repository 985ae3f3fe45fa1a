package queue

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Wait blocks until no entry ahead of the ticket blocks it: for an exclusive
// ticket, until it is the oldest entry in the line; for a shared one, until
// no older exclusive entry remains. It returns at once if that is already so.
//
// While it waits it watches two keys: the newest entry that blocks the ticket
// (so a release wakes only the waiter behind it) and the ticket's own (so a
// lost entry is noticed at once). It returns ErrLost when the entry goes
// (joined with ErrSessionExpired when the session ended), and ErrLeft after
// Leave. A ticket found at the head of the line by its join or an earlier
// Wait returns at once without asking etcd again. When ctx ends it returns
// ctx.Err() and leaves the entry in the line, holding its place: call Wait
// again, or Leave. Transient etcd errors are retried until ctx ends.
func (t *Ticket) Wait(ctx context.Context) error {
	if err := t.usable(); err != nil {
		return err
	}
	blocker, readRev := t.lastRead()
	if readRev != 0 && blocker == "" {
		// At the head when last read: no watch, no read (this is the
		// one-round-trip uncontended Lock), unless the entry is known gone.
		if t.knownGone() || sessionEnded(t.q.s) {
			return t.q.lostErr()
		}
		return nil
	}
	w := waiter{t: t, cli: t.q.s.Client(), blocker: blocker, readRev: readRev}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer w.stopBlockerWatch()
	defer cancel()
	return w.run(ctx, wctx)
}

// waiter is the state of one Wait call.
type waiter struct {
	t   *Ticket
	cli *clientv3.Client

	blocker string // newest blocking entry as of readRev ("" for none)
	readRev int64  // revision of the last read; 0 before the first

	own, blocked  clientv3.WatchChan
	watched       string // key behind blocked
	stopBlocked   context.CancelFunc
	ownPending    bool  // own has not sent its created reply yet
	blockPending  bool  // blocked has not sent its created reply yet
	maxCreatedRev int64 // newest created revision seen
	needRead      bool
	// The next read must reflect at least this revision (0: any). Knowing
	// it lets the read be served by the member the client talks to, without
	// a round to the leader (see read).
	needRev int64
}

func (w *waiter) run(ctx, wctx context.Context) error {
	w.needRead = w.readRev == 0
	w.startOwnWatch(wctx)
	for {
		if w.needRead {
			if err := w.read(ctx); err != nil {
				return err
			}
			if w.blocker == "" {
				w.t.setBlocker("", w.readRev)
				return nil
			}
		}
		if w.blocked == nil || w.watched != w.blocker {
			w.startBlockerWatch(wctx)
		}
		if err := w.next(ctx, wctx); err != nil {
			return err
		}
	}
}

// next waits for one thing to happen and records what it means.
func (w *waiter) next(ctx, wctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.t.q.s.Done():
		return ErrSessionExpired
	case resp, ok := <-w.own:
		if !ok || resp.Canceled || resp.Err() != nil {
			if err := w.cli.Ctx().Err(); err != nil {
				return err // the client was closed
			}
			w.startOwnWatch(wctx) // broken (no leader, compaction): start over
			return nil
		}
		if resp.Created {
			w.ownPending = false
			w.created(resp.Header.Revision)
			return nil
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return w.t.q.lostErr()
			}
		}
	case resp, ok := <-w.blocked:
		if !ok || resp.Canceled || resp.Err() != nil {
			w.stopBlockerWatch()
			w.needRead = true
			return nil
		}
		if resp.Created {
			w.blockPending = false
			w.created(resp.Header.Revision)
			return nil
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				w.needRead = true
				w.needRev = max(w.needRev, ev.Kv.ModRevision)
			}
		}
	}
	return nil
}

// created handles a watch's created reply. A watch made without a start
// revision (so that etcd serves it at once, not from its 100 ms resync loop)
// covers only what happens after its created revision; if that is newer than
// the last read, a release in between could be missed, so read again.
// Waiting for both created replies first saves a read when they come
// close together, as they usually do.
func (w *waiter) created(rev int64) {
	w.maxCreatedRev = max(w.maxCreatedRev, rev)
	if !w.ownPending && !w.blockPending && w.maxCreatedRev > w.readRev {
		w.needRead = true
		w.needRev = max(w.needRev, w.maxCreatedRev)
	}
}

// read finds the newest entry that blocks the ticket and checks, in the same
// read-only transaction, that the ticket's own entry is still there.
//
// When the read only has to reflect a known revision (that of the delete
// that woke the waiter, or of the watches' creation), it is serializable:
// the member the client talks to answers from its own store, which is as
// good as a linearizable read once that store has reached the revision, and
// spares a round to the leader on the handoff path. Entries older than the
// ticket can only disappear, never appear, so a state at or after that
// revision is a valid answer. A member that is behind gets a linearizable
// read instead.
func (w *waiter) read(ctx context.Context) error {
	resp, err := w.readAt(ctx, w.needRev > 0)
	if err == nil && resp.Header.Revision < w.needRev {
		resp, err = w.readAt(ctx, false)
	}
	if err != nil {
		return err
	}
	if !ownedIn(resp.Responses[0], w.t.rev) {
		return w.t.q.lostErr()
	}
	w.blocker = newestOther(resp.Responses[1].GetResponseRange().GetKvs(), w.t.key)
	w.readRev = resp.Header.Revision
	w.needRead = false
	w.needRev = 0
	return nil
}

func (w *waiter) readAt(ctx context.Context, serializable bool) (resp *clientv3.TxnResponse, err error) {
	blockers, opts := w.t.q.blockers(w.t.shared)
	own := []clientv3.OpOption{clientv3.WithKeysOnly()}
	opts = append(opts, clientv3.WithKeysOnly(), clientv3.WithLimit(1), clientv3.WithMaxCreateRev(w.t.rev-1),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend))
	if serializable {
		own = append(own, clientv3.WithSerializable())
		opts = append(opts, clientv3.WithSerializable())
	}
	err = retry(ctx, w.t.q.s, func(ctx context.Context) (err error) {
		resp, err = w.cli.Txn(ctx).Then(clientv3.OpGet(w.t.key, own...), clientv3.OpGet(blockers, opts...)).Commit()
		return err
	})
	return resp, err
}

func (w *waiter) startOwnWatch(wctx context.Context) {
	w.own = w.cli.Watch(wctx, w.t.key, clientv3.WithCreatedNotify(), clientv3.WithFilterPut())
	w.ownPending = true
}

func (w *waiter) startBlockerWatch(wctx context.Context) {
	w.stopBlockerWatch()
	ctx, cancel := context.WithCancel(wctx)
	w.blocked = w.cli.Watch(ctx, w.blocker, clientv3.WithCreatedNotify(), clientv3.WithFilterPut())
	w.watched, w.stopBlocked = w.blocker, cancel
	w.blockPending = true
}

func (w *waiter) stopBlockerWatch() {
	if w.stopBlocked != nil {
		w.stopBlocked()
		w.stopBlocked, w.blocked, w.watched = nil, nil, ""
		w.blockPending = false
	}
}
