package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// sessionTTL is the contenders' lease TTL in seconds. Every cell closes its
// sessions, so it only matters if the program dies.
const sessionTTL = 10

// drainTimeout bounds how long a cell waits for its contenders to return
// after the window closes, before and after closing their sessions.
const drainTimeout = 15 * time.Second

// cellSpec is one measurement: n contenders of one lock, each a separate
// client with its own session, contending on one fresh lock name.
type cellSpec struct {
	c        contender
	n        int
	readPct  int // share of RLock calls, in percent; 0 for mutexes
	duration time.Duration
	hold     time.Duration // time each hold is kept before Unlock
}

// cellResult is what a cell measured. Per-acquisition figures divide the
// window's counter deltas by the acquisitions granted in the window.
type cellResult struct {
	Contender string
	N         int
	ReadPct   int
	History   int // past entries under the lock not yet compacted, at the start

	Window      time.Duration
	Grants      int
	Reads       int
	PerSec      float64
	Handoffs    int
	HandoffP50  time.Duration
	HandoffP99  time.Duration
	CycleP50    time.Duration // Lock start to Unlock return
	CycleP99    time.Duration
	Calls       float64 // unary server calls per acquisition
	LockCalls   float64 // of those, calls made inside Lock (RWMutex: write locks)
	RLockCalls  float64 // calls made inside RLock, per read acquisition
	Events      float64 // watch events sent per acquisition
	WatchReqs   float64 // watch create/cancel requests per acquisition
	Fsyncs      float64 // WAL fsyncs per acquisition
	OvertakeMax int     // by call start
	Overtakes   int
	JoinedMax   int // of callers the server already knew of
	Joined      int
	Violations  int
	Err         string
}

// member is one contender: its own client, session and lock value.
type member struct {
	probe *probe
	cli   *clientv3.Client
	s     *concurrency.Session
	l     locker
}

func newClient(endpoints []string, p *probe) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(p.unary)},
	})
}

// openMembers opens n contenders of c on the lock called name, in parallel,
// their probes reporting to rec (which may be nil). On error it closes what
// it opened.
func openMembers(ctx context.Context, endpoints []string, c contender, name string, n int, rec *recorder) ([]*member, error) {
	members := make([]*member, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := &probe{rec: rec}
			cli, err := newClient(endpoints, p)
			if err != nil {
				errs[i] = err
				return
			}
			s, err := concurrency.NewSession(cli, concurrency.WithTTL(sessionTTL), concurrency.WithContext(ctx))
			if err != nil {
				cli.Close()
				errs[i] = err
				return
			}
			l, err := c.open(s, name)
			if err != nil {
				s.Close()
				cli.Close()
				errs[i] = err
				return
			}
			members[i] = &member{probe: p, cli: cli, s: s, l: l}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeMembers(members)
		return nil, err
	}
	return members, nil
}

// closeMembers revokes every session (deleting its keys, which also
// unblocks a waiter that cannot be cancelled) and closes every client.
func closeMembers(members []*member) {
	var wg sync.WaitGroup
	for _, m := range members {
		if m == nil {
			continue
		}
		wg.Go(func() {
			m.s.Close()
			m.cli.Close()
		})
	}
	wg.Wait()
}

var cellSeq atomic.Int64

// slice is one run of a cell's contenders; a cell is one or more slices,
// interleaved with the other contenders' so that all of them see the same
// spells of a busy disk or CPU.
type slice struct {
	window time.Duration
	delta  counters  // etcd's counters over the window
	rec    *recorder // stopped
	err    string    // first contender error in the window
}

// runCell runs a cell as a single slice on a fresh lock.
func runCell(ctx context.Context, endpoints []string, spec cellSpec) (cellResult, error) {
	return runCellNamed(ctx, endpoints, spec, freshName(spec.c))
}

// runCellNamed runs a cell as a single slice on the lock called name.
func runCellNamed(ctx context.Context, endpoints []string, spec cellSpec, name string) (cellResult, error) {
	sl, err := runSlice(ctx, endpoints, spec, name)
	if err != nil {
		return cellResult{Contender: spec.c.name, N: spec.n, ReadPct: spec.readPct}, err
	}
	return summarize(spec, []slice{sl}), nil
}

func freshName(c contender) string {
	return fmt.Sprintf("/bench/%s/c%d", c.name, cellSeq.Add(1))
}

// runSlice opens the contenders, lets them loop Lock, hold, Unlock on the
// lock called name for spec.duration, and reads the book and etcd's
// counters.
func runSlice(ctx context.Context, endpoints []string, spec cellSpec, name string) (slice, error) {
	rec := newRecorder()
	members, err := openMembers(ctx, endpoints, spec.c, name, spec.n, rec)
	if err != nil {
		return slice{}, fmt.Errorf("open %d contenders: %w", spec.n, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := make(chan struct{})
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		if runCtx.Err() == nil { // errors after the window are the teardown's
			errOnce.Do(func() { firstErr = err })
		}
	}
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(spec.readPct)))
			<-start
			for runCtx.Err() == nil {
				read := rng.IntN(100) < spec.readPct
				a := rec.arrive(read)
				m.probe.arm(a)
				err := m.l.lock(runCtx, read)
				m.probe.disarm()
				if err != nil {
					rec.abandon(a)
					fail(fmt.Errorf("contender %d: lock: %w", i, err))
					return
				}
				rec.grant(a)
				if spec.hold > 0 {
					time.Sleep(spec.hold)
				}
				rec.release(read)
				// Unlock must outlive the window: a hold is never left behind.
				uctx, ucancel := context.WithTimeout(context.WithoutCancel(runCtx), drainTimeout)
				err = m.l.unlock(uctx, read)
				ucancel()
				if err != nil {
					fail(fmt.Errorf("contender %d: unlock: %w", i, err))
					return
				}
				rec.cycle(a)
			}
		})
	}

	before, err := readCounters()
	if err != nil {
		cancel()
		closeMembers(members)
		wg.Wait()
		return slice{}, err
	}
	rec.begin()
	close(start)
	timer := time.NewTimer(spec.duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	window := rec.stop()
	after, err := readCounters()
	cancel()

	// Cancellable contenders return by themselves; recipes.RWMutex needs its
	// blockers' sessions gone.
	drained := waitTimeout(&wg, drainTimeout)
	closeMembers(members)
	if !drained && !waitTimeout(&wg, drainTimeout) {
		return slice{}, fmt.Errorf("contenders still running %v after the window", 2*drainTimeout)
	}
	if err != nil {
		return slice{}, err
	}
	if err := ctx.Err(); err != nil {
		return slice{}, err
	}
	sl := slice{window: window, delta: after.sub(before), rec: rec}
	if firstErr != nil {
		sl.err = firstErr.Error()
	}
	return sl, nil
}

// summarize merges a cell's slices: counts and counters add up, latency
// samples pool, the worst overtaken caller is the worst of any slice.
func summarize(spec cellSpec, slices []slice) cellResult {
	res := cellResult{Contender: spec.c.name, N: spec.n, ReadPct: spec.readPct}
	var handoffs, cycles []time.Duration
	var delta counters
	var lockCalls [2]int
	for _, sl := range slices {
		r := sl.rec
		r.mu.Lock()
		res.Window += sl.window
		res.Grants += r.grants
		res.Reads += r.reads
		lockCalls[0] += r.lockCalls[0]
		lockCalls[1] += r.lockCalls[1]
		handoffs = append(handoffs, r.handoffs...)
		cycles = append(cycles, r.cycles...)
		res.Overtakes += r.overtakesTotal
		res.OvertakeMax = max(res.OvertakeMax, r.overtakesMax)
		res.Joined += r.joinedTotal
		res.JoinedMax = max(res.JoinedMax, r.joinedMax)
		res.Violations += r.violations
		r.mu.Unlock()
		delta = delta.add(sl.delta)
		if sl.err != "" && res.Err == "" {
			res.Err = sl.err
		}
	}
	if res.Window > 0 {
		res.PerSec = float64(res.Grants) / res.Window.Seconds()
	}
	res.Handoffs = len(handoffs)
	res.HandoffP50, res.HandoffP99 = percentile(handoffs, 50), percentile(handoffs, 99)
	res.CycleP50, res.CycleP99 = percentile(cycles, 50), percentile(cycles, 99)
	if res.Grants > 0 {
		g := float64(res.Grants)
		res.Calls, res.Events, res.WatchReqs = delta.unary/g, delta.events/g, delta.watches/g
		res.Fsyncs = delta.fsyncs / g
	}
	if w := res.Grants - res.Reads; w > 0 {
		res.LockCalls = float64(lockCalls[0]) / float64(w)
	}
	if res.Reads > 0 {
		res.RLockCalls = float64(lockCalls[1]) / float64(res.Reads)
	}
	return res
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}
