package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/robustness/history"
)

// runElection: a candidate campaigns, leads for a while (a fenced probe,
// sometimes a Proclaim of a new value), then Rotates (most often) or
// Resigns and campaigns again. An observer process writes every report of
// ObserveWith (vacancies included) instead.
func runElection(ctx context.Context, w *Worker) error {
	if w.Role == "observer" {
		return observe(ctx, w)
	}
	lock := w.Spec.Locks[0]
	n := 0
	// Unique values: the observers' reports tell terms apart.
	value := func() string { n++; return fmt.Sprintf("%s:%d", w.Proc, n) }
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		e, err := c.Election(lock)
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
			return
		}
		op := int64(0)
		for live(ctx, c) {
			if op == 0 { // not leading: campaign
				op = w.nextOp()
				v := value()
				w.Rec(history.Record{Kind: history.Call, Op: op, Lock: lock, Mode: "lead", Value: v})
				actx, cancel := context.WithTimeout(ctx, Patience)
				err := e.Campaign(actx, v)
				cancel()
				if err != nil {
					w.Rec(history.Record{Kind: history.Fail, Op: op, Err: err.Error()})
					op = 0
					Sleep(ctx, 50*time.Millisecond)
					continue
				}
				w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: "lead", Token: e.Token(),
					Until: unixNano(e.HeldUntil())})
			}
			rotate := w.pick(4) != 0
			w.holding(ctx, op, e.Done(), e.HeldUntil, map[bool]string{true: "rotate", false: "resign"}[rotate],
				func(ctx context.Context) {
					w.probe(ctx, c, history.Record{Op: op, Lock: lock, Token: e.Token()}, e.IsOwner())
					if w.pick(2) == 0 {
						pctx, cancel := context.WithTimeout(ctx, OpTimeout)
						v := value()
						err := e.Proclaim(pctx, v)
						cancel()
						w.Rec(history.Record{Kind: history.Fenced, Op: op, Lock: lock, Token: e.Token(), Key: "proclaim",
							Value: v, Err: errText(err)})
					}
					Sleep(ctx, w.rnd(100*time.Millisecond, 400*time.Millisecond))
				})
			if !rotate || ctx.Err() != nil || !live(ctx, c) {
				if !w.release(op, e.Resign) {
					return // the session ends: its revocation removes the entry
				}
				op = 0
				Sleep(ctx, w.rnd(50*time.Millisecond, 300*time.Millisecond))
				continue
			}
			// Rotate ends this term and begins a wait for the next.
			next := w.nextOp()
			w.Rec(history.Record{Kind: history.Call, Op: next, Lock: lock, Mode: "lead"})
			actx, cancel := context.WithTimeout(ctx, Patience)
			err := e.Rotate(actx)
			cancel()
			w.Rec(history.Record{Kind: history.Release, Op: op, Err: errText(err)})
			if err != nil {
				w.Rec(history.Record{Kind: history.Fail, Op: next, Err: err.Error()})
				if !errors.Is(err, election.ErrNotLeader) && !w.release(next, e.Resign) { // whatever is left of the lead
					return // the session ends: its revocation removes the entry
				}
				op = 0
				continue
			}
			op = next
			w.Rec(history.Record{Kind: history.Grant, Op: op, Lock: lock, Mode: "lead", Token: e.Token(),
				Until: unixNano(e.HeldUntil())})
		}
		if op != 0 {
			w.release(op, e.Resign)
		}
	})
	return nil
}

// observe writes every report of ObserveWith(Empty) until ctx ends,
// observing again (a new stream, Op) if the channel closes early.
func observe(ctx context.Context, w *Worker) error {
	lock := w.Spec.Locks[0]
	w.Session(ctx, func(ctx context.Context, c *fairlock.Client) {
		e, err := c.Election(lock)
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
			return
		}
		// A session that ends changes nothing for an observer: it watches
		// through the client, which lives on.
		for ctx.Err() == nil {
			op := w.nextOp()
			for l := range e.ObserveWith(ctx, election.ObserveOptions{Empty: true}) {
				w.Rec(history.Record{Kind: history.Observe, Op: op, Lock: lock, Key: l.Key, Token: l.Token, Value: l.Value,
					Gap: l.Gap, Vacant: l.Vacant()})
			}
			Sleep(ctx, 50*time.Millisecond)
		}
	})
	return nil
}
