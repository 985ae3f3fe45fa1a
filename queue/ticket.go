package queue

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Ticket is one entry in the line, made by Join, JoinShared, TryJoin,
// TryJoinShared, Acquire or AcquireShared. It is safe for concurrent use.
type Ticket struct {
	q      *Queue
	key    string
	value  string
	rev    int64
	shared bool

	mu sync.Mutex
	// What the last read saw: the newest entry blocking this one ("" for
	// none) as of revision readRev. readRev 0 means unknown.
	blocker string
	readRev int64
	left    bool
	done    chan struct{} // made on the first call to Done
	closed  bool
	stop    context.CancelFunc // stops the goroutine behind done
}

// Rev returns the entry's create revision: its place in the line and the
// fencing token of the turn it grants.
func (t *Ticket) Rev() int64 { return t.rev }

// Key returns the entry's etcd key.
func (t *Ticket) Key() string { return t.key }

// Value returns the value the entry was joined with.
func (t *Ticket) Value() string { return t.value }

// Shared reports whether the entry is shared.
func (t *Ticket) Shared() bool { return t.shared }

// IsOwner returns a comparison that holds while the entry is in the line
// with its original create revision. Guard writes with it, as in
// Txn(ctx).If(t.IsOwner()).Then(...), so that they fail once the turn is lost.
func (t *Ticket) IsOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// Position returns how many entries ahead of this one block it: 0 means it is
// this ticket's turn. An exclusive ticket counts every older entry, a shared
// one only older exclusive entries. It returns ErrLost when the entry is gone
// and ErrLeft after Leave. It reads, writes nothing and leaves the ticket as
// it was, whether or not ctx ends.
func (t *Ticket) Position(ctx context.Context) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	blockers, opts := t.q.blockers(t.shared)
	resp, err := t.q.s.Client().Txn(ctx).Then(
		clientv3.OpGet(t.key, clientv3.WithKeysOnly()),
		// Count by hand: etcd's count ignores create-revision filters.
		clientv3.OpGet(blockers, append(opts, clientv3.WithKeysOnly(), clientv3.WithMaxCreateRev(t.rev-1))...),
	).Commit()
	if err != nil {
		return 0, err
	}
	if !ownedIn(resp.Responses[0], t.rev) {
		return 0, t.q.lostErr()
	}
	return len(resp.Responses[1].GetResponseRange().GetKvs()), nil
}

// Leave removes the entry from the line with a fenced delete: only if the key
// still has this ticket's create revision. It returns ErrLost, deleting
// nothing, when the entry was already gone (lease expired, or deleted by
// someone else); ErrLeft when Leave already succeeded or reported the loss.
// If ctx ends or etcd fails before the outcome is known, Leave returns that
// error and the ticket stays in the line: call Leave again, or let the
// session's lease expire.
func (t *Ticket) Leave(ctx context.Context) error {
	if err := t.usable(); err != nil {
		return err
	}
	resp, err := t.q.s.Client().Txn(ctx).
		If(t.IsOwner()).
		Then(clientv3.OpDelete(t.key)).
		Commit()
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.left = true
	t.closeDoneLocked()
	t.mu.Unlock()
	if !resp.Succeeded {
		return t.q.lostErr()
	}
	return nil
}

// Done returns a channel that is closed when the entry leaves the line for
// any reason: Leave, the session ending, or the key deleted by someone else.
// The first call starts a watch on the entry's key, which ends with the
// entry.
func (t *Ticket) Done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = make(chan struct{})
		if t.left || t.q == nil || sessionEnded(t.q.s) {
			t.closeDoneLocked()
		} else {
			// The session's context ends with the session: so does the watch.
			ctx, cancel := context.WithCancel(t.q.s.Ctx())
			t.stop = cancel
			go t.watchEntry(ctx)
		}
	}
	return t.done
}

// watchEntry closes t.done once the entry is gone.
func (t *Ticket) watchEntry(ctx context.Context) {
	defer t.closeDone()
	cli := t.q.s.Client()
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		gone := t.watchUntilGone(wctx, cli)
		cancel()
		if gone {
			return
		}
		select { // the watch broke (no leader, compaction): pause, then watch again
		case <-ctx.Done(): // Leave, or the session ended
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchUntilGone watches the entry and reports true once it is surely gone,
// false when the watch broke first.
func (t *Ticket) watchUntilGone(ctx context.Context, cli *clientv3.Client) bool {
	wch := cli.Watch(ctx, t.key, clientv3.WithCreatedNotify(), clientv3.WithFilterPut())
	for {
		select {
		case <-ctx.Done():
			return false
		case resp, ok := <-wch:
			if !ok || resp.Canceled || resp.Err() != nil {
				return false
			}
			if resp.Created {
				// The watch covers what happens from now on; read once to
				// learn whether the entry went before that.
				get, err := cli.Get(ctx, t.key, clientv3.WithKeysOnly())
				if err != nil {
					return false
				}
				if len(get.Kvs) == 0 || get.Kvs[0].CreateRevision != t.rev {
					return true
				}
				continue
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return true
				}
			}
		}
	}
}

func (t *Ticket) closeDone() {
	t.mu.Lock()
	t.closeDoneLocked()
	t.mu.Unlock()
}

func (t *Ticket) closeDoneLocked() {
	if t.stop != nil {
		t.stop()
	}
	if t.done != nil && !t.closed {
		t.closed = true
		close(t.done)
	}
}

func (t *Ticket) usable() error {
	if t == nil || t.q == nil || t.q.s == nil {
		return ErrUninitialized
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.left {
		return ErrLeft
	}
	return nil
}

// knownGone reports whether Done has seen the entry go.
func (t *Ticket) knownGone() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *Ticket) setBlocker(key string, rev int64) {
	t.mu.Lock()
	t.blocker, t.readRev = key, rev
	t.mu.Unlock()
}

func (t *Ticket) lastRead() (blocker string, rev int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blocker, t.readRev
}

// ownedIn reports whether a range response holds the entry with create
// revision rev.
func ownedIn(r *etcdserverpb.ResponseOp, rev int64) bool {
	kvs := r.GetResponseRange().GetKvs()
	return len(kvs) == 1 && kvs[0].CreateRevision == rev
}
