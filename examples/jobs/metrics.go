package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
)

// printMetrics prints the wait and hold histograms that the workers' hooks
// filled, as a dashboard would show them: per lock and kind, the number of
// samples, their mean, and the bucket that holds the median and the 99th
// percentile (a histogram knows no more precisely than its buckets).
func printMetrics(out io.Writer, c *fairlockprom.Collector) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "lock metrics (fairlockprom histograms from this process's hooks):")
	families := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		families[mf.GetName()] = mf
	}
	for _, what := range []string{"wait", "hold"} {
		for _, m := range families[fairlockprom.DefaultNamespace+"_"+what+"_seconds"].GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			fmt.Fprintf(out, "  %s %s  %s  %d samples  mean %v  p50 %s  p99 %s\n",
				labelOf(m, "lock"), labelOf(m, "kind"), what, h.GetSampleCount(),
				seconds(h.GetSampleSum()/float64(h.GetSampleCount())).Round(time.Millisecond),
				bucketOf(h, 0.50), bucketOf(h, 0.99))
		}
	}
	return nil
}

// bucketOf names the bucket that holds quantile q of h: the first whose
// cumulative count reaches q of all samples, as histogram_quantile picks it.
func bucketOf(h *dto.Histogram, q float64) string {
	rank := q * float64(h.GetSampleCount())
	lower := 0.0
	for _, b := range h.GetBucket() {
		if float64(b.GetCumulativeCount()) >= rank {
			return fmt.Sprintf("%v–%v", seconds(lower), seconds(b.GetUpperBound()))
		}
		lower = b.GetUpperBound()
	}
	return fmt.Sprintf(">%v", seconds(lower))
}

func seconds(s float64) time.Duration {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
