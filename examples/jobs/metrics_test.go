package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/fairlock/fairlock/examples/internal/exampletest"
)

// TestMetricsSummary checks that the run ends with the wait and hold
// histograms of its line, each with one sample per job.
func TestMetricsSummary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := exampletest.Etcd(t, ctx)
	cfg := config{
		endpoints: strings.Join(e.Endpoints(), ","),
		name:      "/test/jobs-metrics",
		workers:   2,
		jobs:      2,
		work:      20 * time.Millisecond,
		ttl:       5,
	}
	var out exampletest.Output
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	verdict := strings.Index(text, "\nOK: ")
	for _, what := range []string{"wait", "hold"} {
		re := regexp.MustCompile(`(?m)^  /test/jobs-metrics exclusive  ` + what + `  4 samples  mean \S+  p50 \S+  p99 \S+$`)
		loc := re.FindStringIndex(text)
		if loc == nil {
			t.Errorf("no %s summary with 4 samples:\n%s", what, text)
			continue
		}
		if verdict < 0 || loc[0] < verdict {
			t.Errorf("%s summary not after the verdict:\n%s", what, text)
		}
	}
	// Every hold lasts at least its 20ms job: the median is in a bucket
	// from 10ms up, whatever the load of the machine adds.
	if !regexp.MustCompile(`hold  4 samples  mean \S+  p50 (10ms|25ms|50ms|100ms|250ms|500ms|1s)–`).MatchString(text) {
		t.Errorf("hold p50 below the 20ms of each job:\n%s", text)
	}
}

func TestBucketOf(t *testing.T) {
	h := func(count uint64, cum ...uint64) *dto.Histogram {
		bounds := []float64{0.001, 0.01, 0.1}
		var bs []*dto.Bucket
		for i, c := range cum {
			bs = append(bs, &dto.Bucket{UpperBound: &bounds[i], CumulativeCount: &c})
		}
		return &dto.Histogram{SampleCount: &count, Bucket: bs}
	}
	tests := []struct {
		h    *dto.Histogram
		q    float64
		want string
	}{
		{h(4, 4, 4, 4), 0.5, "0s–1ms"},
		{h(4, 1, 2, 4), 0.5, "1ms–10ms"},
		{h(4, 1, 2, 4), 0.99, "10ms–100ms"},
		{h(4, 1, 2, 3), 0.99, ">100ms"},
		{h(100, 99, 99, 100), 0.99, "0s–1ms"},
		{h(100, 98, 99, 100), 0.99, "1ms–10ms"},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.h, tt.q); got != tt.want {
			t.Errorf("bucketOf(%v, %v) = %q, want %q", fmt.Sprint(tt.h), tt.q, got, tt.want)
		}
	}
}
