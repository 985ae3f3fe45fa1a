// Package fairlockotel reports what fairlock's locks do through
// OpenTelemetry: the same measurements as the Prometheus adapter
// (github.com/fairlock/fairlock/prometheus), as OpenTelemetry instruments,
// and a span for every grant covering its wait. It lives in a module of its
// own, github.com/fairlock/fairlock/otel, so that the library never
// requires OpenTelemetry; the package is named fairlockotel so that it can
// be imported next to go.opentelemetry.io/otel without renaming.
//
// # Use
//
//	a, err := fairlockotel.New() // the global MeterProvider and TracerProvider
//	if err != nil { ... }
//	m, err := fairmutex.New(session, "/jobs/nightly", queue.WithHooks(a.Hooks()))
//
// # Instruments
//
// Every instrument has the attributes fairlock.lock (the lock name, or its
// group: see WithNameGrouping) and, but for the last, fairlock.kind
// ("exclusive", "shared" or "permit").
//
//	fairlock.wait            histogram (s)        join to grant, for every grant
//	fairlock.hold            histogram (s)        grant to release, for every hold its owner released
//	fairlock.ahead_at_join   histogram ({entry})  entries blocking a new entry when it joined
//	fairlock.joins           counter ({entry})    entries put in line
//	fairlock.grants          counter ({entry})    grants
//	fairlock.releases        counter ({entry})    holds ended by their owner
//	fairlock.losses          counter ({entry})    entries gone without their owner removing them, with
//	                                              fairlock.loss.reason "expired" or "deleted" and
//	                                              fairlock.loss.state "held" or "waiting"
//	fairlock.yield_requests  counter ({request})  requests to yield received by holders that listen (YieldRequested)
//	fairlock.cleanup_retries counter ({attempt})  failed removals of an abandoned entry that will be retried
//
// The wait and hold histograms have the Prometheus adapter's buckets, 1 ms
// to 10 minutes; a View can change them. The advice on cardinality of the
// Prometheus adapter applies as it is: group names made on the fly.
//
// # Spans
//
// Every grant makes a span named "fairlock.wait" from the start of the
// join to the grant, with the attributes above and fairlock.token and
// fairlock.ahead. The hooks carry no context, so these spans are roots of
// traces of their own, not children of the span of the caller's Lock; a
// wait that ends without a grant (cancelled, lost) makes no span.
package fairlockotel
