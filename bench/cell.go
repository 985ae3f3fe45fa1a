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

	"github.com/fairlock/fairlock/queue"
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
	limit    int // semaphores: permits at once; 0 for the others
	lines    int // multi-lock cells: locks to choose from
	k        int // multi-lock cells: locks per call
	duration time.Duration
	hold     time.Duration // time each hold is kept before Unlock

	maxWeight int // weighted semaphores: weights are drawn from 1 to maxWeight; 0 for the others

	mix    tenantMix // tenants cells: the contenders' tenants; nil for the others
	member int       // which of the n contenders open is opening
}

// label names the cell in the progress log.
func (spec cellSpec) label() string {
	label := fmt.Sprintf("%s n=%d", spec.c.name, spec.n)
	switch {
	case spec.c.kind == kindRW:
		label += fmt.Sprintf(" reads=%d%%", spec.readPct)
	case spec.limit > 0 && spec.maxWeight > 0:
		label += fmt.Sprintf(" limit=%d w=1-%d", spec.limit, spec.maxWeight)
	case spec.limit > 0:
		label += fmt.Sprintf(" limit=%d", spec.limit)
	case spec.k > 0:
		label += fmt.Sprintf(" k=%d/%d", spec.k, spec.lines)
	case spec.mix != nil:
		label += fmt.Sprintf(" mix=%s hold=%v", spec.mix, spec.hold)
	}
	return label
}

// cellResult is what a cell measured. Per-acquisition figures divide the
// window's counter deltas by the acquisitions granted in the window.
type cellResult struct {
	Contender string
	N         int
	ReadPct   int
	Limit     int // semaphores
	Lines, K  int // multi-lock cells

	Window      time.Duration
	Grants      int
	Reads       int
	PerSec      float64
	Handoffs    int
	HandoffP50  time.Duration
	HandoffP99  time.Duration
	WaitP50     time.Duration // Lock start to grant
	WaitP99     time.Duration
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

	MaxWeight  int     // weighted semaphores: weights drawn from 1 to MaxWeight
	MeanWeight float64 // weighted semaphores: mean weight granted

	Tenants *tenantFigures // tenants cells; nil for the others
}

// member is one contender: its own client, session and lock value.
type member struct {
	probe *probe
	cli   *clientv3.Client
	s     *concurrency.Session
	l     locker
}

func newClient(endpoints []string, p *probe, opts ...grpc.DialOption) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(p.unary)}, opts...),
	})
}

// openMembers opens spec.n contenders of spec.c on the lock called name,
// in parallel. On error it closes what it opened.
func openMembers(ctx context.Context, endpoints []string, spec cellSpec, name string) ([]*member, error) {
	members := make([]*member, spec.n)
	errs := make([]error, spec.n)
	var wg sync.WaitGroup
	for i := range spec.n {
		wg.Go(func() {
			p := &probe{}
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
			ms := spec
			ms.member = i
			l, err := spec.c.open(s, name, ms)
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

	leftKeys int // tenants cells: keys left under the lock once every contender returned
}

func freshName(c contender) string {
	return fmt.Sprintf("/bench/%s/c%d", c.name, cellSeq.Add(1))
}

// runSlice opens the contenders on the lock called name, lets them loop
// Lock, hold, Unlock for spec.duration, and closes them.
func runSlice(ctx context.Context, endpoints []string, spec cellSpec, name string) (slice, error) {
	members, err := openMembers(ctx, endpoints, spec, name)
	if err != nil {
		return slice{}, fmt.Errorf("open %d contenders: %w", spec.n, err)
	}
	defer closeMembers(members)
	sl, err := measure(ctx, members, spec)
	if err == nil && spec.mix != nil {
		sl.leftKeys, err = keysLeft(ctx, members[0].cli, name)
	}
	return sl, err
}

// keysLeft counts the keys under the lock called name, waiting up to
// queue.CleanupTimeout for them to go: a Lock that returns its ctx's
// error has removed its entries by then, unless etcd could not be reached.
func keysLeft(ctx context.Context, cli *clientv3.Client, name string) (int, error) {
	deadline := time.Now().Add(queue.CleanupTimeout)
	for {
		resp, err := cli.Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return 0, fmt.Errorf("count keys left: %w", err)
		}
		if resp.Count == 0 || time.Now().After(deadline) {
			return int(resp.Count), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// measure lets members loop Lock, hold, Unlock for spec.duration and reads
// the book and etcd's counters. The members stay open unless they could
// not be stopped otherwise (recipes.RWMutex's calls end only when the
// sessions they wait for are gone): then it closes them and says so.
func measure(ctx context.Context, members []*member, spec cellSpec) (slice, error) {
	rec := newRecorder(spec.limit)
	if spec.mix != nil {
		rec.tenants = newTenantBook(spec.mix)
	}
	before, err := readCounters()
	if err != nil {
		return slice{}, err
	}
	rec.begin()
	d := drive(ctx, members, spec, rec)
	timer := time.NewTimer(spec.duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	window := rec.stop()
	after, err := readCounters()
	if !d.stop() {
		closeMembers(members)
		if !waitTimeout(&d.wg, drainTimeout) {
			return slice{}, fmt.Errorf("contenders still running %v after the window", 2*drainTimeout)
		}
		err = errors.Join(err, errClosed)
	}
	if err != nil {
		return slice{}, err
	}
	if err := ctx.Err(); err != nil {
		return slice{}, err
	}
	sl := slice{window: window, delta: after.sub(before), rec: rec}
	if err := d.err(); err != nil {
		sl.err = err.Error()
	}
	return sl, nil
}

// errClosed says measure had to close the members to stop them.
var errClosed = errors.New("contenders closed to stop them")

// driver runs a cell's contenders.
type driver struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	firstErr error
}

var driveSeq atomic.Uint64

// drive starts every member looping Lock, hold, Unlock, booked in rec,
// until stop.
func drive(ctx context.Context, members []*member, spec cellSpec, rec *recorder) *driver {
	runCtx, cancel := context.WithCancel(ctx)
	d := &driver{cancel: cancel}
	fail := func(err error) {
		if runCtx.Err() == nil { // errors after the window are the teardown's
			d.mu.Lock()
			if d.firstErr == nil {
				d.firstErr = err
			}
			d.mu.Unlock()
		}
	}
	seed := driveSeq.Add(1)
	for i, m := range members {
		d.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), seed))
			wrng := newWeightRand(i)
			tenant := -1
			if t, ok := m.l.(tenanted); ok {
				tenant = t.tenant()
			}
			for runCtx.Err() == nil {
				read := rng.IntN(100) < spec.readPct
				var lines uint64
				if p, ok := m.l.(picker); ok {
					lines = p.pick(rng)
				}
				weight := 1
				if w, ok := m.l.(weigher); ok {
					weight = w.weigh(wrng)
				}
				a := rec.arriveAs(read, lines, weight, tenant)
				m.probe.arm(rec, a)
				err := m.l.lock(runCtx, read)
				m.probe.disarm()
				if err != nil {
					rec.abandon(a)
					fail(fmt.Errorf("contender %d: lock: %w", i, err))
					return
				}
				if tk, ok := m.l.(interface{ token() int64 }); ok {
					a.token = tk.token()
				}
				rec.grant(a)
				if spec.hold > 0 {
					time.Sleep(spec.hold)
				}
				rec.release(a)
				// Unlock must outlive the window: a hold is never left behind.
				uctx, ucancel := context.WithTimeout(context.WithoutCancel(runCtx), drainTimeout)
				m.probe.armRelease(rec, a)
				err = m.l.unlock(uctx, read)
				m.probe.disarm()
				ucancel()
				if err != nil {
					fail(fmt.Errorf("contender %d: unlock: %w", i, err))
					return
				}
				rec.cycle(a)
			}
		})
	}
	return d
}

// stop ends the loops and waits for them, at most drainTimeout; it reports
// whether they all returned.
func (d *driver) stop() bool {
	d.cancel()
	return waitTimeout(&d.wg, drainTimeout)
}

// err returns the first error a contender met before stop.
func (d *driver) err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.firstErr
}

// summarize merges a cell's slices: counts and counters add up, latency
// samples pool, the worst overtaken caller is the worst of any slice.
func summarize(spec cellSpec, slices []slice) cellResult {
	res := cellResult{Contender: spec.c.name, N: spec.n, ReadPct: spec.readPct, Limit: spec.limit, MaxWeight: spec.maxWeight, Lines: spec.lines, K: spec.k}
	weights := 0
	var handoffs, waits, cycles []time.Duration
	var delta counters
	var lockCalls [2]int
	for _, sl := range slices {
		r := sl.rec
		r.mu.Lock()
		res.Window += sl.window
		res.Grants += r.grants
		res.Reads += r.reads
		weights += r.weights
		lockCalls[0] += r.lockCalls[0]
		lockCalls[1] += r.lockCalls[1]
		handoffs = append(handoffs, r.handoffs...)
		waits = append(waits, r.waits...)
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
	res.WaitP50, res.WaitP99 = percentile(waits, 50), percentile(waits, 99)
	res.CycleP50, res.CycleP99 = percentile(cycles, 50), percentile(cycles, 99)
	if res.Grants > 0 {
		g := float64(res.Grants)
		res.Calls, res.Events, res.WatchReqs = delta.unary/g, delta.events/g, delta.watches/g
		res.Fsyncs = delta.fsyncs / g
		res.MeanWeight = float64(weights) / g
	}
	if spec.mix != nil {
		res.Tenants = summarizeTenants(spec, slices)
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
