package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/phase"
	"github.com/fairlock/fairlock/internal/turn"
)

// Ticket is one entry in the line, made by one of the Join, TryJoin or
// Acquire calls: the turn it waits for or holds. It is safe for concurrent
// use.
type Ticket struct {
	// Set by the join, never changed.
	entry
	joined joinNote      // for the hooks
	ended  chan struct{} // closed when the ticket's phase ends
	// admission is the entry of a tenant's caller in its admission line,
	// which ends with the ticket (see tenant.go); nil without a tenant.
	admission *Ticket

	mu        sync.Mutex // guards the fields below
	phase     phase.Phase
	grantedAt time.Time // when the turn came; zero before
	loss      error     // why it was lost, once lost
	value     string
	read      view       // what the last read saw ahead
	done      doneState  // see Done
	yield     yieldState // see YieldRequested
	// head is, for a tenant's ticket, the head of its admission line as
	// the read that found its turn saw it (see handover.go); rev 0 if none.
	head headRead
}

// joinNote is what the hooks are told of the join: when it began, and
// how many entries were ahead (-1: unknown).
type joinNote struct {
	at    time.Time
	ahead int
}

// view is what the last read of the line saw: the newest entries ahead
// that block the ticket (as many as turn.AheadLimit asks for), as of
// revision rev; rev 0 means no read is known.
type view struct {
	ahead []turn.Ahead
	rev   int64
}

func newTicket(e entry, value string, joined joinNote) *Ticket {
	return &Ticket{entry: e, joined: joined, value: value, ended: make(chan struct{})}
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
func (t *Ticket) IsOwner() clientv3.Cmp { return t.owned() }

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
// in) before this ticket's turn comes: 0 means it has come.
//
// An exclusive ticket counts every older exclusive and shared entry, a
// shared one only older exclusive entries, a permit the permits waiting
// ahead of it plus one: all in the lock's own line, also for a tenant's
// ticket, which exists only once admitted (see WithTenant). It only reads; when ctx ends it
// returns ctx.Err(). It returns an error matching ErrLost when the entry
// is gone, and ErrLeft after Leave.
func (t *Ticket) Position(ctx context.Context) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	var resp *clientv3.TxnResponse
	err := t.retry(ctx, func(ctx context.Context) (err error) {
		// Count by hand: etcd's count ignores create-revision filters.
		resp, err = t.q.s.Client().Txn(ctx).Then(t.ownOp(), t.lineOp(clientv3.WithMaxCreateRev(t.rev-1),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))).Commit()
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

// Settle reads whether the entry is still in the line, and ends the ticket
// as lost if it is not.
//
// It returns nil when the entry is there, the loss (matching ErrLost) when
// it is gone, ErrLeft when the ticket has already left; when ctx ends it
// returns ctx.Err() and changes nothing. It writes nothing. The primitives
// settle a hold that a newer one replaced without a release; a ticket
// whose Wait, Leave or Done sees the end needs none.
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

func (t *Ticket) usable() error {
	if t == nil || t.q == nil || t.q.s == nil {
		return ErrUninitialized
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.endedErrLocked()
}

func (t *Ticket) lastRead() view {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.read
}

// retry is Queue.retry for a call on the ticket's entry: the session
// ending means the entry is gone with its lease, which is ErrLost too.
func (t *Ticket) retry(ctx context.Context, op func(context.Context) error) error {
	return t.lostIfExpired(t.q.retry(ctx, op))
}

// lostIfExpired is err, but the loss of the ticket's entry for a session
// that ended.
func (t *Ticket) lostIfExpired(err error) error {
	if errors.Is(err, ErrSessionExpired) {
		return &lostError{name: t.q.Name(), token: t.rev, expired: true}
	}
	return err
}
