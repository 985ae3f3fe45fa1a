package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRun runs the whole harness briefly against an embedded etcd without
// fsync and checks that every figure is sane and the files are written.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	cfg := config{
		duration:   400 * time.Millisecond,
		rounds:     2,
		contenders: []int{1, 2},
		reads:      []int{90},
		history:    []int{200},
		noFsync:    true,
		out:        dir,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, res); err != nil {
		t.Fatal(err)
	}

	if got, want := len(res.Mutex), 3*len(cfg.contenders); got != want {
		t.Errorf("%d mutex cells, want %d", got, want)
	}
	if got, want := len(res.RW), 2*len(cfg.contenders); got != want {
		t.Errorf("%d read-write cells, want %d", got, want)
	}
	for _, r := range append(append([]cellResult{}, res.Mutex...), res.RW...) {
		if r.Err != "" || r.Grants == 0 || r.PerSec <= 0 || r.Calls <= 0 || r.Violations != 0 {
			t.Errorf("%s n=%d reads=%d%%: err %q, %d grants, %.1f/s, %.2f calls/acq, %d violations",
				r.Contender, r.N, r.ReadPct, r.Err, r.Grants, r.PerSec, r.Calls, r.Violations)
		}
		if r.Contender == nameFair {
			if r.Joined != 0 {
				t.Errorf("fairmutex n=%d: %d overtakes of callers in line", r.N, r.Joined)
			}
			if r.N == 1 && (r.Calls < 1.5 || r.Calls > 2.5) {
				t.Errorf("fairmutex alone: %.2f calls per Lock+Unlock, want about 2", r.Calls)
			}
			if r.N == 2 && r.Handoffs == 0 {
				t.Errorf("fairmutex n=2: no handoffs in %d grants", r.Grants)
			}
		}
	}
	if len(res.History) != 2 || res.History[1].History != 200 || res.History[1].Grants == 0 || res.History[1].Err != "" {
		t.Errorf("history cells: %+v", res.History)
	}
	if len(res.Uncontended) != 2 {
		t.Errorf("%d uncontended results, want 2", len(res.Uncontended))
	}
	want := map[string][2]float64{nameFair: {1, 0}, nameEtcdMutex: {2, 2}} // calls, revisions per TryLock
	for _, r := range res.TryLock {
		if w := want[r.Contender]; r.Err != "" || r.Tries == 0 || r.Calls != w[0] || r.RevMoves != w[1] {
			t.Errorf("%s TryLock on a held lock: err %q, %d tries, %.2f calls, %.2f revisions; want %v calls, %v revisions",
				r.Contender, r.Err, r.Tries, r.Calls, r.RevMoves, w[0], w[1])
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"fairmutex", "etcd-rwmutex", "fsync off", "### Targets"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("results.md lacks %q", s)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "chart.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(svg), "<svg") || strings.Count(string(svg), "<polyline") < 5 {
		t.Errorf("chart.svg is not a chart with a line per contender:\n%.300s", svg)
	}
}

// TestRecorder checks the book-keeping rules on a scripted history.
func TestRecorder(t *testing.T) {
	r := newRecorder()
	r.begin()
	a := r.arrive(false)
	r.grant(a) // uncontended
	b := r.arrive(false)
	r.called(b, true) // b is in line before c starts
	c := r.arrive(false)
	d := r.arrive(false) // d starts before c is known to the server
	r.called(c, false)   // a failed call tells nothing
	r.called(c, true)
	r.release(false)
	r.grant(c) // overtakes b (in line) and nobody else
	r.release(false)
	r.grant(d) // overtakes b again
	r.release(false)
	r.grant(b)
	r.release(false)
	r.stop()
	if r.grants != 4 || r.violations != 0 {
		t.Errorf("%d grants, %d violations; want 4, 0", r.grants, r.violations)
	}
	if r.overtakesTotal != 2 || r.overtakesMax != 2 {
		t.Errorf("overtakes by call start: total %d max %d, want 2 2", r.overtakesTotal, r.overtakesMax)
	}
	if r.joinedTotal != 2 || r.joinedMax != 2 {
		t.Errorf("overtakes in line: total %d max %d, want 2 2", r.joinedTotal, r.joinedMax)
	}
	if r.lockCalls[0] != 3 { // c's two calls and b's one
		t.Errorf("%d calls inside Lock, want 3", r.lockCalls[0])
	}
	if len(r.handoffs) != 3 { // c, d, b waited through a release; a did not
		t.Errorf("%d handoffs, want 3", len(r.handoffs))
	}

	// Reader past reader is no overtake; two holders at once must be a reader pair.
	r = newRecorder()
	r.begin()
	r1, r2 := r.arrive(true), r.arrive(true)
	r.called(r1, true)
	r.grant(r2)
	r.grant(r1)
	w := r.arrive(false)
	r.grant(w) // while both readers hold
	r.stop()
	if r.overtakesTotal != 0 || r.violations != 1 {
		t.Errorf("readers: %d overtakes, %d violations; want 0, 1", r.overtakesTotal, r.violations)
	}

	// A reader waits for the writer only: a reader leaving after the writer
	// does not restart its handoff.
	r = newRecorder()
	r.begin()
	r1 = r.arrive(true)
	r.grant(r1)
	w = r.arrive(false) // blocked by r1
	r.release(true)
	r.grant(w)
	r2, r3 := r.arrive(true), r.arrive(true) // blocked by w
	r.release(false)
	r.grant(r3)
	r.release(true)
	r.grant(r2)
	r.stop()
	if len(r.handoffs) != 3 || r.handoffs[2] < r.handoffs[1] {
		t.Errorf("handoffs %v, want three, the last (r2's, from the writer's release) the longest", r.handoffs)
	}
	if r.violations != 0 {
		t.Errorf("%d violations, want 0", r.violations)
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {99, 10}, {10, 1}, {0, 1}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}
