package queue

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Ticket is one entry in the line, made by one of the Join, TryJoin or
// Acquire calls. It is safe for concurrent use.
type Ticket struct {
	q           *Queue
	key         string
	slot        int
	rev         int64
	kind        Kind
	limit       int
	joined      time.Time // when the join began
	aheadAtJoin int       // entries ahead at the join; -1 unknown

	mu    sync.Mutex
	value string
	// What the last read saw: the newest entries ahead that block this one
	// (as many as turn.AheadLimit asks for), as of revision readRev; readRev
	// 0 means unknown.
	ahead     []string
	readRev   int64
	granted   bool
	grantedAt time.Time
	left      bool // Leave settled, or the loss was reported: the slot is back
	done      chan struct{}
	closed    bool
	stop      context.CancelFunc // stops the goroutine behind done
	yield     yieldState         // see YieldRequested
}

func newTicket(sp entrySpec, rev int64, joined time.Time, ahead int) *Ticket {
	return &Ticket{q: sp.q, key: sp.key, slot: sp.slot, rev: rev, kind: sp.kind, limit: sp.limit,
		joined: joined, aheadAtJoin: ahead, value: sp.value}
}

// Rev returns the entry's create revision: its place in the line and the
// fencing token of the turn it grants.
func (t *Ticket) Rev() int64 { return t.rev }

// Key returns the entry's etcd key.
func (t *Ticket) Key() string { return t.key }

// Value returns the entry's value, as joined or last set by SetValue.
func (t *Ticket) Value() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.value
}

// Shared reports whether the entry is shared.
func (t *Ticket) Shared() bool { return t.kind == Shared }

// Kind returns the entry's kind.
func (t *Ticket) Kind() Kind { return t.kind }

// Limit returns the semaphore limit of a permit entry, 1 for the others.
func (t *Ticket) Limit() int { return t.limit }

// IsOwner returns a comparison that holds while the entry is in the line
// with its original create revision. Guard writes with it, as in
// Txn(ctx).If(t.IsOwner()).Then(...), so that they fail once the turn is lost.
func (t *Ticket) IsOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// NotOwner returns a comparison that never holds: no key has a negative
// create revision. The primitives' IsOwner returns it when nothing is held,
// so that a fenced write fails rather than going through unguarded.
func NotOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision("\x00fairlock-not-owner"), "<", 0)
}

// Position returns how many entries ahead must leave before this ticket's
// turn comes: 0 means it has come. An exclusive ticket counts every older
// exclusive and shared entry, a shared one only older exclusive entries, a
// permit the older permits beyond the limit's first limit-1. It returns an
// error matching ErrLost when the entry is gone and ErrLeft after Leave. It
// reads, writes nothing and leaves the ticket as it was, whether or not ctx
// ends. Transient errors are retried until ctx ends.
func (t *Ticket) Position(ctx context.Context) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	from, to := t.q.blockRange(t.kind, t.limit)
	var resp *clientv3.TxnResponse
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = t.q.s.Client().Txn(ctx).Then(
			clientv3.OpGet(t.key, clientv3.WithKeysOnly()),
			// Count by hand: etcd's count ignores create-revision filters.
			clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(), clientv3.WithMaxCreateRev(t.rev-1)),
		).Commit()
		return err
	})
	if err != nil {
		return 0, err
	}
	if !ownedIn(resp.Responses[0], t.rev) {
		return 0, t.lost(ctx)
	}
	return max(0, len(resp.Responses[1].GetResponseRange().GetKvs())-t.limit+1), nil
}

// Leave removes the entry from the line with a fenced delete: only if the
// key still has this ticket's create revision. It returns an error matching
// ErrLost, deleting nothing, when the entry was already gone (lease ended,
// or deleted by someone else), and ErrLeft when Leave already settled.
// Transient errors are retried until ctx ends; if a reply was lost and the
// retry finds the entry gone while the session's lease lives, the first
// attempt is taken to have removed it and Leave returns nil. If ctx ends
// before the outcome is known, Leave returns ctx.Err() and the ticket stays
// in the line: call Leave again, or let the session's lease expire.
func (t *Ticket) Leave(ctx context.Context) error {
	if err := t.usable(); err != nil {
		return err
	}
	var resp *clientv3.TxnResponse
	attempts := 0
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		attempts++
		// The request to yield, if any, goes with the entry.
		resp, err = t.q.s.Client().Txn(ctx).If(t.IsOwner()).Then(clientv3.OpDelete(t.key), clientv3.OpDelete(t.yieldKey())).Commit()
		return err
	})
	if isLost(err) {
		if t.settle() {
			t.q.st.giveSlot(t.slot)
			t.reportLoss(err)
		}
		return err
	}
	if err != nil {
		return err
	}
	gone := !resp.Succeeded
	if gone && attempts > 1 && t.leaseAlive(ctx) {
		gone = false // an earlier attempt, whose reply was lost, removed it
	}
	if !t.settle() {
		return ErrLeft // a concurrent Leave settled first
	}
	t.q.st.giveSlot(t.slot) // the entry is gone, either way
	if gone {
		err := t.lost(ctx)
		t.reportLoss(err)
		return err
	}
	if held := t.heldFor(); held >= 0 {
		t.q.hooks().released(ReleaseInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Held: held})
	}
	return nil
}

// Abandon gives the ticket up after a Wait that failed or whose ctx ended,
// as Acquire does: it removes the entry with a fresh context bounded by
// CleanupTimeout and, if etcd cannot be reached in that time, hands the
// removal to the session's cleanup worker, which retries until it succeeds
// or the session ends. The ticket has left the line afterwards (ErrLeft);
// the entry is gone once etcd is reachable. Use Leave instead to learn
// whether the entry was lost.
func (t *Ticket) Abandon(ctx context.Context) {
	if t.usable() == nil {
		t.abandon(ctx)
	}
}

// abandon removes the entry of a call that failed or was cancelled.
func (t *Ticket) abandon(ctx context.Context) {
	if t.settle() {
		t.q.abandon(ctx, t.key, t.slot)
	}
}

// settle marks the ticket as having left the line and closes Done; the
// caller gives the slot back once the entry is known gone. It reports false
// when the ticket had already settled.
func (t *Ticket) settle() bool {
	t.mu.Lock()
	if t.left {
		t.mu.Unlock()
		return false
	}
	t.left = true
	t.closeDoneLocked()
	t.mu.Unlock()
	return true
}

// lost returns the error for this ticket's entry being gone, saying whether
// the lease ended: the session says so, or etcd no longer knows the lease.
func (t *Ticket) lost(ctx context.Context) error {
	return &lostError{name: t.q.Name(), token: t.rev, expired: !t.leaseAlive(ctx)}
}

// leaseAlive asks etcd whether the session's lease still lives; an
// answer that does not come in a second counts as alive.
func (t *Ticket) leaseAlive(ctx context.Context) bool {
	if sessionEnded(t.q.s) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	resp, err := t.q.s.Client().TimeToLive(ctx, t.q.s.Lease())
	return err != nil || resp.TTL > 0
}

// reportLoss tells the hooks and the log that the entry is gone.
func (t *Ticket) reportLoss(err error) {
	t.mu.Lock()
	granted, at := t.granted, t.grantedAt
	t.mu.Unlock()
	var held time.Duration
	if granted {
		held = time.Since(at)
	}
	t.q.hooks().lost(LossInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Granted: granted, Held: held, Reason: err})
	t.q.logLoss(t, err)
}

// grant records that the ticket's turn has come, once.
func (t *Ticket) grant() {
	t.mu.Lock()
	if t.granted {
		t.mu.Unlock()
		return
	}
	t.granted, t.grantedAt = true, time.Now()
	t.mu.Unlock()
	t.q.hooks().granted(GrantInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind,
		Wait: t.grantedAt.Sub(t.joined), Ahead: t.aheadAtJoin})
}

// heldFor is how long the ticket has been granted; -1 if it never was.
func (t *Ticket) heldFor() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.granted {
		return -1
	}
	return time.Since(t.grantedAt)
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

func (t *Ticket) setRead(ahead []string, rev int64) {
	t.mu.Lock()
	t.ahead, t.readRev = ahead, rev
	t.mu.Unlock()
}

func (t *Ticket) lastRead() (ahead []string, rev int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ahead, t.readRev
}

// retry is Queue.retry for a call on the ticket's entry: the session
// ending means the entry is gone with its lease, which is ErrLost too.
func (t *Ticket) retry(ctx context.Context, op func(context.Context) error) error {
	err := t.q.retry(ctx, op)
	if err == ErrSessionExpired {
		return &lostError{name: t.q.Name(), token: t.rev, expired: true}
	}
	return err
}

// ownedIn reports whether a range response holds the entry with create
// revision rev.
func ownedIn(r *etcdserverpb.ResponseOp, rev int64) bool {
	kvs := r.GetResponseRange().GetKvs()
	return len(kvs) == 1 && kvs[0].CreateRevision == rev
}
