package fairlockprom

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairlock/fairlock/internal/metriclabel"
	"github.com/fairlock/fairlock/queue"
)

// Collector turns the events of fairlock's hooks into Prometheus metrics.
// Give Hooks() to every lock to be measured (queue.WithHooks) and register
// the Collector with a prometheus.Registerer. It is safe for concurrent
// use; one Collector may serve any number of locks and sessions.
type Collector struct {
	hooks queue.Hooks

	wait     *prometheus.HistogramVec
	hold     *prometheus.HistogramVec
	ahead    *prometheus.HistogramVec
	joins    *prometheus.CounterVec
	grants   *prometheus.CounterVec
	releases *prometheus.CounterVec
	losses   *prometheus.CounterVec
	cleanups *prometheus.CounterVec
	yields   *prometheus.CounterVec

	// Looking a child up in a Vec hashes its label values under a lock; an
	// event touches up to three, so they are looked up once per
	// (lock, kind) and kept here.
	series *metriclabel.Series[*series]
}

// series is the children of one (lock, kind) pair.
type series struct {
	wait, hold, ahead       prometheus.Observer
	joins, grants, releases prometheus.Counter
}

// Label names.
const (
	labelLock   = "lock"
	labelKind   = "kind"
	labelReason = "reason"
	labelState  = "state"
)

// New returns a Collector with no series yet: a series appears at the first
// event of its lock and kind. Options it cannot use (histogram buckets out
// of order) are put right, never a panic; an invalid namespace shows up as
// an error when the Collector is registered.
func New(opts ...Option) *Collector {
	cfg := newConfig(opts)
	ns := cfg.namespace
	lk := []string{labelLock, labelKind}
	c := &Collector{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "wait_seconds",
			Help:    "Time from joining a lock's line to being granted the lock, in seconds.",
			Buckets: cfg.waitBuckets,
		}, lk),
		hold: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "hold_seconds",
			Help:    "Time from the grant to the owner's release, in seconds (lost holds are in losses_total).",
			Buckets: cfg.holdBuckets,
		}, lk),
		ahead: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "ahead_at_join",
			Help:    "Entries in line ahead of a new entry (blocking it) when it joined; le=\"0\" counts uncontended joins.",
			Buckets: aheadBuckets,
		}, lk),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "joins_total",
			Help: "Entries put in a lock's line.",
		}, lk),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "grants_total",
			Help: "Entries granted the lock (handoffs included).",
		}, lk),
		releases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "releases_total",
			Help: "Holds ended by their owner.",
		}, lk),
		losses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "losses_total",
			Help: "Entries found gone without their owner removing them; reason is expired (session lease ended) or deleted (key deleted by someone else), state is held or waiting.",
		}, []string{labelLock, labelKind, labelReason, labelState}),
		cleanups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "cleanup_retries_total",
			Help: "Failed attempts to remove an abandoned entry (a cancelled or failed call's) that will be tried again.",
		}, []string{labelLock}),
		yields: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "yield_requests_total",
			Help: "Requests to yield (queue.AskToYield, fairlock yield) received by holders that listen for them.",
		}, lk),
	}
	c.series = metriclabel.NewSeries(cfg.group, c.newSeries)
	c.hooks = queue.Hooks{
		Joined:         c.joined,
		Granted:        c.granted,
		Released:       c.released,
		Lost:           c.lost,
		CleanupRetried: c.cleanupRetried,
		YieldRequested: c.yieldRequested,
	}
	return c
}

// Hooks returns the hooks that feed the Collector, for queue.WithHooks.
// Every call returns the same value; do not change its fields.
func (c *Collector) Hooks() *queue.Hooks { return &c.hooks }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.collectors() {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.collectors() {
		m.Collect(ch)
	}
}

func (c *Collector) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.wait, c.hold, c.ahead, c.joins, c.grants, c.releases, c.losses, c.cleanups, c.yields}
}

func (c *Collector) joined(e queue.JoinInfo) {
	s := c.series.Get(e.Name, string(e.Kind))
	s.joins.Inc()
	if e.Ahead >= 0 {
		s.ahead.Observe(float64(e.Ahead))
	}
}

func (c *Collector) granted(e queue.GrantInfo) {
	s := c.series.Get(e.Name, string(e.Kind))
	s.grants.Inc()
	s.wait.Observe(e.Wait.Seconds())
}

func (c *Collector) released(e queue.ReleaseInfo) {
	s := c.series.Get(e.Name, string(e.Kind))
	s.releases.Inc()
	s.hold.Observe(e.Held.Seconds())
}

// lost counts a loss. Losses are rare, so the Vec lookup is not cached.
func (c *Collector) lost(e queue.LossInfo) {
	reason, state := metriclabel.Loss(errors.Is(e.Reason, queue.ErrSessionExpired), e.Granted)
	c.losses.WithLabelValues(c.series.Label(e.Name), string(e.Kind), reason, state).Inc()
}

func (c *Collector) cleanupRetried(e queue.CleanupInfo) {
	c.cleanups.WithLabelValues(c.series.Label(e.Name)).Inc()
}

// yieldRequested counts a request to yield. They are rare, so the Vec
// lookup is not cached.
func (c *Collector) yieldRequested(e queue.YieldInfo) {
	c.yields.WithLabelValues(c.series.Label(e.Name), string(e.Kind)).Inc()
}

// newSeries looks up the children of one (lock label, kind) pair.
// client_golang panics on a label value that is not UTF-8: metriclabel
// makes lock labels valid, so a name of any bytes cannot panic in a hook.
func (c *Collector) newSeries(lock, kind string) *series {
	lv := []string{lock, kind}
	return &series{
		wait:     c.wait.WithLabelValues(lv...),
		hold:     c.hold.WithLabelValues(lv...),
		ahead:    c.ahead.WithLabelValues(lv...),
		joins:    c.joins.WithLabelValues(lv...),
		grants:   c.grants.WithLabelValues(lv...),
		releases: c.releases.WithLabelValues(lv...),
	}
}
