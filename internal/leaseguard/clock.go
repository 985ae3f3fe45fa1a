package leaseguard

import "time"

// clock is the time source of a Guard, so that tests can drive the deadline
// arithmetic and the timers without sleeping.
type clock interface {
	// Now returns the current time, with a monotonic reading where the
	// clock has one (time.Now does).
	Now() time.Time
	// TimerAt returns a channel that receives once the clock reaches at,
	// and a function that stops the timer. An absolute time, so that the
	// time spent between reading the clock and arming the timer is not
	// added to the wait.
	TimerAt(at time.Time) (<-chan time.Time, func() bool)
}

// realClock is the machine's monotonic clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) TimerAt(at time.Time) (<-chan time.Time, func() bool) {
	t := time.NewTimer(time.Until(at))
	return t.C, t.Stop
}
