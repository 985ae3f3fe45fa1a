package leaseguard

import (
	"context"
	"sync"
	"time"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// round is one keep-alive request in flight.
type round struct {
	sent     time.Time
	cancel   context.CancelFunc
	canceled bool // timed out; its result is on the way
}

// result is a round's outcome.
type result struct {
	id   uint64
	sent time.Time
	ttl  time.Duration
	err  error
}

// run is the guard's loop: it starts a keep-alive round at once and then one
// every TTL/3 (sooner after a failure), applies the answers, and closes Lost
// channels as they fall due. It returns when ctx ends, ended closes, or an
// answer says the lease is gone; it then waits for its rounds to return,
// calls onStop, and closes g.stopped.
func (g *Guard) run(ctx context.Context, ended <-chan struct{}, onStop func()) {
	rctx, cancelAll := context.WithCancel(ctx)
	results := make(chan result)
	var wg sync.WaitGroup
	defer func() {
		cancelAll()
		wg.Wait()
		if onStop != nil {
			onStop()
		}
		close(g.stopped)
	}()

	inflight := make(map[uint64]*round)
	var (
		ids       uint64
		lastStart time.Time // zero: no round yet, one is due at once
		retryAt   time.Time // zero: no retry pending
	)
	for {
		now := g.clk.Now()
		g.mu.Lock()
		ttl := g.ttl
		g.mu.Unlock()

		// Give up on rounds that waited a whole timeout.
		var wake time.Time
		for _, r := range inflight {
			if r.canceled {
				continue
			}
			if giveUp := r.sent.Add(callTimeout(ttl)); !now.Before(giveUp) {
				r.cancel()
				r.canceled = true
			} else {
				wake = earliest(wake, giveUp)
			}
		}

		// Start a round when one is due.
		if len(inflight) < maxInFlight {
			next := nextRound(lastStart, retryAt, ttl)
			if !now.Before(next) {
				ids++
				id, sent := ids, now // the send time is read before the send
				cctx, cancel := context.WithCancel(rctx)
				inflight[id] = &round{sent: sent, cancel: cancel}
				lastStart, retryAt = sent, time.Time{}
				g.mu.Lock()
				g.rounds++
				g.mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := g.keepAlive(cctx)
					select {
					case results <- result{id: id, sent: sent, ttl: got, err: err}:
					case <-rctx.Done():
					}
				}()
				next = nextRound(lastStart, retryAt, ttl)
				if len(inflight) < maxInFlight {
					wake = earliest(wake, next)
				}
			} else {
				wake = earliest(wake, next)
			}
		}

		wake = earliest(wake, g.expire(now))

		var timer <-chan time.Time
		stop := func() bool { return false }
		if !wake.IsZero() {
			timer, stop = g.clk.TimerAt(wake)
		}
		select {
		case <-ctx.Done():
			stop()
			g.end(g.clk.Now())
			return
		case <-ended:
			stop()
			g.end(g.clk.Now())
			return
		case res := <-results:
			stop()
			if r := inflight[res.id]; r != nil {
				r.cancel()
				delete(inflight, res.id)
			}
			gone := g.apply(res, &retryAt)
			if g.observe != nil {
				g.observe(res.ttl, res.err)
			}
			if gone {
				return
			}
		case <-timer:
		case <-g.kick:
			stop()
		}
	}
}

// apply records a round's outcome and reports whether the lease is gone. A
// transient failure (or a timeout) moves nothing: it sets *retryAt so that
// another round follows soon, but not at once.
func (g *Guard) apply(res result, retryAt *time.Time) (gone bool) {
	now := g.clk.Now()
	switch {
	case leaseGone(res.ttl, res.err), etcderr.IsRefused(res.err):
		// A refusal is as final: etcd refuses the session's own
		// keep-alives too, and the lease will expire. Retrying every
		// TTL/10 would only vouch for nothing longer.
		g.end(now)
		return true
	case res.err == nil:
		g.answer(res.sent, res.ttl)
	default:
		g.mu.Lock()
		ttl := g.ttl
		g.mu.Unlock()
		if at := now.Add(retryDelay(ttl)); retryAt.IsZero() || at.Before(*retryAt) {
			*retryAt = at
		}
	}
	return false
}

// nextRound is when the next round is due: interval(ttl) after the last
// one started, or at a pending retry if that is sooner; at once if no round
// has started yet.
func nextRound(lastStart, retryAt time.Time, ttl time.Duration) time.Time {
	if lastStart.IsZero() {
		return lastStart
	}
	next := lastStart.Add(interval(ttl))
	if !retryAt.IsZero() && retryAt.Before(next) {
		next = retryAt
	}
	return next
}

// earliest returns the earlier of a and b, where the zero time means none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}
