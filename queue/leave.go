package queue

import (
	"context"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/internal/phase"
	"github.com/fairlock/fairlock/internal/turn"
)

// Leave removes the entry from the line: a fenced delete, only if the key
// still has the ticket's create revision.
//
// It returns nil once removed, an error matching ErrLost (deleting
// nothing) when the entry was already gone, and ErrLeft when the ticket has
// left or a Leave of it is under way. When ctx ends before the outcome is
// known it returns ctx.Err() and the ticket stays in the line: call Leave
// again, or let the session's lease expire. A retry that finds the entry
// gone while the lease lives takes the lost reply to have been the delete.
func (t *Ticket) Leave(ctx context.Context) error {
	if err := t.beginLeave(); err != nil {
		return err
	}
	h := t.companionOps(ctx)
	letIn := t.letIn(ctx)
	var resp *clientv3.TxnResponse
	var err error
	// doubted: some attempt's reply was lost, so an earlier attempt may
	// have removed the entry, in any round (a round whose guard failed
	// removed nothing, but a lost reply of an earlier round's may still be
	// applied).
	doubted := false
	for round := 1; ; round++ {
		touches := slices.Concat(letIn, h.ops)
		attempts := 0
		err = t.retry(ctx, func(ctx context.Context) (err error) {
			attempts++
			resp, err = deleteTxnIf(t.q.s.Client().Txn(ctx), []entry{t.entry}, h.guard, h.recheck,
				append(touches, h.handover...)...).Commit()
			if err != nil && len(h.handover) > 0 && ctx.Err() == nil && !etcderr.IsTransient(err) {
				// etcd refused the handover, not the release (a caller's
				// lease whose keys this user may not write, under auth):
				// release without it, and with none from now on if refused.
				h.handover, h.guard, h.recheck = nil, nil, nil
				if etcderr.IsRefused(err) {
					t.q.noHandover.Store(true)
				}
				resp, err = deleteTxn(t.q.s.Client().Txn(ctx), []entry{t.entry}, touches...).Commit()
			}
			return err
		})
		doubted = doubted || attempts > 1
		if err != nil || len(h.guard) == 0 {
			break
		}
		head, again := t.rechecked(resp)
		if !again {
			break
		}
		// A caller of the tenant joined the admission line after the read
		// the release decided on: decide again, on Else's read.
		h = t.handing(head.kvs, head.rev, round < handoverRounds)
	}
	switch {
	case isLost(err):
		t.step(phase.Lose, err)
		t.step(phase.ReportLoss, nil)
		return err
	case err != nil:
		if t.abortLeave() {
			return nil
		}
		return err
	case resp.Succeeded:
		t.step(phase.Remove, nil)
		return nil
	case doubted && t.leaseAlive(ctx):
		t.step(phase.Remove, nil) // an earlier attempt, whose reply was lost, removed it
		return nil
	default:
		err := t.lost(ctx)
		t.step(phase.Lose, err)
		t.step(phase.ReportLoss, nil)
		return err
	}
}

// letInReadTimeout bounds letIn's read.
const letInReadTimeout = 500 * time.Millisecond

// letIn returns, for a permit, the ops that touch the entries its leaving
// lets in, for the Leave's transaction (see "Permits" in the package doc):
// each a transaction of its own, applied only if its entry is still there,
// so that a touch never fails the Leave. Nothing for a line that serves one
// at a time, and nothing when the read fails.
func (t *Ticket) letIn(ctx context.Context) []clientv3.Op {
	if t.kind != Permit || t.limit < 2 {
		return nil
	}
	head, ok := t.readHead(ctx)
	if !ok {
		return nil
	}
	return t.letInOps(head.kvs)
}

// readHead reads the oldest entries of the ticket's line, as many as a
// release needs to know whom it lets in (turn.AheadLimit), values
// included (see handover). It is a read for a speed-up: local to the
// member and bounded short, so that a member that does not answer delays
// the release little; it reports false when it fails.
func (t *Ticket) readHead(ctx context.Context) (headRead, bool) {
	ctx, cancel := context.WithTimeout(ctx, letInReadTimeout)
	defer cancel()
	resp, err := t.q.s.Client().Do(ctx, t.headOp(clientv3.WithSerializable()))
	if err != nil {
		return headRead{}, false
	}
	return headRead{resp.Get().Kvs, resp.Get().Header.Revision}, true
}

// headOp is readHead's read, narrowed by opts.
func (t *Ticket) headOp(opts ...clientv3.OpOption) clientv3.Op {
	from, to := t.q.blockRange(t.kind, t.limit)
	return clientv3.OpGet(from, append([]clientv3.OpOption{clientv3.WithRange(to),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend),
		clientv3.WithLimit(int64(turn.AheadLimit(t.limit)))}, opts...)...)
}

// letInOf returns whom the ticket's leaving lets in, of head (readHead's),
// by their index in head; nil when head does not hold the ticket.
func (t *Ticket) letInOf(head []*mvccpb.KeyValue) []int {
	weights, leaving := make([]int, len(head)), -1
	for i, kv := range head {
		weights[i] = weightOf(string(kv.Key))
		if kv.CreateRevision == t.rev && string(kv.Key) == t.key {
			leaving = i
		}
	}
	return turn.LetIn(t.limit, weights, leaving)
}

// letInOps are the touches of the permits that the ticket's leaving lets
// in, of head (readHead's); none in a line that serves one at a time.
func (t *Ticket) letInOps(head []*mvccpb.KeyValue) []clientv3.Op {
	if t.limit < 2 {
		return nil
	}
	var touches []clientv3.Op
	for _, i := range t.letInOf(head) {
		in := entry{key: string(head[i].Key), rev: head[i].CreateRevision}
		touches = append(touches, clientv3.OpTxn([]clientv3.Cmp{in.owned()}, []clientv3.Op{touchOp(in.key)}, nil))
	}
	return touches
}

// touchOp is the put that tells a permit's successor that the permit is
// let in: it keeps the entry's value, lease and create revision.
func touchOp(key string) clientv3.Op {
	return clientv3.OpPut(key, "", clientv3.WithIgnoreValue(), clientv3.WithIgnoreLease())
}

// Abandon gives the ticket up, as Acquire does after a Wait that failed:
// the session's cleanup removes the entry (fenced: only this ticket's),
// retrying until it succeeds or the session ends.
//
// Abandon returns once the entry is removed, or at the latest
// CleanupTimeout after ctx ends (so CleanupTimeout from the call when ctx
// has already ended, as after a failed Wait). The ticket has left the line
// afterwards (ErrLeft), and the entry is gone once etcd is reachable. Use
// Leave instead to learn whether the entry was lost.
func (t *Ticket) Abandon(ctx context.Context) {
	bound, cancel := afterEnd(ctx, CleanupTimeout)
	defer cancel()
	abandonTickets(bound, t)
}

// abandonTickets abandons every ticket at once, with their companions
// (see tenant.go), their entries removed in one transaction, and waits for
// it until bound ends; a nil bound does not wait.
func abandonTickets(bound context.Context, ts ...*Ticket) {
	var es []entry
	for _, t := range ts {
		if t == nil || t.q == nil || t.q.s == nil {
			continue
		}
		if _, ok := t.step(phase.Abandon, nil); ok {
			es = append(es, t.entry)
		}
		if a := t.admission; a != nil {
			if _, ok := a.step(phase.Abandon, nil); ok {
				es = append(es, a.entry)
			}
		}
	}
	if len(es) > 0 {
		c := es[0].q.st.cleanup
		r := c.abandon(es...)
		if bound != nil {
			r.wait(bound, c)
		}
	}
}

// afterEnd returns a context that ends d after ctx does (d from now when
// ctx has already ended), with ctx's values: the bound of what a call
// still does once its ctx has ended (see CleanupTimeout).
func afterEnd(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	bound, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		grace := time.NewTimer(d)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel()
		case <-bound.Done():
		}
	})
	return bound, func() {
		stop()
		cancel()
	}
}
