package leaseguard

import (
	"math"
	"time"
)

// DriftRate is the share of a TTL taken off the safe deadline for the
// clocks of this machine and etcd's leader ticking at different rates: 0.1%,
// twice the 500 ppm by which NTP may slew a clock it disciplines, and far
// above the tens of ppm an ordinary crystal drifts.
const DriftRate = 1e-3

// Timing of the guard's own keep-alives.
const (
	// minRetry keeps a failing keep-alive from being retried in a busy loop.
	minRetry = 200 * time.Millisecond
	// Before the first answer tells the TTL, rounds go out this often and
	// are given up after unknownTimeout.
	unknownInterval = time.Second
	unknownTimeout  = 5 * time.Second
	// maxInFlight bounds the rounds outstanding at once: with a round every
	// TTL/3 and a timeout of one TTL, three are enough; a hung connection
	// must not pile them up.
	maxInFlight = 4
)

// deadline is the moment up to which a lease renewed by a keep-alive sent at
// sent and answered with ttl surely exists: sent + ttl, less ttl×driftRate
// (rounded up) for clock-rate drift. A driftRate outside [0, 1] is taken as
// its nearest bound.
func deadline(sent time.Time, ttl time.Duration, driftRate float64) time.Time {
	if ttl <= 0 {
		return sent
	}
	driftRate = math.Min(math.Max(driftRate, 0), 1)
	drift := time.Duration(math.Ceil(float64(ttl) * driftRate))
	return sent.Add(ttl - drift)
}

// interval is the time between the starts of two rounds: TTL/3, as etcd's
// own client keeps leases alive.
func interval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return unknownInterval
	}
	return ttl / 3
}

// retryDelay is how soon a round that failed is followed by another:
// TTL/10, at least minRetry.
func retryDelay(ttl time.Duration) time.Duration {
	return max(ttl/10, minRetry)
}

// callTimeout is how long a round may wait for its answer. Past one TTL an
// answer could no longer move the deadline past the present.
func callTimeout(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return unknownTimeout
	}
	return ttl
}
