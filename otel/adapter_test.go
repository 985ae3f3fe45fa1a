package fairlockotel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	fairlockotel "github.com/fairlock/fairlock/otel"
	"github.com/fairlock/fairlock/queue"
)

// setup returns an Adapter on an in-memory meter and tracer, and the
// reader and recorder that see what it reports.
func setup(t *testing.T, opts ...fairlockotel.Option) (*fairlockotel.Adapter, *sdkmetric.ManualReader, *tracetest.SpanRecorder) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() {
		mp.Shutdown(context.Background())
		tp.Shutdown(context.Background())
	})
	a, err := fairlockotel.New(append([]fairlockotel.Option{
		fairlockotel.WithMeterProvider(mp), fairlockotel.WithTracerProvider(tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a, reader, rec
}

func cycle(a *fairlockotel.Adapter, name string, kind queue.Kind, ahead int, wait, held time.Duration) {
	h := a.Hooks()
	h.Joined(queue.JoinInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Ahead: ahead})
	h.Granted(queue.GrantInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Wait: wait, Ahead: ahead})
	h.Released(queue.ReleaseInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Held: held})
}

// points collects the data points of every instrument: name -> attribute
// set -> count (counters: the sum; histograms: the number of samples and
// their sum).
type point struct {
	count  int64
	sum    float64
	bounds []float64
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]map[string]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]map[string]point)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != fairlockotel.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, fairlockotel.ScopeName)
		}
		for _, m := range sm.Metrics {
			ps := make(map[string]point)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					ps[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{count: dp.Value}
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					ps[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{count: int64(dp.Count), sum: dp.Sum, bounds: dp.Bounds}
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					ps[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{count: int64(dp.Count), sum: float64(dp.Sum), bounds: dp.Bounds}
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = ps
		}
	}
	return out
}

func TestMeasurements(t *testing.T) {
	a, reader, _ := setup(t)
	h := a.Hooks()
	cycle(a, "/a", queue.Exclusive, 0, 250*time.Millisecond, time.Second)
	cycle(a, "/a", queue.Exclusive, 3, 500*time.Millisecond, 2*time.Second)
	h.Joined(queue.JoinInfo{Name: "/a", Kind: queue.Shared, Ahead: 1})
	h.Lost(queue.LossInfo{Name: "/a", Kind: queue.Shared, Reason: fmt.Errorf("%w: %w", queue.ErrLost, queue.ErrSessionExpired)})
	h.CleanupRetried(queue.CleanupInfo{Name: "/a", Attempt: 1})

	got := collect(t, reader)
	ax := "fairlock.kind=exclusive,fairlock.lock=/a"
	as := "fairlock.kind=shared,fairlock.lock=/a"
	for _, tt := range []struct {
		name, attrs string
		want        point
	}{
		{"fairlock.joins", ax, point{count: 2}},
		{"fairlock.joins", as, point{count: 1}},
		{"fairlock.grants", ax, point{count: 2}},
		{"fairlock.releases", ax, point{count: 2}},
		{"fairlock.wait", ax, point{count: 2, sum: 0.75}},
		{"fairlock.hold", ax, point{count: 2, sum: 3}},
		{"fairlock.ahead_at_join", ax, point{count: 2, sum: 3}},
		{"fairlock.ahead_at_join", as, point{count: 1, sum: 1}},
		{"fairlock.losses", "fairlock.kind=shared,fairlock.lock=/a,fairlock.loss.reason=expired,fairlock.loss.state=waiting", point{count: 1}},
		{"fairlock.cleanup_retries", "fairlock.lock=/a", point{count: 1}},
	} {
		p, ok := got[tt.name][tt.attrs]
		if !ok {
			t.Errorf("%s{%s}: no data point; have %v", tt.name, tt.attrs, got[tt.name])
			continue
		}
		if p.count != tt.want.count || p.sum != tt.want.sum {
			t.Errorf("%s{%s} = count %d sum %v, want count %d sum %v", tt.name, tt.attrs, p.count, p.sum, tt.want.count, tt.want.sum)
		}
	}
	if b := got["fairlock.wait"][ax].bounds; len(b) == 0 || b[0] != 0.001 || b[len(b)-1] != 600 {
		t.Errorf("wait buckets %v, want 0.001 to 600", b)
	}
}

func TestSpanPerGrant(t *testing.T) {
	a, _, rec := setup(t)
	before := time.Now()
	cycle(a, "/a", queue.Exclusive, 2, 300*time.Millisecond, time.Second)
	after := time.Now()

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != fairlockotel.SpanName {
		t.Errorf("span name %q, want %q", s.Name(), fairlockotel.SpanName)
	}
	if d := s.EndTime().Sub(s.StartTime()); d < 300*time.Millisecond || d > 300*time.Millisecond+after.Sub(before) {
		t.Errorf("span lasts %v, want the 300ms wait", d)
	}
	want := map[attribute.Key]attribute.Value{
		fairlockotel.AttrLock:  attribute.StringValue("/a"),
		fairlockotel.AttrKind:  attribute.StringValue("exclusive"),
		fairlockotel.AttrToken: attribute.Int64Value(7),
		fairlockotel.AttrAhead: attribute.IntValue(2),
	}
	for _, kv := range s.Attributes() {
		if w, ok := want[kv.Key]; ok {
			if kv.Value != w {
				t.Errorf("attribute %s = %v, want %v", kv.Key, kv.Value.Emit(), w.Emit())
			}
			delete(want, kv.Key)
		}
	}
	for k := range want {
		t.Errorf("span lacks attribute %s", k)
	}
}

func TestNameGrouping(t *testing.T) {
	a, reader, _ := setup(t, fairlockotel.WithNameGrouping(func(string) string { return "/orders" }))
	cycle(a, "/orders/1", queue.Exclusive, 0, 0, 0)
	cycle(a, "/orders/2", queue.Exclusive, 0, 0, 0)
	a.Hooks().Joined(queue.JoinInfo{Name: "/x\xff", Kind: queue.Exclusive})
	grants := collect(t, reader)["fairlock.grants"]
	if len(grants) != 1 || grants["fairlock.kind=exclusive,fairlock.lock=/orders"].count != 2 {
		t.Errorf("grants %v, want 2 under /orders alone", grants)
	}
}

func TestNotUTF8Name(t *testing.T) {
	a, reader, _ := setup(t)
	cycle(a, "/x\xff", queue.Exclusive, 0, 0, 0)
	grants := collect(t, reader)["fairlock.grants"]
	if grants["fairlock.kind=exclusive,fairlock.lock=/x\uFFFD"].count != 1 {
		t.Errorf("grants %v, want 1 under /x\\uFFFD", grants)
	}
}

// TestGlobalProviders checks that New works with no option, on the no-op
// global providers.
func TestGlobalProviders(t *testing.T) {
	a, err := fairlockotel.New()
	if err != nil {
		t.Fatal(err)
	}
	cycle(a, "/a", queue.Exclusive, 0, time.Millisecond, time.Millisecond)
}
