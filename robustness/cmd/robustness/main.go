// Command robustness runs fairlock's robustness suite (see package
// robustness): a three-member etcd cluster of real processes, faults from
// a seed, every workload in worker processes of its own, and the checkers
// over what they wrote. It prints one line per workload and exits 0 only
// when nothing was violated. make robustness builds what it needs and runs
// it; -check DIR checks a kept run again.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fairlock/fairlock/robustness/check"
	"github.com/fairlock/fairlock/robustness/cluster"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/schedule"
	"github.com/fairlock/fairlock/robustness/workload"
)

// Bounds of the run's phases.
const (
	warmup = 3 * time.Second // workers at work before the first fault
	// liveBound: after the outage, every worker is granted within it.
	liveBound = 30 * time.Second
	stopBound = 30 * time.Second // a worker asked to stop has stopped within it (a release may be retried)
)

type runner struct {
	dir                             string
	etcdBin, workerBin, fairlockBin string
	seed                            int64
	ttl                             time.Duration
	cluster                         *cluster.Cluster
	workers                         map[string]*worker
	order                           []*worker
	procLog                         *history.Writer
}

func main() {
	var (
		etcdBin     = flag.String("etcd", "", "the etcd server binary")
		workerBin   = flag.String("worker", "", "the worker binary (cmd/worker)")
		fairlockBin = flag.String("fairlock", "", "the fairlock command's binary")
		dur         = flag.Duration("dur", 60*time.Second, "how long faults come, before the final outage")
		seed        = flag.Int64("seed", 0, "the schedule's seed (0: from the clock); the report prints it")
		out         = flag.String("out", "", "directory for the run's histories, kept (default: a new one under $TMPDIR)")
		faults      = flag.String("faults", "", "comma-separated kinds of fault to use (default: every kind)")
		ttl         = flag.Duration("ttl", 3*time.Second, "the workers' session TTL")
		plan        = flag.Bool("plan", false, "print the schedule and exit")
		recheck     = flag.String("check", "", "check the run kept in this directory again, and exit")
	)
	flag.Parse()
	if *recheck != "" {
		os.Exit(report(*recheck))
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() % 1_000_000
	}
	kinds, err := schedule.ParseKinds(*faults)
	if err != nil {
		fatal(err)
	}
	specs := workload.Specs()
	cfg := schedule.Config{Seed: *seed, Dur: *dur, TTL: *ttl, Kinds: kinds, Members: 3}
	for _, s := range specs {
		for i := 1; i <= s.Workers; i++ {
			cfg.Clients = append(cfg.Clients, fmt.Sprintf("%s-%d", s.Name, i))
		}
		cfg.Holders = append(cfg.Holders, s.Name)
		if s.Exec {
			cfg.Execs = append(cfg.Execs, s.Name)
		}
	}
	p, err := schedule.Plan(cfg)
	if err != nil {
		fatal(err)
	}
	if *plan {
		fmt.Printf("seed %d:\n", *seed)
		for _, f := range p {
			fmt.Println(" ", f)
		}
		return
	}
	bins := []struct{ flag, v string }{{"-etcd", *etcdBin}, {"-worker", *workerBin}, {"-fairlock", *fairlockBin}}
	for _, b := range bins {
		if b.v == "" {
			fatal(fmt.Errorf("fairlock: robustness: %s is required", b.flag))
		}
	}
	dir := *out
	if ents, _ := os.ReadDir(dir); dir != "" && len(ents) > 0 {
		fatal(fmt.Errorf("fairlock: robustness: -out %s is not empty: a run appends to its histories, "+
			"so it wants a new directory", dir))
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", fmt.Sprintf("fairlock-robustness-%d-", *seed)); err != nil {
			fatal(err)
		}
	}
	for _, d := range []string{"hist", "logs", "etcd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			fatal(err)
		}
	}
	r := &runner{dir: dir, etcdBin: *etcdBin, workerBin: *workerBin, fairlockBin: *fairlockBin, seed: *seed, ttl: *ttl,
		workers: map[string]*worker{}}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Printf("robustness: seed %d, DUR %v, %d faults then a whole-cluster outage; histories in %s\n",
		*seed, *dur, len(p)-1, dir)
	if err := r.run(ctx, specs, p, check.Meta{Seed: *seed, Dur: *dur, TTL: *ttl, Faults: *faults}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Printf("robustness: FAIL: the run did not complete (%v); histories in %s\n", err, dir)
		os.Exit(1)
	}
	os.Exit(report(dir))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

// report checks the run in dir, prints the report (and writes it to
// report.txt) and returns the exit status.
func report(dir string) int {
	rep, err := check.Run(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "robustness: checking", dir+":", err)
		return 1
	}
	text := rep.String()
	fmt.Print(text)
	os.WriteFile(filepath.Join(dir, "report.txt"), []byte(text), 0o644)
	if !rep.OK() {
		return 1
	}
	// A run that passed keeps its histories, logs and etcd's record, not
	// the members' data (some 100 MB each, WAL preallocation mostly).
	data, _ := filepath.Glob(filepath.Join(dir, "etcd", "m*.etcd"))
	for _, d := range data {
		os.RemoveAll(d)
	}
	return 0
}

func (r *runner) run(ctx context.Context, specs []workload.Spec, plan []schedule.Fault, meta check.Meta) error {
	for _, f := range plan {
		meta.Plan = append(meta.Plan, f.String())
	}
	var err error
	if r.procLog, err = history.Create(filepath.Join(r.dir, "procs.jsonl")); err != nil {
		return err
	}
	defer r.procLog.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	r.cluster, err = cluster.Start(sctx, r.etcdBin, filepath.Join(r.dir, "etcd"), 3)
	cancel()
	if err != nil {
		return fmt.Errorf("fairlock: robustness: starting etcd: %w", err)
	}
	defer r.cluster.Close()

	rec, err := startRecorder(ctx, r.cluster, r.dir)
	if err != nil {
		return err
	}
	defer rec.stop()

	for _, s := range specs {
		add := func(name, role string) error {
			eps, err := r.cluster.ClientProxies(name)
			if err != nil {
				return err
			}
			w := &worker{r: r, name: name, spec: s, role: role, eps: eps}
			r.workers[name] = w
			r.order = append(r.order, w)
			return nil
		}
		for i := 1; i <= s.Workers; i++ {
			if err := add(fmt.Sprintf("%s-%d", s.Name, i), ""); err != nil {
				return err
			}
		}
		for i := 1; i <= s.Observers; i++ {
			if err := add(fmt.Sprintf("%s-observer-%d", s.Name, i), "observer"); err != nil {
				return err
			}
		}
	}
	meta.Start = history.Now()
	stopped := false
	defer func() { // a run cut short stops its workers too
		if !stopped {
			for _, w := range r.order {
				if w.cmd != nil {
					w.stop(0)
				}
			}
		}
	}()
	for _, w := range r.order {
		if err := w.start(); err != nil {
			return err
		}
	}
	writeMeta := func() {
		meta.Workers = meta.Workers[:0]
		for _, w := range r.order {
			w.mu.Lock()
			meta.Workers = append(meta.Workers, check.WorkerMeta{Name: w.name, Workload: w.spec.Name, Role: w.role,
				Procs: append([]string(nil), w.procs...)})
			w.mu.Unlock()
		}
		check.WriteMeta(r.dir, meta)
	}
	writeMeta()

	faults, err := history.Create(filepath.Join(r.dir, "faults.jsonl"))
	if err != nil {
		return err
	}
	defer faults.Close()
	begin := time.Now().Add(warmup)
	for _, f := range plan {
		if !workload.Sleep(ctx, time.Until(begin.Add(f.At))) {
			return ctx.Err()
		}
		fmt.Printf("  %s", f)
		fr := r.inject(ctx, f)
		faults.Write(fr)
		fmt.Printf("  -> %s%s\n", fr.Victim, map[bool]string{true: " (" + fr.Note + ")", false: ""}[fr.Note != ""])
		if f.Kind == schedule.Outage {
			meta.OutageEnd = fr.To
		}
		writeMeta()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Liveness: every worker granted again after the outage.
	waitLive(ctx, r.order, meta.OutageEnd, liveBound)
	meta.End = history.Now()
	stopped = true
	for _, w := range r.order {
		if !w.stop(stopBound) {
			meta.Unstopped = append(meta.Unstopped, w.proc())
		}
	}
	meta.Left = leftovers(ctx, r.cluster, r.ttl)
	rec.stop()
	writeMeta()
	return nil
}

// waitLive waits until every worker has been granted (or, for an
// observer, has reported) after t, for at most bound.
func waitLive(ctx context.Context, ws []*worker, t int64, bound time.Duration) {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, w := range ws {
			if !grantedSince(w, t) {
				all = false
				break
			}
		}
		if all {
			return
		}
		workload.Sleep(ctx, 500*time.Millisecond)
	}
}

func grantedSince(w *worker, t int64) bool {
	file, kind := w.hist(), history.Grant
	switch {
	case w.spec.Exec:
		file, kind = w.jobs(), history.Stamp
	case w.role == "observer":
		kind = history.Observe
	}
	rs, err := history.ReadFile[history.Record](file)
	if err != nil {
		return false
	}
	for i := len(rs) - 1; i >= 0 && rs[i].T > t; i-- {
		if rs[i].Kind == kind {
			return true
		}
	}
	return false
}

// leftovers lists the entries still in a line under the prefix once the
// TTL (and a second) has passed: a session that ended uncleanly leaves
// its entries until its lease expires, no longer.
func leftovers(ctx context.Context, c *cluster.Cluster, ttl time.Duration) []string {
	deadline := time.Now().Add(ttl + time.Second)
	for {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := c.Client().Get(gctx, workload.Prefix, clientv3WithPrefix()...)
		cancel()
		var left []string
		if err != nil {
			left = []string{"(could not read: " + err.Error() + ")"}
		} else {
			for _, kv := range resp.Kvs {
				if _, ok := check.ParseKey(string(kv.Key)); ok || strings.Contains(string(kv.Key), "/.") {
					left = append(left, fmt.Sprintf("%s (lease %x, value %q)", kv.Key, kv.Lease, kv.Value))
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) || !workload.Sleep(ctx, 200*time.Millisecond) {
			return left
		}
	}
}
