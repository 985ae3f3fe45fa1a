package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters is a reading of etcd's own counters, from the embedded member's
// registrations in this process's default Prometheus registry.
type counters struct {
	unary   float64 // grpc_server_handled_total{grpc_type="unary"}: server calls completed
	events  float64 // etcd_debugging_mvcc_events_total: events sent to watchers
	watches float64 // grpc_server_msg_received_total{grpc_method="Watch"}: watch create/cancel requests

	// etcd_disk_wal_fsync_duration_seconds: every raft write waits for one
	// of these (none when fsync is off).
	fsyncs   float64
	fsyncSec float64
	fsyncLE  []bucket // cumulative, as Prometheus keeps them
}

type bucket struct {
	le    float64 // upper bound, seconds
	count float64 // observations at or below le
}

func (c counters) sub(o counters) counters {
	d := counters{unary: c.unary - o.unary, events: c.events - o.events, watches: c.watches - o.watches,
		fsyncs: c.fsyncs - o.fsyncs, fsyncSec: c.fsyncSec - o.fsyncSec}
	for i, b := range c.fsyncLE {
		if i < len(o.fsyncLE) {
			b.count -= o.fsyncLE[i].count
		}
		d.fsyncLE = append(d.fsyncLE, b)
	}
	return d
}

// add sums the counts of two deltas (buckets are left out: only the
// run-wide delta needs them).
func (c counters) add(o counters) counters {
	return counters{unary: c.unary + o.unary, events: c.events + o.events, watches: c.watches + o.watches,
		fsyncs: c.fsyncs + o.fsyncs, fsyncSec: c.fsyncSec + o.fsyncSec}
}

// fsyncQuantile returns the upper bound of the bucket holding quantile q
// of the fsync latencies (0 < q <= 1), 0 when there were none.
func (c counters) fsyncQuantile(q float64) time.Duration {
	for _, b := range c.fsyncLE {
		if c.fsyncs > 0 && b.count >= q*c.fsyncs {
			return time.Duration(b.le * float64(time.Second))
		}
	}
	return 0
}

// fsyncMean returns the mean fsync latency, 0 when there were none.
func (c counters) fsyncMean() time.Duration {
	if c.fsyncs == 0 {
		return 0
	}
	return time.Duration(c.fsyncSec / c.fsyncs * float64(time.Second))
}

// readCounters gathers the counters. Both families are registered when the
// embedded member starts (the gRPC ones by v3rpc.Server whatever
// cfg.Metrics says); a missing one means etcd renamed it, which must not
// pass silently as zero.
func readCounters() (counters, error) {
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return counters{}, err
	}
	var c counters
	seen := map[string]bool{}
	for _, mf := range families {
		switch mf.GetName() {
		case "grpc_server_handled_total":
			seen[mf.GetName()] = true
			for _, m := range mf.GetMetric() {
				if label(m.GetLabel(), "grpc_type") == "unary" {
					c.unary += m.GetCounter().GetValue()
				}
			}
		case "etcd_debugging_mvcc_events_total":
			seen[mf.GetName()] = true
			for _, m := range mf.GetMetric() {
				c.events += m.GetCounter().GetValue()
			}
		case "etcd_disk_wal_fsync_duration_seconds":
			seen[mf.GetName()] = true
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				c.fsyncs += float64(h.GetSampleCount())
				c.fsyncSec += h.GetSampleSum()
				for _, b := range h.GetBucket() {
					c.fsyncLE = append(c.fsyncLE, bucket{le: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
				}
			}
		case "grpc_server_msg_received_total":
			seen[mf.GetName()] = true
			for _, m := range mf.GetMetric() {
				if label(m.GetLabel(), "grpc_method") == "Watch" {
					c.watches += m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, name := range []string{"grpc_server_handled_total", "etcd_debugging_mvcc_events_total",
		"grpc_server_msg_received_total", "etcd_disk_wal_fsync_duration_seconds"} {
		if !seen[name] {
			return counters{}, fmt.Errorf("metric %s not registered (is the embedded etcd running in this process?)", name)
		}
	}
	return c, nil
}

// label returns the value of the label called name, "" if absent.
func label[L interface {
	GetName() string
	GetValue() string
}](labels []L, name string) string {
	for _, l := range labels {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
