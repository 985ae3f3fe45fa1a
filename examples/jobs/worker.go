package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/examples/internal/cluster"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// record is what one job left behind, for the final check.
type record struct {
	job    string
	rev    int64 // create revision of its entry: its place in the line
	ranRev int64 // revision of its fenced result write: when it ran, as etcd saw it
	// Real time around Join: a job whose Join returned before another's
	// began was submitted first, whatever the clocks of real machines say.
	submitStart, submitEnd time.Time
	overlapped             bool // another job was running when it started
}

// shared is the state the workers of one run share in this process; it
// exists only for printing and for the final check.
type shared struct {
	cfg     config
	start   time.Time
	running atomic.Int32 // jobs running right now, in this process

	mu      sync.Mutex
	out     io.Writer
	records []record
}

func (s *shared) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "%5.2fs  "+format+"\n", append([]any{time.Since(s.start).Seconds()}, args...)...)
}

func (s *shared) add(r record) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

// runWorkers starts cfg.workers workers, each on its own node, and returns
// the records of every job once all have run.
func runWorkers(ctx context.Context, c *cluster.Cluster, cfg config, out io.Writer) ([]record, error) {
	s := &shared{cfg: cfg, start: time.Now(), out: out}
	nodes := make([]*fairlock.Client, 0, cfg.workers)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	workers := make([]*worker, cfg.workers)
	for i := range workers {
		w := &worker{name: nodeName(i), results: cfg.name + "-results/", s: s}
		// Every entry of the node's line says which node it is.
		n, err := c.Connect(ctx, cfg.ttl, fairlock.Config{Identity: w.name, Hooks: w.hooks(cfg.metrics.Hooks())})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		if w.m, err = n.Mutex(cfg.name); err != nil {
			return nil, err
		}
		w.cli = n.Etcd()
		workers[i] = w
	}
	defer func() {
		// The results only serve the check; leave no litter on a real cluster.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queue.CleanupTimeout)
		defer cancel()
		_, _ = nodes[0].Etcd().Delete(cctx, workers[0].results, clientv3.WithPrefix())
	}()

	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error { return w.run(gctx) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s.records, nil
}

func nodeName(i int) string { return fmt.Sprintf("node-%d", i+1) }

// worker is one node submitting jobs, one after the other.
type worker struct {
	name    string
	m       *fairmutex.Mutex // the job line's lock, on the node's session
	cli     *clientv3.Client
	results string // key prefix of job results
	s       *shared

	cur record // the job being submitted; the Joined hook fills in its place
}

func (w *worker) run(ctx context.Context) error {
	for j := range w.s.cfg.jobs {
		if err := w.submit(ctx, fmt.Sprintf("%s/job-%d", w.name, j+1)); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return nil
}

// hooks are the node's hooks: those of the metrics, and a print of every
// join, where the job learns its place in line.
func (w *worker) hooks(metrics *queue.Hooks) *queue.Hooks {
	h := *metrics
	h.Joined = func(i queue.JoinInfo) {
		if metrics.Joined != nil {
			metrics.Joined(i)
		}
		// Hooks run on the goroutine of the call: this is submit's.
		w.cur.rev, w.cur.submitEnd = i.Token, time.Now()
		w.s.printf("%-7s submits %s (revision %d), %d ahead", w.name, w.cur.job, i.Token, i.Ahead)
	}
	return &h
}

// submit runs job under the lock, in submission order: Do joins the line,
// waits for the turn, runs the job, and gives the turn back whatever
// happens (an error, Ctrl-C, a panic), with a context of its own.
func (w *worker) submit(ctx context.Context, job string) error {
	w.cur = record{job: job, submitStart: time.Now()}
	return w.m.Do(ctx, func(ctx context.Context) error {
		// ctx ends if the turn does (lost, or Done at HeldUntil) or the run
		// is interrupted.
		r := w.cur
		r.overlapped = w.s.running.Add(1) != 1
		defer w.s.running.Add(-1)
		w.s.printf("%-7s runs    %s", w.name, job)
		select {
		case <-time.After(w.s.cfg.work):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		// Fenced: the result is written only if the job still holds its turn.
		resp, err := w.cli.Txn(ctx).
			If(w.m.IsOwner()).
			Then(clientv3.OpPut(w.results+job, fmt.Sprintf("done by %s in turn %d", w.name, w.m.Token()))).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("%s lost its turn before writing its result: %w", job, fairlock.ErrLost)
		}
		r.ranRev = resp.Header.Revision
		w.s.add(r)
		return nil
	})
}

func order(records []record) string {
	names := make([]string, len(records))
	for i, r := range byRan(records) {
		names[i] = r.job
	}
	return strings.Join(names, " → ")
}
