package leaseguard_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

func TestDeadline(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		ttl  time.Duration
		rate float64
		want time.Duration // after sent
	}{
		{10 * time.Second, 1e-3, 9990 * time.Millisecond},
		{2 * time.Second, 1e-3, 1998 * time.Millisecond},
		{3 * time.Second, 1e-3, 2997 * time.Millisecond},
		{2 * time.Second, 0, 2 * time.Second},
		{2 * time.Second, 0.5, time.Second},
		{2 * time.Second, -1, 2 * time.Second}, // negative drift: none
		{2 * time.Second, 2, 0},                // more than all of it: nothing left
		{0, 1e-3, 0},
		{-time.Second, 1e-3, 0},
		{time.Nanosecond, 1e-3, 0},          // the allowance rounds up
		{1001 * time.Nanosecond, 1e-3, 999}, // 1.001ns of drift rounds up to 2
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v@%g", tc.ttl, tc.rate), func(t *testing.T) {
			if got := leaseguard.Deadline(sent, tc.ttl, tc.rate).Sub(sent); got != tc.want {
				t.Errorf("Deadline(sent, %v, %g) = sent%+v, want sent%+v", tc.ttl, tc.rate, got, tc.want)
			}
		})
	}
}

// The default allowance is the documented 0.1% of the TTL.
func TestDriftRateDefault(t *testing.T) {
	if leaseguard.DriftRate != 1e-3 {
		t.Fatalf("DriftRate = %g, want 1e-3 as the package doc says", leaseguard.DriftRate)
	}
}

// The deadline keeps the monotonic reading of the send time, so that wall
// clock jumps cannot move it.
func TestDeadlineKeepsMonotonicClock(t *testing.T) {
	sent := time.Now()
	d := leaseguard.Deadline(sent, 2*time.Second, leaseguard.DriftRate)
	if d.String() == d.Round(0).String() {
		t.Fatalf("deadline %v lost the monotonic clock reading of %v", d, sent)
	}
}

func TestTiming(t *testing.T) {
	tests := []struct {
		ttl                       time.Duration
		interval, retry, giveUpAt time.Duration
	}{
		{0, time.Second, 200 * time.Millisecond, 5 * time.Second}, // TTL not known yet
		{time.Second, time.Second / 3, 200 * time.Millisecond, time.Second},
		{2 * time.Second, 2 * time.Second / 3, 200 * time.Millisecond, 2 * time.Second},
		{10 * time.Second, 10 * time.Second / 3, time.Second, 10 * time.Second},
		{60 * time.Second, 20 * time.Second, 6 * time.Second, 60 * time.Second},
	}
	for _, tc := range tests {
		if got := leaseguard.Interval(tc.ttl); got != tc.interval {
			t.Errorf("Interval(%v) = %v, want %v", tc.ttl, got, tc.interval)
		}
		if got := leaseguard.RetryDelay(tc.ttl); got != tc.retry {
			t.Errorf("RetryDelay(%v) = %v, want %v", tc.ttl, got, tc.retry)
		}
		if got := leaseguard.CallTimeout(tc.ttl); got != tc.giveUpAt {
			t.Errorf("CallTimeout(%v) = %v, want %v", tc.ttl, got, tc.giveUpAt)
		}
	}
}

func TestLeaseGoneClassified(t *testing.T) {
	tests := []struct {
		ttl  time.Duration
		err  error
		want bool
	}{
		{time.Second, nil, false},
		{0, nil, true},
		{-time.Second, nil, true},
		{0, rpctypes.ErrLeaseNotFound, true},
		{0, rpctypes.ErrGRPCLeaseNotFound, true}, // a raw gRPC status
		{0, fmt.Errorf("keep-alive: %w", rpctypes.ErrLeaseNotFound), true},
		{0, context.DeadlineExceeded, false},
		{0, context.Canceled, false},
		{0, rpctypes.ErrNoLeader, false},
		{0, rpctypes.ErrGRPCNoLeader, false},
		{0, errors.New("connection reset"), false},
	}
	for _, tc := range tests {
		if got := leaseguard.LeaseGone(tc.ttl, tc.err); got != tc.want {
			t.Errorf("LeaseGone(%v, %v) = %v, want %v", tc.ttl, tc.err, got, tc.want)
		}
	}
}
