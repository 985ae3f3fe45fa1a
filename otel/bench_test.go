package fairlockotel_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	fairlockotel "github.com/fairlock/fairlock/otel"
	"github.com/fairlock/fairlock/queue"
)

// BenchmarkHooks measures what the adapter adds to a Lock+Unlock (one op:
// join, grant, release), with the SDK's meter and with spans sampled
// always or never.
func BenchmarkHooks(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: no tracing at all
	}{
		{"spans-sampled", sdktrace.AlwaysSample()},
		{"spans-dropped", sdktrace.NeverSample()},
		{"metrics-only", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer mp.Shutdown(context.Background())
			var tp trace.TracerProvider = noop.NewTracerProvider()
			if bc.sampler != nil {
				sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(bc.sampler))
				defer sdk.Shutdown(context.Background())
				tp = sdk
			}
			a, err := fairlockotel.New(fairlockotel.WithMeterProvider(mp), fairlockotel.WithTracerProvider(tp))
			if err != nil {
				b.Fatal(err)
			}
			// b.N with the timer reset and stopped around the loop rather
			// than b.Loop: the module supports Go 1.23.
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cycle(a, "/jobs/nightly", queue.Exclusive, 1, 3*time.Millisecond, 40*time.Millisecond)
			}
			b.StopTimer() // not the providers' shutdown
		})
	}
}
