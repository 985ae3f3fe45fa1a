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

	"github.com/fairlock/fairlock/etcdtest"
)

// config is what the flags set.
type config struct {
	duration   time.Duration
	rounds     int // slices each cell's duration is cut into, taken in turns
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
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long each cell runs, in all")
	flag.IntVar(&cfg.rounds, "rounds", 3, "slices each cell is cut into; the contenders of one count take turns slice by slice")
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
	if cfg.duration <= 0 || cfg.rounds < 1 {
		fatalf("-duration and -rounds must be positive")
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
	Rounds      int
	Hold        time.Duration
	Mutex       []cellResult // every mutex contender at every count
	RW          []cellResult // every read-write contender at every count and mix
	Uncontended []cellResult // one contender, for the Lock+Unlock latency
	History     []cellResult // fairmutex on a lock with uncompacted past entries
	TryLock     []tryResult
	FsyncMean   time.Duration // WAL fsync latency over the whole run
	OthersCPU   float64       // share of the machine's CPU other processes used during the run; -1 unknown
	FsyncP99    time.Duration // upper bound of its bucket
}

func (c config) runs(name string) bool { return c.only == nil || c.only[name] }

// run starts an embedded etcd and measures every selected contender on it,
// logging progress to log. It returns what it measured even on error; a
// cell that failed carries its error in Err.
func run(ctx context.Context, cfg config, log io.Writer) (*results, error) {
	etcd, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: cfg.noFsync, LogLevel: "fatal"})
	if err != nil {
		return nil, err
	}
	defer etcd.Close()
	endpoints := etcd.Endpoints()
	res := &results{Machine: describeMachine(!cfg.noFsync), Duration: cfg.duration, Rounds: cfg.rounds, Hold: cfg.hold}
	fmt.Fprintf(log, "bench: etcd %s, fsync %s, %v per cell in %d slices, load %s\n",
		res.Machine.Etcd, res.Machine.fsyncText(), cfg.duration, cfg.rounds, res.Machine.LoadAvg)

	cpu0 := sampleCPU()
	defer func() {
		res.OthersCPU = -1
		if share, ok := othersShare(cpu0, sampleCPU()); ok {
			res.OthersCPU = share
		}
	}()
	if first, err := readCounters(); err == nil {
		defer func() {
			if last, err := readCounters(); err == nil {
				d := last.sub(first)
				res.FsyncMean, res.FsyncP99 = d.fsyncMean(), d.fsyncQuantile(0.99)
			}
		}()
	}
	var failed []string
	labelOf := func(spec cellSpec) string {
		label := fmt.Sprintf("%s n=%d", spec.c.name, spec.n)
		if spec.c.rw {
			label += fmt.Sprintf(" reads=%d%%", spec.readPct)
		}
		return label
	}
	report := func(label string, r cellResult) cellResult {
		fmt.Fprintf(log, "bench: %-36s", label)
		if r.Err != "" {
			failed = append(failed, label+": "+r.Err)
			fmt.Fprintf(log, " error: %s\n", r.Err)
		} else {
			fmt.Fprintf(log, " %8.1f acq/s  p99 handoff %s\n", r.PerSec, fmtMs(r.HandoffP99, r.Handoffs))
		}
		return r
	}
	// cell runs spec in one piece (after past entries, if past > 0).
	cell := func(spec cellSpec, past int) cellResult {
		label := labelOf(spec)
		var r cellResult
		var err error
		if past > 0 {
			label += fmt.Sprintf(" past=%d", past)
			r, err = runHistory(ctx, endpoints, spec, past)
		} else {
			r, err = runCell(ctx, endpoints, spec)
		}
		if err != nil && r.Err == "" {
			r.Err = err.Error()
		}
		return report(label, r)
	}

	// Count-major; within a count the contenders take turns in slices, so
	// that figures compared in one row group saw the same spells of a busy
	// disk or CPU (the machine may be shared).
	for _, n := range cfg.contenders {
		var specs []cellSpec
		for _, c := range contenders {
			if !c.rw && cfg.runs(c.name) {
				specs = append(specs, cellSpec{c: c, n: n, duration: cfg.duration, hold: cfg.hold})
			}
		}
		for _, pct := range cfg.reads {
			for _, c := range contenders {
				if c.rw && cfg.runs(c.name) {
					specs = append(specs, cellSpec{c: c, n: n, readPct: pct, duration: cfg.duration, hold: cfg.hold})
				}
			}
		}
		pieces := make([][]slice, len(specs))
		errs := make([]string, len(specs))
		for range cfg.rounds {
			for i, spec := range specs {
				spec.duration = cfg.duration / time.Duration(cfg.rounds)
				sl, err := runSlice(ctx, endpoints, spec, freshName(spec.c))
				if err != nil {
					errs[i] = err.Error()
					continue
				}
				pieces[i] = append(pieces[i], sl)
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		for i, spec := range specs {
			r := summarize(spec, pieces[i])
			if errs[i] != "" && r.Err == "" {
				r.Err = errs[i]
			}
			if spec.c.rw {
				res.RW = append(res.RW, report(labelOf(spec), r))
			} else {
				res.Mutex = append(res.Mutex, report(labelOf(spec), r))
			}
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
