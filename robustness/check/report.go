package check

import (
	"fmt"
	"strings"
	"time"
)

// Result is one workload's line of the report.
type Result struct {
	Workload   string
	Grants     int
	Faults     int      // faults that hit the run while the workload ran
	Violations []string // each fails the run
	Worst      string   // the worst overlap, and why it was excused
	Figures    []string // what else was measured
}

// Report is a run's report.
type Report struct {
	Seed    int64
	Dir     string
	Faults  []string // what each fault hit
	Results []Result
	General []string // violations of no single workload (keys left, unstopped workers)
	Notes   []string
}

// OK reports whether nothing was violated.
func (r Report) OK() bool {
	if len(r.General) > 0 {
		return false
	}
	for _, res := range r.Results {
		if len(res.Violations) > 0 {
			return false
		}
	}
	return true
}

// maxListed violations are listed per workload; the rest are counted.
const maxListed = 10

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nrobustness report, seed %d (replay: SEED=%d make robustness), histories in %s\n",
		r.Seed, r.Seed, r.Dir)
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "  fault %s\n", f)
	}
	for _, res := range r.Results {
		status := "ok"
		if len(res.Violations) > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%-4s %-10s grants %5d  faults %2d  violations %d", status, res.Workload, res.Grants, res.Faults,
			len(res.Violations))
		if res.Worst == "" {
			b.WriteString("  no overlap")
		} else {
			fmt.Fprintf(&b, "  worst overlap: %s", res.Worst)
		}
		b.WriteString("\n")
		for _, f := range res.Figures {
			fmt.Fprintf(&b, "       %s\n", f)
		}
		for i, v := range res.Violations {
			if i == maxListed {
				fmt.Fprintf(&b, "       ... and %d more\n", len(res.Violations)-maxListed)
				break
			}
			fmt.Fprintf(&b, "       VIOLATION: %s\n", v)
		}
	}
	for _, g := range r.General {
		fmt.Fprintf(&b, "FAIL %s\n", g)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if r.OK() {
		fmt.Fprintf(&b, "robustness: PASS (seed %d)\n", r.Seed)
	} else {
		fmt.Fprintf(&b, "robustness: FAIL (seed %d)\n", r.Seed)
	}
	return b.String()
}

// at is t as seconds into the run.
func (c *run) at(t int64) string {
	return fmt.Sprintf("+%.3fs", time.Duration(t-c.meta.Start).Seconds())
}

func dur(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }
