package queue

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/turn"
)

// Request names one entry of a JoinAll: the line it joins, the value it
// stores, and whether it is shared.
type Request struct {
	Queue  *Queue
	Value  string
	Shared bool
}

// JoinAll appends one entry to each request's line in a single etcd
// transaction, so that every new entry has the same create revision. All
// Queues must share one session. Because revisions are one total order, any
// two JoinAll calls are ordered the same way in every line they share, so
// callers that wait for every entry's turn cannot deadlock one another,
// whatever order they name the lines in.
//
// On error or cancellation nothing of the call is left in any line (see
// Join). It returns ErrDuplicateLine when two requests name the same line.
func JoinAll(ctx context.Context, reqs []Request) ([]*Ticket, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if err := CheckLines(reqs); err != nil {
		return nil, err
	}
	ds := make([]draft, len(reqs))
	for i, r := range reqs {
		kind := Exclusive
		if r.Shared {
			kind = Shared
		}
		ds[i] = draft{entry: entry{q: r.Queue, kind: kind, limit: 1, weight: 1}, value: r.Value}
	}
	return join(ctx, ds)
}

// CheckLines reports, without I/O, why JoinAll would refuse reqs:
// ErrUninitialized or ErrSessionExpired for a Queue, ErrMixedSessions,
// ErrDuplicateLine; nil when it would not. The primitives' LockAll check
// first, so that their own errors (a lock already held) come after these.
func CheckLines(reqs []Request) error {
	seen := map[string]bool{}
	for _, r := range reqs {
		if err := r.Queue.usable(); err != nil {
			return err
		}
		if err := r.Queue.refuseTenant("JoinAll"); err != nil {
			return err
		}
		if r.Queue.s != reqs[0].Queue.s {
			return ErrMixedSessions
		}
		if seen[r.Queue.Name()] {
			return ErrDuplicateLine
		}
		seen[r.Queue.Name()] = true
	}
	return nil
}

// AcquireAll is JoinAll followed by a Wait on every ticket: it returns once
// every entry's turn has come. On any error, a cancelled ctx included, it
// removes every entry, all at once, within CleanupTimeout, and returns the
// error; nothing is held.
func AcquireAll(ctx context.Context, reqs []Request) ([]*Ticket, error) {
	ts, err := JoinAll(ctx, reqs)
	if err != nil {
		return nil, err
	}
	if err := waitAll(ctx, ts); err != nil {
		bound, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
		defer cancel()
		abandonTickets(bound, ts...)
		return nil, err
	}
	return ts, nil
}

// waitAll waits for every ticket's turn, then, since an entry whose turn
// came early may have been lost while a later line was awaited, checks in
// one read that every entry is still there.
func waitAll(ctx context.Context, ts []*Ticket) error {
	if ts[0].lastRead().rev == 0 && len(ts) > 1 {
		// The join's reply was lost and a retry adopted its entries: what
		// is ahead of each is unknown. One read for them all, rather than
		// one per Wait (each a round trip that may meet a silent member).
		if err := readAll(ctx, ts, true); err != nil {
			return err
		}
	}
	waited := false
	for _, t := range ts {
		if r := t.lastRead(); r.rev == 0 || !turn.Decide(t.limit, t.weight, r.ahead).Granted {
			waited = true // granted later than the join: check them all after
		}
		if err := t.Wait(ctx); err != nil {
			return err
		}
	}
	if len(ts) < 2 || !waited {
		return nil // all granted by the join itself, at one revision
	}
	return readAll(ctx, ts, false)
}

// readAll reads, in one transaction, every ticket's own entry, and with
// ahead what is ahead of each, which becomes its view; an entry found gone
// ends its ticket as lost, and readAll returns the loss.
func readAll(ctx context.Context, ts []*Ticket, ahead bool) error {
	per := 1
	if ahead {
		per = 2
	}
	ops := make([]clientv3.Op, 0, per*len(ts))
	for _, t := range ts {
		ops = append(ops, t.ownOp())
		if ahead {
			ops = append(ops, t.olderOp())
		}
	}
	var resp *clientv3.TxnResponse
	err := ts[0].retry(ctx, func(ctx context.Context) (err error) {
		resp, err = ts[0].q.s.Client().Txn(ctx).Then(ops...).Commit()
		return err
	})
	if err != nil {
		return err
	}
	for i, t := range ts {
		if !ownedIn(resp.Responses[per*i], t.rev) {
			return t.observeGone(ctx, false)
		}
		if ahead {
			t.mu.Lock()
			t.read = view{ahead: aheadOf(resp.Responses[per*i+1], t.rev), rev: resp.Header.Revision}
			t.mu.Unlock()
		}
	}
	return nil
}
