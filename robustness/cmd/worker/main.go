// Command worker is the robustness suite's worker process: it runs one
// workload (see package workload) until SIGTERM, writing its history, and
// exits after releasing what it holds. "worker job" is the exec
// workload's COMMAND instead. The runner (cmd/robustness) starts it; it is
// no tool for people.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "job" {
		fs := flag.NewFlagSet("job", flag.ExitOnError)
		stamps := fs.String("stamps", "", "history file of the stamps")
		proc := fs.String("proc", "", "the job's name in the history")
		run := fs.Duration("run", time.Second, "how long the job runs")
		stubborn := fs.Bool("stubborn", false, "go on after SIGTERM")
		fs.Parse(os.Args[2:])
		if err := workload.Job(*stamps, *proc, *run, *stubborn); err != nil {
			fmt.Fprintln(os.Stderr, "worker job:", err)
			os.Exit(1)
		}
		return
	}
	var (
		name      = flag.String("workload", "", "the workload (package workload's Specs)")
		proc      = flag.String("proc", "", "this process's name: worker#incarnation")
		role      = flag.String("role", "", `"observer" for an election observer`)
		endpoints = flag.String("endpoints", "", "etcd endpoints, comma-separated")
		ttl       = flag.Duration("ttl", 3*time.Second, "session TTL")
		hist      = flag.String("hist", "", "history file")
		jobs      = flag.String("jobs", "", "history file of the exec workload's jobs")
		fairlock  = flag.String("fairlock", "", "the fairlock command's binary, for the exec workload")
		seed      = flag.Int64("seed", 1, "seed of the worker's random choices")
	)
	flag.Parse()
	if err := run(*name, *proc, *role, *endpoints, *ttl, *hist, *jobs, *fairlock, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(name, proc, role, endpoints string, ttl time.Duration, hist, jobs, fairlock string, seed int64) error {
	spec, err := workload.Find(name)
	if err != nil {
		return err
	}
	if proc == "" || endpoints == "" || hist == "" {
		return fmt.Errorf("fairlock: robustness: -proc, -endpoints and -hist are required")
	}
	h, err := history.Create(hist)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	f := fnv.New64a()
	f.Write([]byte(proc))
	w := &workload.Worker{
		Name: strings.Split(proc, "#")[0], Proc: proc, Role: role, Endpoints: strings.Split(endpoints, ","), TTL: ttl,
		Hist: h, Rand: rand.New(rand.NewPCG(uint64(seed), f.Sum64())), Spec: spec,
		Fairlock: fairlock, Self: self, Jobs: jobs,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = spec.Run(ctx, w)
	stopped := history.Record{Kind: history.Stop}
	if err != nil {
		stopped.Err = err.Error()
	}
	w.Rec(stopped)
	// A history that could not be written whole fails the worker, and the
	// runner's record of its exit fails the run.
	return errors.Join(err, h.Close())
}
