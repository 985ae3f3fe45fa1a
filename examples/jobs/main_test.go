package main

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/examples/internal/exampletest"
)

// TestRun runs the program against an etcd it was given and checks its
// printout independently of its own verdict: every job ran exactly once, in
// the order of the revisions the submissions got, and nothing is left in
// etcd afterwards.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := exampletest.Etcd(t, ctx)

	cfg := config{
		endpoints: strings.Join(e.Endpoints(), ","),
		name:      "/test/jobs",
		workers:   4,
		jobs:      3,
		work:      20 * time.Millisecond,
		ttl:       5,
	}
	var out exampletest.Output
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Logf("output:\n%s", text)
	if !regexp.MustCompile(`(?m)^OK: 12 jobs from 4 workers ran one at a time`).MatchString(text) {
		t.Errorf("no OK verdict for 12 jobs")
	}

	revs := make(map[string]int64)
	for _, m := range regexp.MustCompile(`submits (\S+) \(revision (\d+)\)`).FindAllStringSubmatch(text, -1) {
		rev, _ := strconv.ParseInt(m[2], 10, 64)
		revs[m[1]] = rev
	}
	var ran []string
	for _, m := range regexp.MustCompile(`(?m)^ *[0-9.]+s  node-\d+ +runs +(\S+)$`).FindAllStringSubmatch(text, -1) {
		ran = append(ran, m[1])
	}
	if len(revs) != 12 || len(ran) != 12 {
		t.Fatalf("%d jobs submitted and %d run, want 12 and 12", len(revs), len(ran))
	}
	seen := make(map[string]bool)
	for i, job := range ran {
		if seen[job] {
			t.Errorf("%s ran twice", job)
		}
		seen[job] = true
		if i > 0 && revs[job] <= revs[ran[i-1]] {
			t.Errorf("%s (revision %d) ran after %s (revision %d)", job, revs[job], ran[i-1], revs[ran[i-1]])
		}
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	left, err := cli.Get(ctx, "/test/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if left.Count != 0 {
		t.Errorf("%d keys left under /test/ after the run", left.Count)
	}
}

// TestInterrupt cancels a run mid-job, as Ctrl-C does, and checks that run
// returns the cancellation and removes the embedded etcd's data directory.
func TestInterrupt(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where embedetcd makes its data directory
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	out := &exampletest.Output{OnWrite: func(s string) {
		if strings.Contains(s, " runs ") {
			interrupt()
		}
	}}
	cfg := config{
		embed:   etcdtest.Options{NoFsync: true},
		name:    "/test/jobs",
		workers: 3,
		jobs:    2,
		work:    time.Minute, // only an interrupt ends the first job in time
		ttl:     5,
	}
	start := time.Now()
	err := run(runCtx, cfg, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled\n%s", err, out.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("interrupted run took %v to return", d)
	}
	if !strings.Contains(out.String(), "etcd: embedded") {
		t.Errorf("no embedded etcd announced:\n%s", out.String())
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

// TestCheck shows that the final check catches each kind of violation.
func TestCheck(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	good := []record{
		{job: "a", rev: 10, ranRev: 11, submitStart: at(0), submitEnd: at(1)},
		{job: "b", rev: 12, ranRev: 20, submitStart: at(2), submitEnd: at(3)},
		{job: "c", rev: 14, ranRev: 30, submitStart: at(2), submitEnd: at(4)},
	}
	if err := check(good); err != nil {
		t.Fatalf("check(good) = %v", err)
	}
	tests := map[string]func(r []record){
		"out of order": func(r []record) { r[1].ranRev, r[2].ranRev = r[2].ranRev, r[1].ranRev },
		"overlap":      func(r []record) { r[2].overlapped = true },
		"ran twice":    func(r []record) { r[2].job = "b" },
		"late submit got lower revision": func(r []record) {
			r[0].rev, r[1].rev = 12, 10
			r[0].ranRev, r[1].ranRev = 20, 11
		},
	}
	for name, spoil := range tests {
		r := append([]record(nil), good...)
		spoil(r)
		if err := check(r); err == nil {
			t.Errorf("%s: check passed %+v", name, r)
		}
	}
}
