package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fairlock/fairlock/etcdtest"
)

// results is everything one run measured.
type results struct {
	Machine     machine
	Duration    time.Duration
	Rounds      int
	Hold        time.Duration
	Mutex       []cellResult // every mutex contender at every count
	RW          []cellResult // every read-write contender at every count and mix
	Semaphore   []cellResult
	Election    []cellResult
	Multi       []cellResult
	Weighted    []cellResult // weighted semaphores
	Tenants     []cellResult // tenants cells and their FIFO anchors
	Uncontended []cellResult // one contender, for the Lock+Unlock latency
	History     []historyRow // fairmutex on a lock with uncompacted past acquisitions
	TryLock     []tryResult
	KeepAlive   *keepAliveResult
	Holds       []holdsRow    // one session holding many locks
	Lines       []lineRow     // many waiters on one lock
	FsyncMean   time.Duration // WAL fsync latency over the whole run
	FsyncP99    time.Duration // upper bound of its bucket
	OthersCPU   float64       // share of the machine's CPU other processes used during the run; -1 unknown
	Elapsed     time.Duration
}

// uncontendedRounds is how many turns the uncontended cells take.
const uncontendedRounds = 10

func (c config) runs(name string) bool { return c.only == nil || c.only[name] }

// runner measures on one etcd and logs progress.
type runner struct {
	cfg       config
	endpoints []string
	log       io.Writer
	failed    []string
}

// report logs a cell's figures, or its error, and returns it.
func (rn *runner) report(label string, r cellResult) cellResult {
	fmt.Fprintf(rn.log, "bench: %-42s", label)
	if r.Err != "" {
		rn.failed = append(rn.failed, label+": "+r.Err)
		fmt.Fprintf(rn.log, " error: %s\n", r.Err)
	} else {
		fmt.Fprintf(rn.log, " %8.1f acq/s  p99 handoff %s  p99 wait %s\n", r.PerSec, fmtMs(r.HandoffP99, r.Handoffs), fmtMs(r.WaitP99, r.Grants))
	}
	return r
}

// rows measures specs, the contenders of one row group, each in cfg.rounds
// slices taken in turns, so that figures compared in one row group saw the
// same spells of a busy disk or CPU (the machine may be shared). Every other
// round goes in reverse order (ABC, CBA, ...), so that a load that rises or
// falls steadily favours none of them.
func (rn *runner) rows(ctx context.Context, specs []cellSpec) ([]cellResult, error) {
	return rn.rowsIn(ctx, specs, rn.cfg.rounds)
}

// rowsIn is rows in the given number of rounds.
func (rn *runner) rowsIn(ctx context.Context, specs []cellSpec, rounds int) ([]cellResult, error) {
	pieces := make([][]slice, len(specs))
	errs := make([]string, len(specs))
	for round := range rounds {
		for j := range specs {
			i := turn(round, j, len(specs))
			spec := specs[i]
			spec.duration = rn.cfg.duration / time.Duration(rounds)
			sl, err := runSlice(ctx, rn.endpoints, spec, freshName(spec.c))
			if err != nil {
				errs[i] = err.Error()
				continue
			}
			pieces[i] = append(pieces[i], sl)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	out := make([]cellResult, len(specs))
	for i, spec := range specs {
		r := summarize(spec, pieces[i])
		if errs[i] != "" && r.Err == "" {
			r.Err = errs[i]
		}
		out[i] = rn.report(spec.label(), r)
	}
	return out, nil
}

// turn is the index of the j-th of n contenders to go in round: in order
// in even rounds, in reverse in odd ones.
func turn(round, j, n int) int {
	if round%2 == 1 {
		return n - 1 - j
	}
	return j
}

// specs returns a spec per selected contender of kind k, like base.
func (rn *runner) specs(k kind, base cellSpec) []cellSpec {
	var out []cellSpec
	for _, c := range contenders {
		if c.kind == k && rn.cfg.runs(c.name) && !c.uncontended {
			spec := base
			spec.c = c
			spec.duration, spec.hold = rn.cfg.duration, rn.cfg.hold
			out = append(out, spec)
		}
	}
	return out
}

// run starts an embedded etcd and measures every selected contender on it,
// logging progress to log. It returns what it measured even on error; a
// cell that failed carries its error in Err.
func run(ctx context.Context, cfg config, log io.Writer) (*results, error) {
	began := time.Now()
	etcd, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: cfg.noFsync, LogLevel: "fatal"})
	if err != nil {
		return nil, err
	}
	defer etcd.Close()
	rn := &runner{cfg: cfg, endpoints: etcd.Endpoints(), log: log}
	res := &results{Machine: describeMachine(!cfg.noFsync), Duration: cfg.duration, Rounds: cfg.rounds, Hold: cfg.hold}
	fmt.Fprintf(log, "bench: etcd %s, fsync %s, %v per cell in %d slices, load %s\n",
		res.Machine.Etcd, res.Machine.fsyncText(), cfg.duration, cfg.rounds, res.Machine.LoadAvg)

	cpu0 := sampleCPU()
	defer func() {
		res.OthersCPU = -1
		if share, ok := othersShare(cpu0, sampleCPU()); ok {
			res.OthersCPU = share
		}
		res.Elapsed = time.Since(began)
	}()
	if first, err := readCounters(); err == nil {
		defer func() {
			if last, err := readCounters(); err == nil {
				d := last.sub(first)
				res.FsyncMean, res.FsyncP99 = d.fsyncMean(), d.fsyncQuantile(0.99)
			}
		}()
	}

	// Mutexes and read-write locks, count by count.
	for _, n := range cfg.contenders {
		if !cfg.group("mutex") {
			break
		}
		specs := rn.specs(kindMutex, cellSpec{n: n})
		for _, pct := range cfg.reads {
			specs = append(specs, rn.specs(kindRW, cellSpec{n: n, readPct: pct})...)
		}
		cells, err := rn.rows(ctx, specs)
		if err != nil {
			return res, err
		}
		for _, r := range cells {
			c, _ := contenderNamed(r.Contender)
			if c.kind == kindRW {
				res.RW = append(res.RW, r)
			} else {
				res.Mutex = append(res.Mutex, r)
			}
		}
	}
	// Uncontended Lock+Unlock, in many short turns: its targets compare
	// medians a few percent apart.
	var alone []cellSpec
	for _, name := range []string{nameFair, nameFairHooks, nameEtcdMutex} {
		if c, _ := contenderNamed(name); cfg.runs(name) {
			alone = append(alone, cellSpec{c: c, n: 1, duration: cfg.duration, hold: cfg.hold})
		}
	}
	if len(alone) > 0 && cfg.group("uncontended") {
		if res.Uncontended, err = rn.rowsIn(ctx, alone, uncontendedRounds); err != nil {
			return res, err
		}
	}

	// Then the other primitives, row group by row group.
	var sems, elections, multi []cellSpec
	for _, n := range cfg.semCounts {
		sems = append(sems, cellSpec{n: n, limit: cfg.semLimit})
	}
	for _, n := range cfg.elections {
		elections = append(elections, cellSpec{n: n})
	}
	for _, n := range cfg.multiN {
		for _, k := range cfg.multiK {
			multi = append(multi, cellSpec{n: n, k: k, lines: cfg.multiLines})
		}
	}
	for _, g := range []struct {
		into  *[]cellResult
		k     kind
		bases []cellSpec
		group string
	}{{&res.Semaphore, kindSemaphore, sems, "semaphore"}, {&res.Election, kindElection, elections, "election"}, {&res.Multi, kindMulti, multi, "multi"},
		{&res.Weighted, kindWeighted, weightedSpecs(cfg), "weighted"}} {
		for _, base := range g.bases {
			if !cfg.group(g.group) {
				break
			}
			cells, err := rn.rows(ctx, rn.specs(g.k, base))
			if err != nil {
				return res, err
			}
			*g.into = append(*g.into, cells...)
		}
	}

	for _, name := range []string{nameFair, nameEtcdMutex} {
		if !cfg.runs(name) || !cfg.group("trylock") {
			continue
		}
		c, _ := contenderNamed(name)
		fmt.Fprintf(log, "bench: %-42s", name+" TryLock on a held lock")
		t, err := runTryLock(ctx, rn.endpoints, etcd.Server(), c, cfg.duration)
		if err != nil {
			t.Err = err.Error()
			rn.failed = append(rn.failed, name+" TryLock: "+t.Err)
			fmt.Fprintf(log, " error: %s\n", t.Err)
		} else {
			fmt.Fprintf(log, " %.2f calls, %.2f revisions per TryLock\n", t.Calls, t.RevMoves)
		}
		res.TryLock = append(res.TryLock, t)
	}

	// The keep-alive probe counts per session, on its own clients, so it
	// runs alongside the history cells rather than on its own time.
	var ka *keepAliveProbe
	if cfg.kaTTL > 0 && cfg.runs(nameFair) && cfg.group("history") {
		if ka, err = startKeepAlive(ctx, rn.endpoints, cfg.kaTTL); err != nil {
			rn.failed = append(rn.failed, "keep-alive probe: "+err.Error())
		}
	}
	if cfg.runs(nameFair) && len(cfg.history) > 0 && cfg.group("history") {
		rows, err := runHistories(ctx, rn.endpoints, cfg, func(h historyRow) {
			rn.report(fmt.Sprintf("fairmutex n=%d fresh", historyContenders), h.Fresh)
			rn.report(fmt.Sprintf("fairmutex n=%d past=%d, %s", historyContenders, h.Past, h.Kind), h.Aged)
		})
		res.History = rows
		if err != nil {
			rn.failed = append(rn.failed, "history: "+err.Error())
		}
	}
	if ka != nil {
		r := ka.stop(ctx, cfg.kaTTLs)
		res.KeepAlive = &r
		fmt.Fprintf(log, "bench: %-42s %.2f per session per TTL holding, %.2f idle\n", "keep-alive requests", r.Holding, r.Idle)
		if r.Err != "" {
			rn.failed = append(rn.failed, "keep-alive probe: "+r.Err)
		}
	}
	if err := rn.tenants(ctx, res); err != nil {
		return res, err
	}
	rn.scale(ctx, res)
	if len(rn.failed) > 0 {
		return res, fmt.Errorf("%d measurements failed:\n  %s", len(rn.failed), strings.Join(rn.failed, "\n  "))
	}
	return res, ctx.Err()
}
