package fairlockprom

import (
	"math"
	"slices"
)

// Option configures a Collector made by New.
type Option func(*config)

type config struct {
	namespace   string
	group       func(string) string
	waitBuckets []float64
	holdBuckets []float64
}

// DefaultNamespace prefixes every metric name unless WithNamespace says
// otherwise: fairlock_wait_seconds, fairlock_grants_total, ...
const DefaultNamespace = "fairlock"

// DefaultBuckets are the upper bounds, in seconds, of the wait and hold
// histograms unless WithWaitBuckets or WithHoldBuckets say otherwise: from
// 1 ms (an uncontended grant on a nearby etcd) to 10 minutes (a nightly
// job's hold), about 2.5 times apart.
var DefaultBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 120, 300, 600,
}

// aheadBuckets bound the entries-ahead-at-join histogram: le="0" counts
// the joins that met an empty line.
var aheadBuckets = []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256}

// WithNamespace replaces DefaultNamespace as the prefix of every metric
// name. "" leaves the names unprefixed (wait_seconds, ...). A namespace
// that is not a valid Prometheus name makes registering the Collector fail
// with an error that says so.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithNameGrouping has every event counted under group(name) instead of the
// lock's own name, in the "lock" label: the way to bound the number of
// series when lock names are many or made on the fly (see the package doc
// on cardinality). group is called on every event, so it must be quick and
// safe for concurrent use; GroupByPrefix and GroupKnown are ready-made. A
// nil group keeps the names as they are.
func WithNameGrouping(group func(name string) string) Option {
	return func(c *config) { c.group = group }
}

// WithWaitBuckets sets the upper bounds, in seconds, of the wait-time
// histogram. They are sorted and de-duplicated, NaNs dropped; an empty list
// means DefaultBuckets.
func WithWaitBuckets(b ...float64) Option {
	return func(c *config) { c.waitBuckets = b }
}

// WithHoldBuckets sets the upper bounds, in seconds, of the hold-time
// histogram, as WithWaitBuckets does for wait time.
func WithHoldBuckets(b ...float64) Option {
	return func(c *config) { c.holdBuckets = b }
}

// cleanBuckets returns a copy of b acceptable to client_golang, which panics on bounds
// that are not strictly increasing: at the first event, inside a hook. The
// +Inf bucket is implicit, so a trailing +Inf is dropped too.
func cleanBuckets(b []float64) []float64 {
	out := make([]float64, 0, len(b))
	for _, v := range b {
		if !math.IsNaN(v) && !math.IsInf(v, +1) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return out
}

func newConfig(opts []Option) config {
	c := config{namespace: DefaultNamespace}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.waitBuckets = cleanBuckets(c.waitBuckets); len(c.waitBuckets) == 0 {
		c.waitBuckets = cleanBuckets(DefaultBuckets)
	}
	if c.holdBuckets = cleanBuckets(c.holdBuckets); len(c.holdBuckets) == 0 {
		c.holdBuckets = cleanBuckets(DefaultBuckets)
	}
	return c
}
