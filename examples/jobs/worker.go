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
	"github.com/fairlock/fairlock/queue"
)

// pollEvery is how often a waiting worker looks up its place in line, for
// the printout. The wait itself is woken by a watch, not by this.
const pollEvery = 100 * time.Millisecond

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
	nodes := make([]*fairlock.Client, 0, cfg.workers)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for i := range cfg.workers {
		// Every entry of the node's line says which node it is.
		n, err := c.Connect(ctx, cfg.ttl, fairlock.Config{Identity: nodeName(i), Hooks: cfg.metrics.Hooks()})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	results := cfg.name + "-results/"
	defer func() {
		// The results only serve the check; leave no litter on a real cluster.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = nodes[0].Etcd().Delete(cctx, results, clientv3.WithPrefix())
	}()

	s := &shared{cfg: cfg, start: time.Now(), out: out}
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range nodes {
		q, err := n.Queue(cfg.name)
		if err != nil {
			return nil, err
		}
		w := &worker{name: nodeName(i), q: q, cli: n.Etcd(), results: results, s: s}
		g.Go(func() error { return w.run(gctx) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s.records, nil
}

func nodeName(i int) string { return fmt.Sprintf("node-%d", i+1) }

// worker is one node submitting jobs.
type worker struct {
	name    string
	q       *queue.Queue
	cli     *clientv3.Client
	results string // key prefix of job results
	s       *shared
}

func (w *worker) run(ctx context.Context) error {
	for j := range w.s.cfg.jobs {
		if err := w.submit(ctx, fmt.Sprintf("%s/job-%d", w.name, j+1)); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return nil
}

// submit puts job in the line, waits for its turn, runs it and leaves.
func (w *worker) submit(ctx context.Context, job string) (err error) {
	r := record{job: job, submitStart: time.Now()}
	t, err := w.q.Join(ctx, job)
	r.submitEnd = time.Now()
	if err != nil {
		return err
	}
	r.rev = t.Rev()
	defer func() {
		// Leave on every path, with a fresh context: after an error or a
		// Ctrl-C the entry must not hold up the line until the lease expires.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queue.CleanupTimeout)
		defer cancel()
		if lerr := t.Leave(lctx); lerr != nil && err == nil {
			err = lerr
		}
	}()

	if err := w.waitTurn(ctx, t); err != nil {
		return err
	}

	r.overlapped = w.s.running.Add(1) != 1
	defer w.s.running.Add(-1)
	w.s.printf("%-7s runs    %s", w.name, job)
	select {
	case <-time.After(w.s.cfg.work):
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Done():
		return fmt.Errorf("%s lost its turn while running: %w", job, queue.ErrLost)
	}
	// Fenced: the result is written only if the job still holds its turn.
	resp, err := w.cli.Txn(ctx).
		If(t.IsOwner()).
		Then(clientv3.OpPut(w.results+job, fmt.Sprintf("done by %s in turn %d", w.name, t.Rev()))).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s lost its turn before writing its result: %w", job, queue.ErrLost)
	}
	r.ranRev = resp.Header.Revision
	w.s.add(r)
	return nil
}

// waitTurn waits until t is at the head of the line, printing its place
// whenever it changes.
func (w *worker) waitTurn(ctx context.Context, t *queue.Ticket) error {
	ahead, err := t.Position(ctx)
	if err != nil {
		return err
	}
	w.s.printf("%-7s submits %s (revision %d), %d ahead", w.name, t.Value(), t.Rev(), ahead)
	if ahead == 0 {
		return t.Wait(ctx) // returns at once: Join saw nothing ahead
	}

	// Wait for the turn (a watch wakes it) while looking up the place in
	// line now and then, for the printout.
	wctx, cancel := context.WithCancel(ctx)
	turn := make(chan error, 1)
	go func() { turn <- t.Wait(wctx) }()
	defer func() {
		cancel()
		if turn != nil {
			<-turn
		}
	}()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-turn:
			turn = nil
			return err
		case <-tick.C:
			now, err := t.Position(ctx)
			if err != nil {
				return err
			}
			if now != ahead && now > 0 {
				w.s.printf("%-7s waits   %s, %d ahead", w.name, t.Value(), now)
			}
			ahead = now
		}
	}
}

func order(records []record) string {
	names := make([]string, len(records))
	for i, r := range byRan(records) {
		names[i] = r.job
	}
	return strings.Join(names, " → ")
}
