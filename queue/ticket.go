package queue

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
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
	weight      int
	tainted     bool      // a write of its slot had an unknown outcome (see releaseSlot)
	joined      time.Time // when the join began
	aheadAtJoin int       // entries ahead at the join; -1 unknown
	ended       chan struct{}

	mu    sync.Mutex
	value string
	// What the last read saw: the newest entries ahead that block this one
	// (as many as turn.AheadLimit asks for), as of revision readRev; readRev
	// 0 means unknown.
	ahead     []turn.Ahead
	readRev   int64
	state     state
	grantedAt time.Time
	// leaving: a Leave is under way, so a delete of the entry seen
	// meanwhile is probably its own (goneSeen records one).
	leaving, goneSeen bool
	loss              error // why it was lost, once lost
	lossReported      bool  // a Leave has reported the loss: ErrLeft from then on
	done              chan struct{}
	closed            bool
	stop              context.CancelFunc // stops the goroutines behind done
	yield             yieldState         // see YieldRequested
}

// state is where a ticket is in its life. It moves forward only: waiting,
// then granted, then one of the ends; end is the one way into an end.
type state uint8

const (
	waiting   state = iota
	granted         // its turn came
	left            // removed by its owner (Leave, Requeue)
	lost            // found gone without its owner removing it
	abandoned       // given up; the cleanup worker removes the entry
)

func newTicket(sp entrySpec, rev int64, joined time.Time, ahead int, tainted bool) *Ticket {
	return &Ticket{q: sp.q, key: sp.key, slot: sp.slot, rev: rev, kind: sp.kind, limit: sp.limit, weight: sp.weight,
		tainted: tainted, joined: joined, aheadAtJoin: ahead, value: sp.value, ended: make(chan struct{})}
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

// Weight returns the weight of a permit entry, 1 for the others.
func (t *Ticket) Weight() int { return t.weight }

// IsOwner returns a comparison that holds while the entry is in the line
// with its original create revision. Guard writes with it, as in
// Txn(ctx).If(t.IsOwner()).Then(...), so that they fail once the turn is lost.
func (t *Ticket) IsOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// NotOwner returns a comparison that never holds: no key has a negative
// create revision. It names a key outside every lock's prefix
// ("\x00fairlock-not-owner"), and etcd refuses a whole transaction that
// compares a key the user may not read: under etcd's auth, a user needs
// read access to that key for a transaction with it to fail quietly
// (Succeeded == false) rather than with "permission denied". The
// primitives use Queue.NotOwner instead, which stays inside the lock's own
// keys; NotOwner is for callers that have no lock name at hand.
func NotOwner() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision("\x00fairlock-not-owner"), "<", 0)
}

// NotOwner returns a comparison that never holds, on a key of the lock's
// own (NAME/., which no entry ever has): the IsOwner of a primitive that
// holds nothing, so that a fenced write fails (Succeeded == false, no
// error) rather than going through unguarded, for any user who may read
// the lock's keys, NAME/ and everything under it. On a zero Queue it is
// the package's NotOwner.
func (q *Queue) NotOwner() clientv3.Cmp {
	if q == nil || q.st == nil {
		return NotOwner()
	}
	return clientv3.Compare(clientv3.CreateRevision(q.layout.Line()), "<", 0)
}

// Position returns how many entries must leave (or, for a permit, be let
// in) before this ticket's turn comes: 0 means it has come. An exclusive
// ticket counts every older exclusive and shared entry, a shared one only
// older exclusive entries, a permit the permits waiting ahead of it plus
// one. It returns an error matching ErrLost when the entry is gone and
// ErrLeft after Leave. It reads, writes nothing and leaves the ticket as it
// was, whether or not ctx ends. Transient errors are retried until ctx ends.
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
			clientv3.OpGet(from, clientv3.WithRange(to), clientv3.WithKeysOnly(), clientv3.WithMaxCreateRev(t.rev-1),
				clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend)),
		).Commit()
		return err
	})
	if err != nil {
		return 0, err
	}
	if !ownedIn(resp.Responses[0], t.rev) {
		return 0, t.observeGone(ctx, false)
	}
	kvs := resp.Responses[1].GetResponseRange().GetKvs()
	weights := make([]int, len(kvs))
	for i, kv := range kvs {
		weights[i] = weightOf(string(kv.Key))
	}
	return turn.Position(t.limit, t.weight, weights), nil
}

// Leave removes the entry from the line with a fenced delete: only if the
// key still has this ticket's create revision. It returns an error matching
// ErrLost, deleting nothing, when the entry was already gone (lease ended,
// or deleted by someone else), and ErrLeft when the ticket has already
// left (Leave, Abandon) or a Leave of it is under way. A permit's Leave
// also tells the waiters its leaving lets in, in the same transaction, so
// that their successors wake (see package semaphore's doc). Transient errors are retried until ctx ends; if a
// reply was lost and the retry finds the entry gone while the session's
// lease lives, the first attempt is taken to have removed it and Leave
// returns nil. If ctx ends before the outcome is known, Leave returns
// ctx.Err() and the ticket stays in the line: call Leave again, or let the
// session's lease expire.
func (t *Ticket) Leave(ctx context.Context) error {
	if err := t.beginLeave(); err != nil {
		return err
	}
	touches := t.letIn(ctx)
	var resp *clientv3.TxnResponse
	attempts := 0
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		attempts++
		// The request to yield, if any, goes with the entry.
		resp, err = t.q.s.Client().Txn(ctx).If(t.IsOwner()).
			Then(append([]clientv3.Op{clientv3.OpDelete(t.key), clientv3.OpDelete(t.yieldKey())}, touches...)...).
			Commit()
		return err
	})
	switch {
	case isLost(err):
		t.end(lost, err)
		t.markLossReported()
		return err
	case err != nil:
		if t.abortLeave() {
			return nil
		}
		return err
	case resp.Succeeded:
		t.end(left, nil)
		return nil
	case attempts > 1 && t.leaseAlive(ctx):
		t.end(left, nil) // an earlier attempt, whose reply was lost, removed it
		return nil
	default:
		err := t.lost(ctx)
		t.end(lost, err)
		t.markLossReported()
		return err
	}
}

func (t *Ticket) markLossReported() {
	t.mu.Lock()
	t.lossReported = t.state == lost
	t.mu.Unlock()
}

// letIn returns, for a permit, the ops that touch the entries its leaving
// lets in (a put that keeps value, lease and create revision), so that
// their successors, which watch them, learn at once that they are in. Each
// touch is a transaction of its own inside the Leave's, applied only if
// its entry is still there, so a touch never fails the Leave. A view of
// the line outdated by other holders leaving at the same moment may touch
// an entry that is not let in (its successor wakes and reads again: one
// event for nothing) or miss one that is (which then touches itself: see
// Wait). Nothing for a line that serves one at a time, and nothing when
// the read fails.
func (t *Ticket) letIn(ctx context.Context) []clientv3.Op {
	if t.kind != Permit || t.limit < 2 {
		return nil
	}
	from, to := t.q.blockRange(t.kind, t.limit)
	resp, err := t.q.s.Client().Get(ctx, from, clientv3.WithRange(to), clientv3.WithKeysOnly(), clientv3.WithSerializable(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(int64(turn.AheadLimit(t.limit))))
	if err != nil {
		return nil
	}
	weights, leaving := make([]int, len(resp.Kvs)), -1
	for i, kv := range resp.Kvs {
		weights[i] = weightOf(string(kv.Key))
		if kv.CreateRevision == t.rev && string(kv.Key) == t.key {
			leaving = i
		}
	}
	var touches []clientv3.Op
	for _, i := range turn.LetIn(t.limit, weights, leaving) {
		kv := resp.Kvs[i]
		touches = append(touches, clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(string(kv.Key)), "=", kv.CreateRevision)},
			[]clientv3.Op{clientv3.OpPut(string(kv.Key), "", clientv3.WithIgnoreValue(), clientv3.WithIgnoreLease())},
			nil))
	}
	return touches
}

// beginLeave marks a Leave under way, or says why none may start.
func (t *Ticket) beginLeave() error {
	if t == nil || t.q == nil || t.q.s == nil {
		return ErrUninitialized
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.endedErrLocked(); err != nil {
		t.lossReported = t.state == lost
		return err
	}
	if t.leaving {
		return ErrLeft
	}
	t.leaving = true
	return nil
}

// abortLeave ends a Leave or Requeue whose outcome is unknown: the entry
// may still be there, unless a delete of it was seen meanwhile (surely the
// call's own), in which case the ticket has left and abortLeave reports
// true.
func (t *Ticket) abortLeave() bool {
	t.mu.Lock()
	t.leaving = false
	gone := t.goneSeen
	t.mu.Unlock()
	if gone {
		t.end(left, nil)
	}
	return gone
}

// Abandon gives the ticket up after a Wait that failed or whose ctx ended,
// as Acquire does: it hands the entry to the session's cleanup worker, which
// removes it (fenced: only this ticket's entry), and waits at most
// CleanupTimeout for that; the worker goes on until it succeeds or the
// session ends. The ticket has left the line afterwards (ErrLeft); the
// entry is gone once etcd is reachable. Use Leave instead to learn whether
// the entry was lost.
func (t *Ticket) Abandon(ctx context.Context) {
	abandonTickets(time.Now().Add(CleanupTimeout), t)
}

// abandonTickets abandons every ticket at once, waiting for their removal
// until deadline at the latest.
func abandonTickets(deadline time.Time, ts ...*Ticket) {
	var entries []*abandonedEntry
	for _, t := range ts {
		if t == nil || t.q == nil || t.q.s == nil || !t.end(abandoned, nil) {
			continue
		}
		entries = append(entries, &abandonedEntry{q: t.q, key: t.key, slot: t.slot, rev: t.rev, tainted: t.tainted})
	}
	if len(entries) > 0 {
		entries[0].q.st.abandon(deadline, entries...)
	}
}

// end moves the ticket to its end, once: whichever path sees the end
// first (Leave, a watch, a read, the session) calls it, and it alone closes
// Done, gives the slot back when the entry is known gone, and tells the
// hooks. It reports false when the ticket had already ended. reason is the
// loss, for lost.
func (t *Ticket) end(to state, reason error) bool {
	t.mu.Lock()
	if t.state >= left {
		t.mu.Unlock()
		return false
	}
	wasGranted, at := t.state == granted, t.grantedAt
	t.state, t.leaving = to, false
	if to == lost {
		t.loss = reason
	}
	close(t.ended)
	t.closeDoneLocked()
	t.mu.Unlock()
	var held time.Duration
	if wasGranted {
		held = time.Since(at)
	}
	switch to {
	case left:
		t.q.st.releaseSlot(t.q, t.key, t.slot, t.tainted)
		if wasGranted {
			t.q.hooks().released(ReleaseInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Held: held})
		}
	case lost:
		if !sessionEnded(t.q.s) { // else the slots go with the session
			t.q.st.releaseSlot(t.q, t.key, t.slot, t.tainted)
		}
		t.q.hooks().lost(LossInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Granted: wasGranted, Held: held, Reason: reason})
		t.q.logLoss(t, reason)
	}
	return true
}

// observeGone is what every path does on finding the entry gone: ErrLeft
// if its owner is removing it or has (the delete seen was its own),
// otherwise the ticket is lost, and the error says whether with the lease.
func (t *Ticket) observeGone(ctx context.Context, expired bool) error {
	t.mu.Lock()
	own, ended := t.leaving, t.endedErrLocked()
	if t.leaving {
		t.goneSeen = true
	}
	t.mu.Unlock()
	switch {
	case ended != nil:
		return ended
	case own:
		return ErrLeft
	}
	err := &lostError{name: t.q.Name(), token: t.rev, expired: expired || !t.leaseAlive(ctx)}
	t.end(lost, err)
	return err
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

// grant records that the ticket's turn has come, once, after the session's
// lease deadline is known, so that a granted hold always has a HeldUntil.
// It fails only when ctx ends first (ctx.Err()) or the lease is found gone.
func (t *Ticket) grant(ctx context.Context) error {
	if err := t.q.st.guard.Ready(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return t.observeGone(ctx, true) // the guard stopped: the lease is gone
	}
	t.mu.Lock()
	if t.state != waiting {
		st := t.state
		t.mu.Unlock()
		if st >= left {
			return ErrLeft
		}
		return nil
	}
	t.state, t.grantedAt = granted, time.Now()
	t.mu.Unlock()
	t.q.hooks().granted(GrantInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind,
		Wait: t.grantedAt.Sub(t.joined), Ahead: t.aheadAtJoin})
	return nil
}

func (t *Ticket) usable() error {
	if t == nil || t.q == nil || t.q.s == nil {
		return ErrUninitialized
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.endedErrLocked()
}

// endedErrLocked is what a call on an ended ticket returns: the loss, once
// lost, until a Leave has reported it; ErrLeft once it has left, was
// abandoned, or its loss was reported; nil while it is in the line.
func (t *Ticket) endedErrLocked() error {
	switch {
	case t.state == lost && !t.lossReported:
		return t.loss
	case t.state >= left:
		return ErrLeft
	}
	return nil
}

func (t *Ticket) setRead(ahead []turn.Ahead, rev int64) {
	t.mu.Lock()
	t.ahead, t.readRev = ahead, rev
	t.mu.Unlock()
}

func (t *Ticket) lastRead() (ahead []turn.Ahead, rev int64) {
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

// Settle reads whether the entry is still in the line. If it is gone, the
// ticket ends as lost (Done closes, the slot returns to use, the hooks are
// told) and Settle returns the loss, matching ErrLost; nil when the entry
// is there, ErrLeft when the ticket has already left. It writes nothing.
// The primitives settle a hold that a newer one replaced without a
// release; a ticket whose Wait, Leave or Done sees the end needs none.
func (t *Ticket) Settle(ctx context.Context) error {
	if err := t.usable(); err != nil {
		return err
	}
	var resp *clientv3.GetResponse
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = t.q.s.Client().Get(ctx, t.key, clientv3.WithKeysOnly())
		return err
	})
	switch {
	case isLost(err):
		return t.observeGone(ctx, true)
	case err != nil:
		return err
	case len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == t.rev:
		return nil
	}
	return t.observeGone(ctx, false)
}
