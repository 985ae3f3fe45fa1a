package fairlockotel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	fairlockotel "github.com/fairlock/fairlock/otel"
)

// The helpers below are trimmed copies of the otel module's own test
// helpers, which this module cannot import (they are in _test files).

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

// point is one data point: a counter's sum, or a histogram's number of
// samples (all the etcd test checks).
type point struct {
	count int64
}

// collect returns the data points of every instrument the reader sees:
// instrument name -> encoded attribute set -> point.
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
					ps[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{count: int64(dp.Count)}
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					ps[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{count: int64(dp.Count)}
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = ps
		}
	}
	return out
}
