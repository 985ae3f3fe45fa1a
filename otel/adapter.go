package fairlockotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/fairlock/fairlock/internal/metriclabel"
	"github.com/fairlock/fairlock/queue"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/fairlock/fairlock/otel"

// Attribute keys.
const (
	AttrLock      = attribute.Key("fairlock.lock")
	AttrKind      = attribute.Key("fairlock.kind")
	AttrToken     = attribute.Key("fairlock.token")
	AttrAhead     = attribute.Key("fairlock.ahead")
	AttrLossState = attribute.Key("fairlock.loss.state")
	AttrReason    = attribute.Key("fairlock.loss.reason")
)

// SpanName is the name of the span of every grant's wait.
const SpanName = "fairlock.wait"

// timeBuckets are the wait and hold histograms' bounds, in seconds: the
// Prometheus adapter's DefaultBuckets.
var timeBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 120, 300, 600,
}

var aheadBuckets = []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256}

// Option configures an Adapter made by New.
type Option func(*config)

type config struct {
	mp    metric.MeterProvider
	tp    trace.TracerProvider
	group func(string) string
}

// WithMeterProvider sets where the instruments come from; the default is
// otel.GetMeterProvider() at the time of New.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithTracerProvider sets where the spans go; the default is
// otel.GetTracerProvider() at the time of New.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithNameGrouping has every event reported under group(name) instead of
// the lock's own name, in the fairlock.lock attribute, to bound the number
// of series when lock names are made on the fly. group is called on every
// event, so it must be quick and safe for concurrent use. A nil group keeps
// the names as they are.
func WithNameGrouping(group func(name string) string) Option {
	return func(c *config) { c.group = group }
}

// Adapter turns the events of fairlock's hooks into OpenTelemetry
// measurements and spans. It is safe for concurrent use; one Adapter may
// serve any number of locks and sessions.
type Adapter struct {
	tracer trace.Tracer
	hooks  queue.Hooks

	wait, hold                      metric.Float64Histogram
	ahead                           metric.Int64Histogram
	joins, grants, releases, losses metric.Int64Counter
	cleanups                        metric.Int64Counter
	yields                          metric.Int64Counter

	// The attribute options of each (lock, kind), made once: building them
	// on every event would allocate.
	series *metriclabel.Series[*series]
}

type series struct {
	add   []metric.AddOption
	rec   []metric.RecordOption
	attrs []attribute.KeyValue
}

// New returns an Adapter whose instruments are made from the meter
// provider (see WithMeterProvider). It returns the provider's error when an
// instrument cannot be made.
func New(opts ...Option) (*Adapter, error) {
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	m := cfg.mp.Meter(ScopeName)
	a := &Adapter{tracer: cfg.tp.Tracer(ScopeName), series: metriclabel.NewSeries(cfg.group, newSeries)}
	var errs [9]error
	a.wait, errs[0] = m.Float64Histogram("fairlock.wait", metric.WithUnit("s"),
		metric.WithDescription("Time from joining a lock's line to being granted the lock."),
		metric.WithExplicitBucketBoundaries(timeBuckets...))
	a.hold, errs[1] = m.Float64Histogram("fairlock.hold", metric.WithUnit("s"),
		metric.WithDescription("Time from the grant to the owner's release (lost holds are in fairlock.losses)."),
		metric.WithExplicitBucketBoundaries(timeBuckets...))
	a.ahead, errs[2] = m.Int64Histogram("fairlock.ahead_at_join", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries in line ahead of a new entry (blocking it) when it joined."),
		metric.WithExplicitBucketBoundaries(aheadBuckets...))
	a.joins, errs[3] = m.Int64Counter("fairlock.joins", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries put in a lock's line."))
	a.grants, errs[4] = m.Int64Counter("fairlock.grants", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries granted the lock (handoffs included)."))
	a.releases, errs[5] = m.Int64Counter("fairlock.releases", metric.WithUnit("{entry}"),
		metric.WithDescription("Holds ended by their owner."))
	a.losses, errs[6] = m.Int64Counter("fairlock.losses", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries found gone without their owner removing them."))
	a.cleanups, errs[7] = m.Int64Counter("fairlock.cleanup_retries", metric.WithUnit("{attempt}"),
		metric.WithDescription("Failed attempts to remove an abandoned entry that will be tried again."))
	a.yields, errs[8] = m.Int64Counter("fairlock.yield_requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests to yield received by holders that listen for them."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	a.hooks = queue.Hooks{
		Joined:         a.joined,
		Granted:        a.granted,
		Released:       a.released,
		Lost:           a.lost,
		CleanupRetried: a.cleanupRetried,
		YieldRequested: a.yieldRequested,
	}
	return a, nil
}

// Hooks returns the hooks that feed the Adapter, for queue.WithHooks.
// Every call returns the same value; do not change its fields.
func (a *Adapter) Hooks() *queue.Hooks { return &a.hooks }

func (a *Adapter) joined(e queue.JoinInfo) {
	s := a.series.Get(e.Name, string(e.Kind))
	a.joins.Add(context.Background(), 1, s.add...)
	if e.Ahead >= 0 {
		a.ahead.Record(context.Background(), int64(e.Ahead), s.rec...)
	}
}

func (a *Adapter) granted(e queue.GrantInfo) {
	s := a.series.Get(e.Name, string(e.Kind))
	ctx := context.Background()
	a.grants.Add(ctx, 1, s.add...)
	a.wait.Record(ctx, e.Wait.Seconds(), s.rec...)

	now := time.Now()
	_, span := a.tracer.Start(ctx, SpanName,
		trace.WithTimestamp(now.Add(-e.Wait)),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(s.attrs...),
		trace.WithAttributes(AttrToken.Int64(e.Token), AttrAhead.Int(e.Ahead)))
	span.End(trace.WithTimestamp(now))
}

func (a *Adapter) released(e queue.ReleaseInfo) {
	s := a.series.Get(e.Name, string(e.Kind))
	a.releases.Add(context.Background(), 1, s.add...)
	a.hold.Record(context.Background(), e.Held.Seconds(), s.rec...)
}

// lost counts a loss; losses are rare, so their attributes are not cached.
func (a *Adapter) lost(e queue.LossInfo) {
	reason, state := metriclabel.Loss(errors.Is(e.Reason, queue.ErrSessionExpired), e.Granted)
	a.losses.Add(context.Background(), 1, metric.WithAttributes(
		AttrLock.String(a.series.Label(e.Name)), AttrKind.String(string(e.Kind)),
		AttrReason.String(reason), AttrLossState.String(state)))
}

func (a *Adapter) cleanupRetried(e queue.CleanupInfo) {
	a.cleanups.Add(context.Background(), 1, metric.WithAttributes(AttrLock.String(a.series.Label(e.Name))))
}

// yieldRequested counts a request to yield; they are rare, so their
// attributes are not cached.
func (a *Adapter) yieldRequested(e queue.YieldInfo) {
	a.yields.Add(context.Background(), 1, metric.WithAttributes(
		AttrLock.String(a.series.Label(e.Name)), AttrKind.String(string(e.Kind))))
}

// newSeries makes the attribute options of one (lock label, kind) pair;
// metriclabel makes the label valid UTF-8, as exporters expect.
func newSeries(lock, kind string) *series {
	attrs := []attribute.KeyValue{AttrLock.String(lock), AttrKind.String(kind)}
	set := attribute.NewSet(attrs...)
	return &series{
		add:   []metric.AddOption{metric.WithAttributeSet(set)},
		rec:   []metric.RecordOption{metric.WithAttributeSet(set)},
		attrs: attrs,
	}
}
