package leaseguard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

const ttl = 9 * time.Second // rounds every 3s; a drift allowance of 9ms

// The first round goes out at once. Until it is answered nothing vouches
// for the lease: Until is zero, Lost is closed, Ready waits. The answer
// sets Until to send + TTL − drift.
func TestFirstRound(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	c := r.call() // the clock has not moved: the first round needs no timer
	if u := r.g.Until(); !u.IsZero() {
		t.Fatalf("Until before the first answer = %v, want the zero time", u)
	}
	if !closed(r.g.Lost(0)) {
		t.Fatal("Lost(0) open before the first answer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.g.Ready(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ready before the first answer = %v, want to wait (context.Canceled)", err)
	}

	r.answer(c, ttl)
	ctx, cancel = context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.g.Ready(ctx); err != nil {
		t.Fatalf("Ready after the first answer = %v", err)
	}
	if got, want := r.g.Until(), r.t0.Add(ttl-9*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Until = t0%+v, want t0%+v", got.Sub(r.t0), want.Sub(r.t0))
	}
	if closed(r.g.Lost(0)) {
		t.Fatal("Lost(0) closed right after an answer")
	}
	if sent, answered := r.g.Rounds(); sent != 1 || answered != 1 {
		t.Fatalf("Rounds = %d sent, %d answered, want 1, 1", sent, answered)
	}
}

// Rounds go out every TTL/3, not sooner, and each answer moves Until on to
// its own send time + TTL − drift.
func TestRoundsEveryThirdOfTTL(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	r.answer(r.call(), ttl)
	lost := r.g.Lost(0)
	for i := 1; i <= 5; i++ {
		due := time.Duration(i) * ttl / 3
		r.at(due - time.Nanosecond)
		r.sent(uint64(i))
		r.at(due)
		r.answer(r.call(), ttl)
		if got, want := r.g.Until(), r.t0.Add(due+ttl-9*time.Millisecond); !got.Equal(want) {
			t.Fatalf("round %d: Until = t0%+v, want t0%+v", i+1, got.Sub(r.t0), want.Sub(r.t0))
		}
	}
	if closed(lost) {
		t.Fatal("Lost(0) closed although every round was answered")
	}
	if sent, answered := r.g.Rounds(); sent != 6 || answered != 6 {
		t.Fatalf("Rounds = %d sent, %d answered, want 6, 6", sent, answered)
	}
}

// Lost(m) closes at Until−m exactly, and the same margin gets the same
// channel. Once closed, a later answer that moves Until on lets Lost hand
// out a new, open channel.
func TestLostMargins(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	r.answer(r.call(), ttl)
	until := r.g.Until()
	l0, l1 := r.g.Lost(0), r.g.Lost(time.Second)
	if r.g.Lost(time.Second) != l1 || r.g.Lost(0) != l0 {
		t.Fatal("the same margin got another channel")
	}
	if r.g.Lost(-time.Second) != l0 {
		t.Fatal("a negative margin is not taken as 0")
	}

	r.at(3 * time.Second)
	second := r.call() // left unanswered for now
	r.at(6 * time.Second)
	third := r.call()

	r.clk.set(until.Add(-time.Second - time.Nanosecond))
	if closed(l1) || closed(l0) {
		t.Fatal("a Lost channel closed before its time")
	}
	r.clk.set(until.Add(-time.Second))
	closes(t, "Lost(1s) at Until−1s", l1)
	if closed(l0) {
		t.Fatal("Lost(0) closed at Until−1s")
	}
	if !closed(r.g.Lost(time.Second)) {
		t.Fatal("Lost(1s) after its lapse returned an open channel")
	}
	r.clk.set(until)
	closes(t, "Lost(0) at Until", l0)
	if !r.g.Until().Equal(until) {
		t.Fatalf("a lapse moved Until from %v to %v", until, r.g.Until())
	}

	// The lease outlived the lapse: the third round is answered late.
	r.answer(third, ttl)
	if got, want := r.g.Until(), r.t0.Add(6*time.Second+ttl-9*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Until after a late answer = t0%+v, want t0%+v", got.Sub(r.t0), want.Sub(r.t0))
	}
	again := r.g.Lost(0)
	if again == l0 || closed(again) {
		t.Fatal("Lost(0) after Until moved on is not a new open channel")
	}
	// An older answer arriving later does not move Until back.
	r.answer(second, ttl)
	if got, want := r.g.Until(), r.t0.Add(6*time.Second+ttl-9*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Until after an older answer = t0%+v, want t0%+v", got.Sub(r.t0), want.Sub(r.t0))
	}
	if closed(again) {
		t.Fatal("Lost(0) closed by an older answer")
	}
}

// The drift allowance is taken off: with a 1% rate, a 9s TTL is good for
// 8.91s on this clock, not a nanosecond more.
func TestDriftAllowance(t *testing.T) {
	r := newRig(t, 0.01)
	r.answer(r.call(), ttl)
	lost := r.g.Lost(0)
	r.at(3 * time.Second)
	r.call() // never answered: the connection is cut
	r.at(6 * time.Second)
	r.call()
	r.at(8910*time.Millisecond - time.Nanosecond)
	if closed(lost) {
		t.Fatal("Lost(0) closed before send + TTL − 1%")
	}
	r.at(8910 * time.Millisecond)
	closes(t, "Lost(0) at send + TTL − 1%", lost)
	if got, want := r.g.Until(), r.t0.Add(8910*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Until = t0%+v, want t0%+v", got.Sub(r.t0), want.Sub(r.t0))
	}
}

// A round that fails moves nothing and is followed by another after
// TTL/10, not at once; a failure before the TTL is known, after 200ms.
func TestFailedRoundRetried(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	r.fail(r.call(), rpctypes.ErrNoLeader)
	if !r.g.Until().IsZero() {
		t.Fatal("a failed first round set Until")
	}
	r.at(200*time.Millisecond - time.Nanosecond)
	r.sent(1)
	r.at(200 * time.Millisecond)
	r.answer(r.call(), ttl)
	until := r.g.Until()
	if want := r.t0.Add(200*time.Millisecond + ttl - 9*time.Millisecond); !until.Equal(want) {
		t.Fatalf("Until = t0%+v, want t0%+v", until.Sub(r.t0), want.Sub(r.t0))
	}

	start := 200*time.Millisecond + ttl/3
	r.at(start)
	r.fail(r.call(), errors.New("connection reset"))
	if !r.g.Until().Equal(until) {
		t.Fatal("a failed round moved Until")
	}
	retry := start + ttl/10
	r.at(retry - time.Nanosecond)
	r.sent(3)
	r.at(retry)
	r.fail(r.call(), context.DeadlineExceeded)
	r.at(retry + ttl/10 - time.Nanosecond)
	r.sent(4)
	r.at(retry + ttl/10)
	r.answer(r.call(), ttl)
	if want := r.t0.Add(retry + ttl/10 + ttl - 9*time.Millisecond); !r.g.Until().Equal(want) {
		t.Fatalf("Until after the retry = t0%+v, want t0%+v", r.g.Until().Sub(r.t0), want.Sub(r.t0))
	}
}

// A round unanswered for a whole TTL is given up (its call canceled) and
// retried; no more than MaxInFlight rounds are ever outstanding.
func TestHungRounds(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	// The TTL is not known yet: a round a second, each given 5s.
	var hung []*kaCall
	for i := range leaseguard.MaxInFlight {
		r.at(time.Duration(i) * time.Second)
		hung = append(hung, r.call())
	}
	r.at(5*time.Second - time.Nanosecond)
	r.sent(leaseguard.MaxInFlight) // the round due at 4s waits for room
	for _, c := range hung {
		if closed(c.canceled()) {
			t.Fatal("a round was given up before its timeout")
		}
	}
	r.at(5 * time.Second)
	closes(t, "the first round's call, given up after 5s", hung[0].canceled())
	r.outcome()      // its failure
	c := r.call()    // the round that waited for room
	r.answer(c, ttl) // now the TTL is known
	if want := r.t0.Add(5*time.Second + ttl - 9*time.Millisecond); !r.g.Until().Equal(want) {
		t.Fatalf("Until = t0%+v, want t0%+v", r.g.Until().Sub(r.t0), want.Sub(r.t0))
	}
	// The other hung rounds are now given a whole TTL.
	r.at(1*time.Second + ttl - time.Nanosecond)
	if closed(hung[1].canceled()) {
		t.Fatal("a hung round was given up before one TTL once the TTL was known")
	}
}

// An answer with no TTL left, or "lease not found", ends the guard: every
// Lost channel closes, Until is in the past, no more rounds go out. So does
// a refusal no retry mends: etcd refuses the session's keep-alives too, so
// the lease will expire.
func TestLeaseGoneStopsGuard(t *testing.T) {
	for name, gone := range map[string]func(*kaCall){
		"ttl 0":                 func(c *kaCall) { c.answer(0) },
		"not found":             func(c *kaCall) { c.fail(rpctypes.ErrLeaseNotFound) },
		"permission denied":     func(c *kaCall) { c.fail(rpctypes.ErrPermissionDenied) },
		"authentication failed": func(c *kaCall) { c.fail(rpctypes.ErrGRPCAuthFailed) },
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, leaseguard.DriftRate)
			r.answer(r.call(), ttl)
			l0, l1 := r.g.Lost(0), r.g.Lost(time.Second)
			r.at(ttl / 3)
			gone(r.call())
			closes(t, "Stopped", r.g.Stopped())
			if !closed(l0) || !closed(l1) || !closed(r.g.Lost(5*time.Second)) {
				t.Fatal("a Lost channel is open after the lease is gone")
			}
			if u := r.g.Until(); u.IsZero() || u.After(r.clk.Now()) {
				t.Fatalf("Until after the lease is gone = t0%+v, want at most now (t0%+v)", u.Sub(r.t0), ttl/3)
			}
			r.at(10 * ttl)
			r.sent(2)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := r.g.Ready(ctx); err != nil {
				t.Fatalf("Ready after an answer, then the loss = %v, want nil", err)
			}
		})
	}
}

// A lease gone before its first answer: Ready reports it.
func TestGoneBeforeFirstAnswer(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	r.call().answer(0)
	closes(t, "Stopped", r.g.Stopped())
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.g.Ready(ctx); !errors.Is(err, leaseguard.ErrGone) {
		t.Fatalf("Ready = %v, want ErrGone", err)
	}
	if u := r.g.Until(); u.IsZero() || u.After(r.clk.Now()) {
		t.Fatalf("Until = %v, want a time in the past, not zero", u)
	}
}

// The end of the session stops the guard: rounds in flight are canceled,
// every goroutine returns, every Lost channel closes.
func TestSessionEnds(t *testing.T) {
	for name, end := range map[string]func(*rig){
		"ctx canceled": func(r *rig) { r.cancel() },
		"done closed":  func(r *rig) { close(r.ended) },
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, leaseguard.DriftRate)
			r.answer(r.call(), ttl)
			lost := r.g.Lost(0)
			r.at(ttl / 3)
			pending := r.call()
			end(r)
			closes(t, "Stopped", r.g.Stopped())
			if !closed(pending.canceled()) {
				t.Fatal("a round in flight outlived the guard")
			}
			if !closed(lost) || !closed(r.g.Lost(0)) {
				t.Fatal("Lost open after the session ended")
			}
			if r.g.Until().After(r.clk.Now()) {
				t.Fatal("Until in the future after the session ended")
			}
		})
	}
}

// Lost channels made while the loop waits are timed too.
func TestLostAddedLater(t *testing.T) {
	r := newRig(t, leaseguard.DriftRate)
	r.answer(r.call(), ttl)
	until := r.g.Until()
	r.at(ttl / 3)
	r.call() // hangs
	l := r.g.Lost(2 * time.Second)
	r.clk.set(until.Add(-2*time.Second - time.Nanosecond))
	r.call() // the round at 2TTL/3, hangs too
	if closed(l) {
		t.Fatal("Lost(2s) closed early")
	}
	r.clk.set(until.Add(-2 * time.Second))
	closes(t, "Lost(2s) made after the loop last armed its timer", l)
}
