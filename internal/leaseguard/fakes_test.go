package leaseguard_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]bool
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

var _ leaseguard.Clock = (*fakeClock)(nil)

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, timers: make(map[*fakeTimer]bool)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) TimerAt(at time.Time) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: at, c: make(chan time.Time, 1)}
	if !c.now.Before(at) {
		t.c <- c.now
		return t.c, func() bool { return false }
	}
	c.timers[t] = true
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		pending := c.timers[t]
		delete(c.timers, t)
		return pending
	}
}

// set moves the clock to now (never back) and fires the timers due.
func (c *fakeClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.now) {
		panic("fake clock moved back")
	}
	c.now = now
	for t := range c.timers {
		if !now.Before(t.at) {
			t.c <- now
			delete(c.timers, t)
		}
	}
}

// kaCall is one keep-alive the guard sent, waiting for the test's reply.
type kaCall struct {
	ctx   context.Context
	reply chan kaReply
}

type kaReply struct {
	ttl time.Duration
	err error
}

func (c *kaCall) answer(ttl time.Duration)  { c.reply <- kaReply{ttl: ttl} }
func (c *kaCall) fail(err error)            { c.reply <- kaReply{err: err} }
func (c *kaCall) canceled() <-chan struct{} { return c.ctx.Done() }

// outcome is a keep-alive outcome the guard has applied.
type outcome struct {
	ttl time.Duration
	err error
}

// rig is a guard on a fake clock and a fake lease: every keep-alive it
// sends shows up on calls, and every outcome it has applied on applied.
type rig struct {
	t       *testing.T
	clk     *fakeClock
	g       *leaseguard.Guard
	t0      time.Time
	calls   chan *kaCall
	applied chan outcome
	cancel  context.CancelFunc // ends the session
	ended   chan struct{}      // the session's Done
	seen    []*kaCall
}

// wait bounds every wait for the guard's goroutines, which run on real time.
const wait = 10 * time.Second

func newRig(t *testing.T, driftRate float64) *rig {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &rig{t: t, clk: newFakeClock(t0), t0: t0,
		calls: make(chan *kaCall, 64), applied: make(chan outcome, 64), ended: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ka := func(ctx context.Context) (time.Duration, error) {
		c := &kaCall{ctx: ctx, reply: make(chan kaReply, 1)}
		r.calls <- c
		select {
		case rep := <-c.reply:
			return rep.ttl, rep.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	r.g = leaseguard.Start(ctx, r.ended, r.clk, driftRate, ka, func(ttl time.Duration, err error) {
		r.applied <- outcome{ttl, err}
	})
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.g.Stopped():
		case <-time.After(wait):
			t.Errorf("guard not stopped %v after its session ended", wait)
		}
		for _, c := range r.seen {
			if c.ctx.Err() == nil {
				t.Errorf("a keep-alive's context is still live after the guard stopped")
			}
		}
	})
	return r
}

// at moves the clock to t0+d.
func (r *rig) at(d time.Duration) { r.clk.set(r.t0.Add(d)) }

// call returns the next keep-alive the guard sends.
func (r *rig) call() *kaCall {
	r.t.Helper()
	select {
	case c := <-r.calls:
		r.seen = append(r.seen, c)
		return c
	case <-time.After(wait):
		r.t.Fatalf("no keep-alive sent within %v (clock at t0+%v)", wait, r.clk.Now().Sub(r.t0))
		return nil
	}
}

// sent fails unless the guard has sent exactly n keep-alives in all. Only
// meaningful when the fake clock says no further round is due, so that
// none can be on its way.
func (r *rig) sent(n uint64) {
	r.t.Helper()
	if sent, _ := r.g.Rounds(); sent != n {
		r.t.Fatalf("guard sent %d keep-alives by t0+%v, want %d", sent, r.clk.Now().Sub(r.t0), n)
	}
}

// outcome waits until the guard has applied the next keep-alive outcome.
func (r *rig) outcome() outcome {
	r.t.Helper()
	select {
	case o := <-r.applied:
		return o
	case <-time.After(wait):
		r.t.Fatalf("no keep-alive outcome applied within %v", wait)
		return outcome{}
	}
}

// answer has c answered with ttl and waits until the guard has applied it.
func (r *rig) answer(c *kaCall, ttl time.Duration) {
	r.t.Helper()
	c.answer(ttl)
	r.outcome()
}

// fail has c fail with err and waits until the guard has applied it.
func (r *rig) fail(c *kaCall, err error) {
	r.t.Helper()
	c.fail(err)
	r.outcome()
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// closes fails unless ch closes within wait.
func closes(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: not closed within %v", what, wait)
	}
}
