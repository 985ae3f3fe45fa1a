package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairlock/fairlock/internal/embedetcd"
)

// config is what the flags set.
type config struct {
	duration   time.Duration
	contenders []int
	reads      []int           // read shares (percent) for the read-write locks
	only       map[string]bool // contenders to run; nil runs all
	history    []int           // past entries for the history cells; none skips them
	hold       time.Duration
	noFsync    bool
	out        string
}

// historyContenders is how many contenders the history cells run.
const historyContenders = 2

func main() {
	cfg := config{}
	var contenders, reads, only, history string
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "how long each cell runs")
	flag.StringVar(&contenders, "contenders", "1,2,8,32,64", "numbers of contenders, comma-separated")
	flag.StringVar(&reads, "reads", "90,50", "read shares in percent for the read-write locks, comma-separated")
	flag.StringVar(&only, "only", "", "run only these contenders, comma-separated: "+strings.Join(contenderNames(), ","))
	flag.StringVar(&history, "history", "10000,50000", "past entries not yet compacted under the lock, for the fairmutex history cells; empty skips them")
	flag.DurationVar(&cfg.hold, "hold", 0, "how long each hold is kept before Unlock")
	flag.BoolVar(&cfg.noFsync, "nofsync", false, "turn etcd's fsync off (unsafe; not how the figures are meant to be read)")
	flag.StringVar(&cfg.out, "out", "", "directory for results.md and chart.svg; empty writes none")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (clients and etcd server) to this file")
	flag.Parse()

	var err error
	if cfg.contenders, err = parseInts(contenders, 1); err != nil {
		fatalf("-contenders: %v", err)
	}
	if cfg.reads, err = parseInts(reads, 0); err != nil || slices.ContainsFunc(cfg.reads, func(p int) bool { return p > 100 }) {
		fatalf("-reads: want percentages, got %q", reads)
	}
	if history != "" {
		if cfg.history, err = parseInts(history, 1); err != nil {
			fatalf("-history: %v", err)
		}
	}
	if only != "" {
		cfg.only = map[string]bool{}
		for _, name := range strings.Split(only, ",") {
			if _, err := contenderNamed(strings.TrimSpace(name)); err != nil {
				fatalf("-only: %v", err)
			}
			cfg.only[strings.TrimSpace(name)] = true
		}
	}
	if cfg.duration <= 0 {
		fatalf("-duration must be positive")
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatalf("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if res != nil {
		writeText(os.Stdout, res)
		if cfg.out != "" {
			if werr := writeFiles(cfg.out, res); werr != nil {
				fatalf("%v", werr)
			}
			fmt.Fprintf(os.Stderr, "wrote %s/results.md and %s/chart.svg\n", cfg.out, cfg.out)
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func contenderNames() []string {
	var names []string
	for _, c := range contenders {
		names = append(names, c.name)
	}
	return names
}

func parseInts(s string, least int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n < least {
			return nil, fmt.Errorf("%d is below %d", n, least)
		}
		out = append(out, n)
	}
	return out, nil
}

// results is everything one run measured.
type results struct {
	Machine     machine
	Duration    time.Duration
	Hold        time.Duration
	Mutex       []cellResult // every mutex contender at every count
	RW          []cellResult // every read-write contender at every count and mix
	Uncontended []cellResult // one contender, for the Lock+Unlock latency
	History     []cellResult // fairmutex on a lock with uncompacted past entries
	TryLock     []tryResult
}

func (c config) runs(name string) bool { return c.only == nil || c.only[name] }

// run starts an embedded etcd and measures every selected contender on it,
// logging progress to log. It returns what it measured even on error; a
// cell that failed carries its error in Err.
func run(ctx context.Context, cfg config, log io.Writer) (*results, error) {
	etcd, err := embedetcd.Start(ctx, embedetcd.Options{NoFsync: cfg.noFsync, LogLevel: "fatal"})
	if err != nil {
		return nil, err
	}
	defer etcd.Close()
	endpoints := etcd.Endpoints()
	res := &results{Machine: describeMachine(!cfg.noFsync), Duration: cfg.duration, Hold: cfg.hold}
	fmt.Fprintf(log, "bench: etcd %s, fsync %s, %d s per cell, load %s\n",
		res.Machine.Etcd, res.Machine.fsyncText(), int(cfg.duration.Seconds()), res.Machine.LoadAvg)

	var failed []string
	cell := func(spec cellSpec, past int) cellResult {
		label := fmt.Sprintf("%s n=%d", spec.c.name, spec.n)
		if spec.c.rw {
			label += fmt.Sprintf(" reads=%d%%", spec.readPct)
		}
		var r cellResult
		var err error
		if past > 0 {
			label += fmt.Sprintf(" past=%d", past)
			fmt.Fprintf(log, "bench: %-32s", label)
			r, err = runHistory(ctx, endpoints, spec, past)
		} else {
			fmt.Fprintf(log, "bench: %-32s", label)
			r, err = runCell(ctx, endpoints, spec)
		}
		if err != nil && r.Err == "" {
			r.Err = err.Error()
		}
		if r.Err != "" {
			failed = append(failed, label+": "+r.Err)
			fmt.Fprintf(log, " error: %s\n", r.Err)
		} else {
			fmt.Fprintf(log, " %8.1f acq/s  p99 handoff %s\n", r.PerSec, fmtMs(r.HandoffP99, r.Handoffs))
		}
		return r
	}

	// Count-major, so contenders compared in one row group ran close in time.
	for _, n := range cfg.contenders {
		for _, c := range contenders {
			if !c.rw && cfg.runs(c.name) {
				res.Mutex = append(res.Mutex, cell(cellSpec{c: c, n: n, duration: cfg.duration, hold: cfg.hold}, 0))
			}
		}
		for _, pct := range cfg.reads {
			for _, c := range contenders {
				if c.rw && cfg.runs(c.name) {
					res.RW = append(res.RW, cell(cellSpec{c: c, n: n, readPct: pct, duration: cfg.duration, hold: cfg.hold}, 0))
				}
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}

	for _, name := range []string{nameFair, nameEtcdMutex} {
		if !cfg.runs(name) {
			continue
		}
		c, _ := contenderNamed(name)
		if i := slices.IndexFunc(res.Mutex, func(r cellResult) bool { return r.Contender == name && r.N == 1 }); i >= 0 {
			res.Uncontended = append(res.Uncontended, res.Mutex[i])
		} else {
			res.Uncontended = append(res.Uncontended, cell(cellSpec{c: c, n: 1, duration: cfg.duration, hold: cfg.hold}, 0))
		}
		fmt.Fprintf(log, "bench: %-32s", name+" TryLock on a held lock")
		t, err := runTryLock(ctx, endpoints, etcd.Server(), c, cfg.duration)
		if err != nil {
			t.Err = err.Error()
			failed = append(failed, name+" TryLock: "+t.Err)
			fmt.Fprintf(log, " error: %s\n", t.Err)
		} else {
			fmt.Fprintf(log, " %.2f calls, %.2f revisions per TryLock\n", t.Calls, t.RevMoves)
		}
		res.TryLock = append(res.TryLock, t)
	}
	if cfg.runs(nameFair) && len(cfg.history) > 0 {
		c, _ := contenderNamed(nameFair)
		spec := cellSpec{c: c, n: historyContenders, duration: cfg.duration, hold: cfg.hold}
		if i := slices.IndexFunc(res.Mutex, func(r cellResult) bool { return r.Contender == nameFair && r.N == historyContenders }); i >= 0 {
			res.History = append(res.History, res.Mutex[i])
		} else {
			res.History = append(res.History, cell(spec, 0))
		}
		for _, past := range cfg.history {
			res.History = append(res.History, cell(spec, past))
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d measurements failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return res, ctx.Err()
}
