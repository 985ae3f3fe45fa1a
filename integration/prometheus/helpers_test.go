package fairlockprom_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The helpers below read a collector's metrics as a scrape would; they
// are copies of the prometheus module's own test helpers, which this
// module cannot import (they are in _test files).

// gather returns the family of c named name, nil if c has none.
func gather(t *testing.T, c prometheus.Collector, name string) *dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// value returns the value of counter name of lock and kind, 0 if it has
// no series.
func value(t *testing.T, c prometheus.Collector, name, lock, kind string) float64 {
	t.Helper()
	for _, m := range gather(t, c, name).GetMetric() {
		if label(m, "lock") == lock && label(m, "kind") == kind {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// label returns the value of m's label name, "" if m has none.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
