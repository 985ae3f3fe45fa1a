// Command jobs runs jobs one at a time across a cluster, in the order they
// were submitted.
//
// Several workers, each with its own etcd client and session as if on
// separate machines, submit jobs to one lock (fairmutex.Mutex.Do). Do
// joins the line (a hook prints the revision the job got and how many were
// ahead), waits for the turn, runs the job, which records its result with
// a write fenced by Mutex.IsOwner, and gives the turn back whatever
// happens. At the end the program checks, from etcd's own record, that the
// jobs ran one at a time in submission order, which is create-revision
// order, and prints a verdict: "OK: ..." (exit status 0) or "FAIL: ..."
// (exit status 1).
//
//	go run ./examples/jobs
//	go run ./examples/jobs -workers 5 -jobs 3 -work 200ms
//	FAIRLOCK_ENDPOINTS=localhost:2379 go run ./examples/jobs
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/examples/internal/cluster"
	fairlockprom "github.com/fairlock/fairlock/prometheus"
)

type config struct {
	endpoints string           // "" starts an embedded etcd
	embed     etcdtest.Options // for the embedded etcd
	name      string           // lock name of the job line
	workers   int
	jobs      int           // per worker
	work      time.Duration // how long each job runs
	ttl       int           // session TTL, seconds

	metrics *fairlockprom.Collector // set by run; every worker's line feeds it
}

func main() {
	cfg := config{ttl: 10}
	flag.StringVar(&cfg.endpoints, "endpoints", cluster.DefaultEndpoints(), cluster.EndpointsUsage)
	flag.StringVar(&cfg.name, "name", "/fairlock-examples/jobs", "lock name of the job line (its keys live under NAME/)")
	flag.IntVar(&cfg.workers, "workers", 3, "number of workers, each with its own client and session")
	flag.IntVar(&cfg.jobs, "jobs", 2, "jobs each worker submits, one after the other")
	flag.DurationVar(&cfg.work, "work", 500*time.Millisecond, "how long each job runs")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: jobs [flags]\n\n"+
			"Workers on separate sessions submit jobs to one fairlock line; the jobs run\n"+
			"one at a time, cluster-wide, in submission order.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if cfg.workers < 1 || cfg.jobs < 1 || cfg.work < 0 {
		fmt.Fprintln(os.Stderr, "jobs: -workers and -jobs must be at least 1, -work not negative")
		os.Exit(2)
	}

	cluster.Main("jobs", func(ctx context.Context, out io.Writer) error { return run(ctx, cfg, out) })
}

// run starts or connects to etcd, runs the workers and checks the order.
func run(ctx context.Context, cfg config, out io.Writer) error {
	c, err := cluster.Open(ctx, cfg.endpoints, cfg.embed, out)
	if err != nil {
		return err
	}
	defer c.Close()

	fmt.Fprintf(out, "%d workers submit %d jobs each to line %s; each job runs for %v\n",
		cfg.workers, cfg.jobs, cfg.name, cfg.work)
	cfg.metrics = fairlockprom.New()
	records, err := runWorkers(ctx, c, cfg, out)
	if err != nil {
		return err
	}
	if err := check(records); err != nil {
		fmt.Fprintf(out, "FAIL: %v\n", err)
		printMetrics(out, cfg.metrics)
		return fmt.Errorf("%w: %v", cluster.ErrCheckFailed, err)
	}
	fmt.Fprintf(out, "execution order: %s\n", order(records))
	fmt.Fprintf(out, "OK: %d jobs from %d workers ran one at a time, in submission (create revision) order\n",
		len(records), cfg.workers)
	return printMetrics(out, cfg.metrics)
}
