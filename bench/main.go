package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what the flags set.
type config struct {
	duration   time.Duration
	rounds     int // slices each cell's duration is cut into, taken in turns
	contenders []int
	reads      []int           // read shares (percent) for the read-write locks
	only       map[string]bool // contenders to run; nil runs all
	history    []int           // past acquisitions for the history cells, ascending; none skips them
	semLimit   int
	semCounts  []int // contenders of the semaphore cells
	elections  []int // candidates of the election cells
	multiN     []int // callers of the multi-lock cells
	multiK     []int // locks per multi-lock call
	multiLines int   // locks the multi-lock calls choose from
	kaTTL      int   // lease TTL of the keep-alive probe, seconds; 0 skips it
	kaTTLs     int   // TTLs the keep-alive probe counts over, at least
	hold       time.Duration
	noFsync    bool
	out        string
	groups     map[string]bool // row groups to run; nil runs all
	holds      int             // locks one session holds in the holds rows
	lines      []int           // waiters of the long-line rows

	wsemCounts    []int // contenders of the weighted semaphore cells
	wsemLimit     int   // limit of the weighted semaphore cells
	wsemMaxWeight int   // each weighted acquisition's weight is drawn from 1 to it

	tenantMixes []tenantMix     // contenders per tenant, and shares, of the tenants cells
	tenantHolds []time.Duration // holds of the tenants cells
}

// rowGroups are the names -groups takes.
var rowGroups = []string{"mutex", "uncontended", "semaphore", "weighted", "election", "multi", "trylock", "history", "holds",
	"line", "tenants"}

// group reports whether row group name is to run.
func (c config) group(name string) bool { return c.groups == nil || c.groups[name] }

func main() {
	cfg := config{kaTTLs: 4}
	var contenders, reads, only, history, semCounts, elections, multiN, multiK, groups, lines, wsemCounts string
	var tenantMixes, tenantHolds string
	quick := flag.Bool("quick", false, "a short run for checking the harness: shorter cells, fewer counts (figures not for publishing)")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long each cell runs, in all")
	flag.IntVar(&cfg.rounds, "rounds", 5, "slices each cell is cut into; the contenders of one count take turns slice by slice")
	flag.StringVar(&contenders, "contenders", "1,2,8,32,64", "numbers of contenders of the mutexes and read-write locks, comma-separated")
	flag.StringVar(&reads, "reads", "90,50", "read shares in percent for the read-write locks, comma-separated")
	flag.StringVar(&only, "only", "", "run only these contenders, comma-separated: "+strings.Join(contenderNames(), ","))
	flag.StringVar(&history, "history", "10000,50000", "past acquisitions under the lock, for the fairmutex history cells; empty skips them")
	flag.IntVar(&cfg.semLimit, "sem-limit", 4, "permits of the semaphore cells")
	flag.StringVar(&semCounts, "sem-contenders", "8,16,32,64", "numbers of contenders of the semaphores; empty skips them")
	flag.IntVar(&cfg.wsemLimit, "wsem-limit", 8, "limit of the weighted semaphore cells")
	flag.IntVar(&cfg.wsemMaxWeight, "wsem-max-weight", 4, "each weighted acquisition's weight is drawn from 1 to this (at most -wsem-limit)")
	flag.StringVar(&wsemCounts, "wsem-contenders", "8,16,32", "numbers of contenders of the weighted semaphores; empty skips them")
	flag.StringVar(&tenantMixes, "tenant-mixes", "6+2,6:2+2,5+1+1+1", "tenants cells: contenders per tenant joined by '+', "+
		"each with ':share' unless 1 (\"6:2+2\": six contenders of share 2 beside two of share 1), comma-separated; empty skips them")
	flag.StringVar(&tenantHolds, "tenant-holds", "5ms,0s", "how long each hold of the tenants cells is kept, comma-separated: "+
		"a few ms lets a tenant of one contender be back in line before its turn comes round again")
	flag.StringVar(&elections, "candidates", "2,8,32", "numbers of candidates of the elections; empty skips them")
	flag.StringVar(&multiN, "multi-callers", "8,32", "numbers of callers of the multi-lock cells; empty skips them")
	flag.StringVar(&multiK, "multi-k", "2,4", "locks per multi-lock call, comma-separated")
	flag.IntVar(&cfg.multiLines, "multi-locks", 8, "locks the multi-lock calls choose from (at most 64)")
	flag.IntVar(&cfg.kaTTL, "keepalive-ttl", 3, "lease TTL in seconds of the keep-alive probe, which runs alongside the history cells; 0 skips it")
	flag.DurationVar(&cfg.hold, "hold", 0, "how long each hold is kept before Unlock")
	flag.StringVar(&groups, "groups", "", "run only these row groups, comma-separated: "+strings.Join(rowGroups, ",")+"; empty runs all")
	flag.IntVar(&cfg.holds, "holds", 5000, "locks one session holds in the holds rows")
	flag.StringVar(&lines, "lines", "1000,3000", "waiters on one lock in the long-line rows, comma-separated; empty skips them")
	flag.BoolVar(&cfg.noFsync, "nofsync", false, "turn etcd's fsync off (unsafe; not how the figures are meant to be read)")
	flag.StringVar(&cfg.out, "out", "", "directory for results.md and chart.svg; empty writes none")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (clients and etcd server) to this file")
	flag.Parse()
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*string{"contenders": &contenders, "reads": &reads, "history": &history,
			"sem-contenders": &semCounts, "candidates": &elections, "multi-callers": &multiN, "lines": &lines,
			"wsem-contenders": &wsemCounts, "tenant-holds": &tenantHolds} {
			if !set[name] {
				*v = quickDefaults[name]
			}
		}
		if !set["duration"] {
			cfg.duration = time.Second
		}
		if !set["rounds"] {
			cfg.rounds = 2
		}
		if !set["holds"] {
			cfg.holds = 1000
		}
	}

	var err error
	ints := func(flagName, s string, least int, optional bool) []int {
		if s == "" && optional {
			return nil
		}
		v, err := parseInts(s, least)
		if err != nil {
			fatalf("-%s: %v", flagName, err)
		}
		return v
	}
	cfg.contenders = ints("contenders", contenders, 1, false)
	if cfg.reads, err = parseInts(reads, 0); err != nil || slices.ContainsFunc(cfg.reads, func(p int) bool { return p > 100 }) {
		fatalf("-reads: want percentages, got %q", reads)
	}
	cfg.history = ints("history", history, 1, true)
	slices.Sort(cfg.history)
	cfg.semCounts = ints("sem-contenders", semCounts, 1, true)
	cfg.elections = ints("candidates", elections, 1, true)
	cfg.wsemCounts = ints("wsem-contenders", wsemCounts, 1, true)
	if cfg.wsemMaxWeight < 1 || cfg.wsemMaxWeight > cfg.wsemLimit {
		fatalf("-wsem-max-weight: want 1 to -wsem-limit (%d)", cfg.wsemLimit)
	}
	cfg.multiN = ints("multi-callers", multiN, 1, true)
	cfg.multiK = ints("multi-k", multiK, 1, false)
	if cfg.multiLines < 1 || cfg.multiLines > 64 || slices.Max(cfg.multiK) > cfg.multiLines {
		fatalf("-multi-locks: want 1 to 64 locks, at least the largest -multi-k")
	}
	cfg.lines = ints("lines", lines, 1, true)
	if cfg.tenantMixes, cfg.tenantHolds, err = parseTenantFlags(tenantMixes, tenantHolds); err != nil {
		fatalf("%v", err)
	}
	if groups != "" {
		cfg.groups = map[string]bool{}
		for _, g := range strings.Split(groups, ",") {
			g = strings.TrimSpace(g)
			if !slices.Contains(rowGroups, g) {
				fatalf("-groups: unknown row group %q (want %s)", g, strings.Join(rowGroups, ","))
			}
			cfg.groups[g] = true
		}
	}
	if cfg.holds < 1 {
		fatalf("-holds: want at least 1")
	}
	if cfg.semLimit < 1 {
		fatalf("-sem-limit: want at least 1")
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

// quickDefaults are the list flags' values under -quick.
var quickDefaults = map[string]string{
	"contenders":      "1,2,8,32",
	"reads":           "90",
	"history":         "2000,10000",
	"sem-contenders":  "8,32",
	"candidates":      "2,8",
	"multi-callers":   "8",
	"lines":           "300",
	"wsem-contenders": "8,32",
	"tenant-holds":    "5ms",
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
