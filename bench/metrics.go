package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// counters is a reading of etcd's own counters, from the embedded member's
// registrations in this process's default Prometheus registry.
type counters struct {
	unary   float64 // grpc_server_handled_total{grpc_type="unary"}: server calls completed
	events  float64 // etcd_debugging_mvcc_events_total: events sent to watchers
	watches float64 // grpc_server_msg_received_total{grpc_method="Watch"}: watch create/cancel requests
}

func (c counters) sub(o counters) counters {
	return counters{unary: c.unary - o.unary, events: c.events - o.events, watches: c.watches - o.watches}
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
		case "grpc_server_msg_received_total":
			seen[mf.GetName()] = true
			for _, m := range mf.GetMetric() {
				if label(m.GetLabel(), "grpc_method") == "Watch" {
					c.watches += m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, name := range []string{"grpc_server_handled_total", "etcd_debugging_mvcc_events_total", "grpc_server_msg_received_total"} {
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
