// Package fairlockprom exports what fairlock's locks do as Prometheus
// metrics: how long callers wait, how long locks are held, how long the
// line is, how often holds are lost. It lives in a module of its own,
// github.com/fairlock/fairlock/prometheus, so that the library itself never
// requires client_golang. The package is named fairlockprom, not
// prometheus, so that it can be imported next to client_golang's
// prometheus package without renaming either.
//
// # Use
//
// Make one Collector, register it, and give its hooks to every lock to be
// measured (every primitive takes the queue options):
//
//	c := fairlockprom.New()
//	prometheus.MustRegister(c)
//	m, err := fairmutex.New(session, "/jobs/nightly", queue.WithHooks(c.Hooks()))
//
// A program without an HTTP server of its own can call Serve (or
// ServeListener, to report a bad address before it starts), which serves
// /metrics until its context ends.
//
// # Metrics
//
// Every name is prefixed by the namespace, "fairlock" unless WithNamespace
// says otherwise. Every metric has the label lock (the lock name, or its
// group: see below) and, but for the last, kind ("exclusive": a Mutex, an
// RWMutex writer, a queue Join, an election candidate; "shared": an
// RWMutex reader, a JoinShared; "permit": a semaphore permit).
//
//	fairlock_wait_seconds          histogram  join to grant, for every grant
//	fairlock_hold_seconds          histogram  grant to release, for every hold its owner released
//	fairlock_ahead_at_join         histogram  entries blocking a new entry when it joined (le="0": uncontended)
//	fairlock_joins_total           counter    entries put in line
//	fairlock_grants_total          counter    grants (handoffs per second: rate of this)
//	fairlock_releases_total        counter    holds ended by their owner
//	fairlock_losses_total          counter    entries gone without their owner removing them, with
//	                                          reason="expired" (the session's lease ended) or
//	                                          "deleted" (someone deleted the key), and
//	                                          state="held" or "waiting"
//	fairlock_yield_requests_total  counter    requests to yield received by holders that listen (YieldRequested)
//	fairlock_cleanup_retries_total counter    failed removals of an abandoned entry that will be retried; label lock only
//
// The wait and hold buckets run from 1 ms to 10 minutes (DefaultBuckets;
// see WithWaitBuckets and WithHoldBuckets). A lost hold is counted in
// losses_total and not observed in hold_seconds, whose count is therefore
// releases_total. Each process counts its own locks' events: sum over
// instances for a lock's whole traffic.
//
// There is no gauge of the entries waiting or held: a Lock whose context
// ends while it waits leaves the line without any event, and so does a
// grant given back because it raced with its Lock's cancellation, so
// gauges kept from the events would drift upwards. ahead_at_join is the
// line's length as each arrival found it.
//
// # Cardinality
//
// Every (lock, kind) pair that has seen an event is a set of series kept
// for the life of the Collector: 58 series with the default buckets,
// and more for each loss reason seen. A program with a few fixed lock
// names ("/jobs/nightly", "/config/writer") can label by name freely. A
// program that makes names on the fly ("/orders/<id>", "/tenants/<t>/jobs")
// would make series without bound, which costs memory here and in
// Prometheus: group the names with WithNameGrouping, for example
// GroupByPrefix(1) to count every "/orders/..." lock as "/orders", or
// GroupKnown to keep a fixed set of names and count the rest as "other".
// Grouped locks share their histograms, so a group's wait time is that of
// all its locks together.
package fairlockprom
