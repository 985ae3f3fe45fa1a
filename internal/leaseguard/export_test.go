package leaseguard

import (
	"context"
	"time"
)

// Exported for the tests in package leaseguard_test.

type Clock = clock

var (
	Deadline    = deadline
	Interval    = interval
	RetryDelay  = retryDelay
	CallTimeout = callTimeout
	LeaseGone   = leaseGone
)

const MaxInFlight = maxInFlight

// Start runs a guard on the test's clock and keep-alive function, with
// observe told of every outcome once applied. It stops when ctx ends or
// ended closes.
func Start(ctx context.Context, ended <-chan struct{}, clk Clock, driftRate float64,
	keepAlive func(context.Context) (time.Duration, error), observe func(time.Duration, error)) *Guard {
	g := newGuard(clk, keepAlive, driftRate)
	g.observe = observe
	go g.run(ctx, ended, nil)
	return g
}
