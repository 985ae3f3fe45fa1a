package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/examples/internal/cluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// stats is what the run saw, for the summary and the check.
type stats struct {
	reads, torn      int64
	firstTorn        string // what was wrong with the first torn read
	maxHolding       int32  // most readers holding the read lock at once
	overlaps         int64  // times a reader and the writer held the lock together
	minSeen, maxSeen int    // range of versions the readers saw
	written          int    // last version the writer wrote
}

// check fails when any read was torn or a reader held the lock while the
// writer wrote, and when there was nothing to judge.
func (st stats) check() error {
	switch {
	case st.torn > 0:
		return fmt.Errorf("%d of %d reads were torn, the first: %s", st.torn, st.reads, st.firstTorn)
	case st.overlaps > 0:
		return fmt.Errorf("a reader and the writer held the lock together %d times", st.overlaps)
	case st.reads == 0:
		return fmt.Errorf("no reads")
	}
	return nil
}

// shared is the state the readers and the writer of one run share in this
// process; it exists only for printing and checking.
type shared struct {
	cfg   config
	out   io.Writer
	start time.Time

	holding    atomic.Int32 // readers holding the read lock right now
	maxHolding atomic.Int32
	writing    atomic.Bool // the writer holds the write lock
	overlaps   atomic.Int64

	mu sync.Mutex
	st stats
}

func (s *shared) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "%5.2fs  "+format+"\n", append([]any{time.Since(s.start).Seconds()}, args...)...)
}

func (s *shared) sawRead(version int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.reads++
	if err != nil {
		s.st.torn++
		if s.st.firstTorn == "" {
			s.st.firstTorn = err.Error()
		}
		return
	}
	if s.st.minSeen == 0 || version < s.st.minSeen {
		s.st.minSeen = version
	}
	s.st.maxSeen = max(s.st.maxSeen, version)
}

// readWrite runs cfg.readers readers and one writer, each on its own node,
// until the writer has made cfg.updates updates.
func readWrite(ctx context.Context, c *cluster.Cluster, cfg config, out io.Writer) (stats, error) {
	nodes := make([]*fairlock.Client, 0, cfg.readers+1)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for range cfg.readers + 1 {
		n, err := c.Connect(ctx, cfg.ttl, fairlock.Config{})
		if err != nil {
			return stats{}, err
		}
		nodes = append(nodes, n)
	}
	s := &shared{cfg: cfg, out: out, start: time.Now()}
	rw, err := nodes[0].RWMutex(cfg.name)
	if err != nil {
		return stats{}, err
	}
	w := &writer{rw: rw, cli: nodes[0].Etcd(), s: s}

	// A first version before anyone reads: readers of a missing
	// configuration would only see it incomplete.
	if err := w.update(ctx); err != nil {
		return stats{}, err
	}

	rctx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	g, gctx := errgroup.WithContext(rctx)
	for _, n := range nodes[1:] {
		rw, err := n.RWMutex(cfg.name)
		if err != nil {
			return stats{}, err
		}
		r := &reader{rw: rw, cli: n.Etcd(), s: s}
		g.Go(func() error { return r.run(gctx) })
	}
	g.Go(func() error {
		defer stopReaders() // the readers stop with the writer
		for range cfg.updates {
			select {
			case <-time.After(cfg.every):
			case <-gctx.Done():
				return nil
			}
			if err := w.update(gctx); err != nil {
				return stopped(gctx, err)
			}
		}
		// One more interval of reading, to see the last version.
		select {
		case <-time.After(cfg.every):
		case <-gctx.Done():
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return stats{}, err
	}
	if err := ctx.Err(); err != nil {
		return stats{}, err // interrupted, not finished
	}
	s.st.maxHolding = s.maxHolding.Load()
	s.st.overlaps = s.overlaps.Load()
	return s.st, nil
}

// writer updates the configuration under the write lock.
type writer struct {
	rw  *rwmutex.RWMutex
	cli *clientv3.Client
	s   *shared
}

// update writes the next version of the configuration, key by key, under
// the write lock (Do: released when the function returns, whatever
// happens), each Put fenced so that it lands only while the lock is still
// held.
func (w *writer) update(ctx context.Context) error {
	asked := time.Now()
	return w.rw.Do(ctx, func(ctx context.Context) error {
		waited := time.Since(asked)
		w.s.writing.Store(true)
		defer w.s.writing.Store(false)
		if w.s.holding.Load() > 0 && !w.s.cfg.noLock {
			w.s.overlaps.Add(1)
		}

		// Under the write lock nobody else writes: the current version is
		// the one to follow.
		resp, err := w.cli.Get(ctx, w.s.cfg.prefix+"version")
		if err != nil {
			return err
		}
		version := 0
		if len(resp.Kvs) == 1 {
			version, _ = strconv.Atoi(string(resp.Kvs[0].Value))
		}
		next := settings(version + 1)
		began := time.Now()
		for i, f := range fields {
			if i > 0 {
				select {
				case <-time.After(w.s.cfg.step):
				case <-ctx.Done(): // the run ends, or the write lock does
					return context.Cause(ctx)
				}
			}
			resp, err := w.cli.Txn(ctx).
				If(w.rw.IsOwner()).
				Then(clientv3.OpPut(w.s.cfg.prefix+f, next[f])).
				Commit()
			if err != nil {
				return err
			}
			if !resp.Succeeded {
				return fmt.Errorf("writer lost the lock after %d of %d puts: %w", i, len(fields), rwmutex.ErrLost)
			}
		}
		w.s.mu.Lock()
		w.s.st.written = version + 1
		w.s.mu.Unlock()
		w.s.printf("writer: config v%d written in %d fenced puts over %v (token %d, waited %v for the lock)",
			version+1, len(fields), time.Since(began).Round(time.Millisecond), w.rw.Token(), waited.Round(time.Millisecond))
		return nil
	})
}

// reader reads the configuration under the read lock until ctx ends.
type reader struct {
	rw  *rwmutex.RWMutex
	cli *clientv3.Client
	s   *shared
}

func (r *reader) run(ctx context.Context) error {
	for {
		if err := r.read(ctx); err != nil {
			return stopped(ctx, err)
		}
		select {
		case <-time.After(r.s.cfg.readPause):
		case <-ctx.Done():
			return nil
		}
	}
}

// read reads the whole configuration, in one snapshot, under a read lock
// (RDo: released when the function returns, whatever happens), and records
// whether it was consistent. With -no-lock it reads without one.
func (r *reader) read(ctx context.Context) error {
	if r.s.cfg.noLock {
		return r.readSnapshot(ctx)
	}
	return r.rw.RDo(ctx, func(ctx context.Context) error {
		n := r.s.holding.Add(1)
		defer r.s.holding.Add(-1)
		for m := r.s.maxHolding.Load(); n > m && !r.s.maxHolding.CompareAndSwap(m, n); m = r.s.maxHolding.Load() {
		}
		if r.s.writing.Load() {
			r.s.overlaps.Add(1)
		}
		return r.readSnapshot(ctx)
	})
}

// readSnapshot reads the whole configuration in one Get and records
// whether it was consistent.
func (r *reader) readSnapshot(ctx context.Context) error {
	resp, err := r.cli.Get(ctx, r.s.cfg.prefix, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	snapshot := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		snapshot[strings.TrimPrefix(string(kv.Key), r.s.cfg.prefix)] = string(kv.Value)
	}
	r.s.sawRead(consistent(snapshot))
	return nil
}

// stopped turns the error of a reader or writer stopped by the end of the
// run into nil.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
