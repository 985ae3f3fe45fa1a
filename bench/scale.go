package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
)

// Two row groups about scale rather than contention: many locks held by
// one session (what a hold, and a hold watched with Done, costs), and
// long lines (thousands of waiters on one lock).

// holdsRow is one session holding many locks at once.
type holdsRow struct {
	Contender string
	Holds     int
	Done      bool    // Done called on each hold (etcd's Mutex: Session.Done only)
	PerSec    float64 // Lock calls per second, holdWorkers at a time
	Routines  float64 // goroutines per hold, the whole process (clients and the embedded etcd)
	HeapBytes float64 // live heap per hold, the whole process
	Watchers  float64 // etcd server watchers per hold
	Err       string

	rounds  int           // summed by add
	elapsed time.Duration // taking the locks, summed
}

// add sums r into h, for mean.
func (h *holdsRow) add(r holdsRow) {
	h.rounds++
	h.Holds = r.Holds
	h.elapsed += r.elapsed
	h.Routines += r.Routines
	h.HeapBytes += r.HeapBytes
	h.Watchers += r.Watchers
}

// mean returns the rounds' figures: the rate over their summed time, the
// costs averaged.
func (h holdsRow) mean() holdsRow {
	if h.rounds == 0 {
		return h
	}
	n := float64(h.rounds)
	return holdsRow{PerSec: n * float64(h.Holds) / h.elapsed.Seconds(), Routines: h.Routines / n,
		HeapBytes: h.HeapBytes / n, Watchers: h.Watchers / n}
}

// lineRow is one line of many waiters on one lock, drained.
type lineRow struct {
	Contender string
	Waiters   int
	PerSec    float64 // acquisitions per second while the line drains
	Calls     float64 // unary server calls per waiter, from joining to leaving
	Events    float64 // watch events sent per waiter
	Watchers  float64 // peak server watchers per waiter
	Err       string
}

// holdWorkers is how many goroutines of the one session take the locks.
const holdWorkers = 8

// lineTTL is the lease TTL of the line cells' sessions: long, so that
// thousands of sessions' keep-alives stay a small load beside the drain.
const lineTTL = 60

// scaleLock is a lock of one of the two contenders the scale rows compare.
type scaleLock interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
}

func openScaleLock(name string, s *concurrency.Session, lock string) (scaleLock, error) {
	if name == nameFair {
		return fairmutex.New(s, lock)
	}
	return concurrency.NewMutex(s, lock), nil
}

// runHolds takes n locks from one session, holdWorkers at a time, calling
// Done on each hold when done is set, and measures the rate and what the
// holds cost once all are held.
func runHolds(ctx context.Context, endpoints []string, name string, n int, done bool) (holdsRow, error) {
	row := holdsRow{Contender: name, Holds: n, Done: done}
	cli, err := newClient(endpoints, &probe{})
	if err != nil {
		return row, err
	}
	defer cli.Close()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(sessionTTL), concurrency.WithContext(ctx))
	if err != nil {
		return row, err
	}
	defer s.Close()
	prefix := fmt.Sprintf("/bench/holds/c%d/", cellSeq.Add(1))
	// Warm the session up (the first fairlock call on a session starts its
	// lease guard) so that the baseline below holds it.
	if l, err := openScaleLock(name, s, prefix+"warm"); err != nil {
		return row, err
	} else if err := l.Lock(ctx); err != nil {
		return row, err
	} else if err := l.Unlock(ctx); err != nil {
		return row, err
	}

	g0, h0 := settledCounts()
	w0, err := gauge("etcd_debugging_mvcc_watcher_total")
	if err != nil {
		return row, err
	}
	locks := make([]scaleLock, n)
	dones := make([]<-chan struct{}, n)
	var next atomic.Int64
	errs := make([]error, holdWorkers)
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range holdWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				l, err := openScaleLock(name, s, fmt.Sprintf("%s%d", prefix, i))
				if err == nil {
					err = l.Lock(ctx)
				}
				if err != nil {
					errs[w] = err
					return
				}
				locks[i] = l
				if done {
					if m, ok := l.(*fairmutex.Mutex); ok {
						dones[i] = m.Done()
					} else {
						dones[i] = s.Done()
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return row, err
	}
	row.PerSec, row.elapsed = float64(n)/elapsed.Seconds(), elapsed
	// Watches are created in the background: wait (bounded) until the
	// server has them all, so the counts below see every hold's cost.
	want := w0
	if done && name == nameFair {
		want += float64(n)
	}
	var w1 float64
	for deadline := time.Now().Add(10 * time.Second); ; {
		if w1, err = gauge("etcd_debugging_mvcc_watcher_total"); err != nil {
			return row, err
		}
		if w1 >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	g1, h1 := settledCounts()
	for i, ch := range dones {
		if ch == nil {
			continue
		}
		select {
		case <-ch:
			return row, fmt.Errorf("hold %d: Done closed while held", i)
		default:
		}
	}
	row.Routines = float64(g1-g0) / float64(n)
	row.HeapBytes = (float64(h1) - float64(h0)) / float64(n)
	row.Watchers = (w1 - w0) / float64(n)
	runtime.KeepAlive(locks)
	return row, nil
}

// settledCounts returns the process's goroutines and live heap after a
// collection, once the goroutine count has stopped falling (goroutines of
// calls just made may still be returning).
func settledCounts() (goroutines int, heap uint64) {
	prev := -1
	for range 50 {
		runtime.GC()
		g := runtime.NumGoroutine()
		if g == prev {
			break
		}
		prev = g
		time.Sleep(20 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return prev, ms.HeapAlloc
}

// gauge reads a gauge of the embedded etcd (summed over its labels).
func gauge(name string) (float64, error) {
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range families {
		if mf.GetName() == name {
			var v float64
			for _, m := range mf.GetMetric() {
				v += m.GetGauge().GetValue()
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("metric %s not registered", name)
}

// lineWave is how many waiters of a line join at a time.
const lineWave = 100

// lineClients is how many clients the line cells' sessions are spread on.
const lineClients = 16

// runLine puts waiters sessions in line behind a holder on one lock, then
// releases the holder and lets the line drain, each waiter unlocking as
// soon as it holds.
func runLine(ctx context.Context, endpoints []string, name string, waiters int) (lineRow, error) {
	row := lineRow{Contender: name, Waiters: waiters}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	clis := make([]*clientv3.Client, lineClients)
	for i := range clis {
		cli, err := newClient(endpoints, &probe{})
		if err != nil {
			return row, err
		}
		defer cli.Close()
		clis[i] = cli
	}
	lock := fmt.Sprintf("/bench/line/c%d", cellSeq.Add(1))
	sessions := make([]*concurrency.Session, waiters+1)
	locks := make([]scaleLock, waiters+1)
	defer func() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			if s != nil {
				wg.Go(func() { s.Close() })
			}
		}
		wg.Wait()
	}()
	var next atomic.Int64
	errs := make([]error, 32)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i > waiters || errs[w] != nil {
					return
				}
				s, err := concurrency.NewSession(clis[i%lineClients], concurrency.WithTTL(lineTTL), concurrency.WithContext(ctx))
				if err == nil {
					sessions[i] = s
					locks[i], err = openScaleLock(name, s, lock)
				}
				errs[w] = err
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return row, err
	}
	if err := locks[0].Lock(ctx); err != nil {
		return row, err
	}

	c0, err := readCounters()
	if err != nil {
		return row, err
	}
	w0, err := gauge("etcd_debugging_mvcc_watcher_total")
	if err != nil {
		return row, err
	}
	var peak atomic.Int64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if w, err := gauge("etcd_debugging_mvcc_watcher_total"); err == nil && int64(w-w0) > peak.Load() {
				peak.Store(int64(w - w0))
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { stopSampling(); <-sampled }()

	// Waiters join in waves, each wave once the one before is in line, so
	// that thousands of joins at once do not time out in etcd (each of
	// etcd's Mutex joins reads the whole line, sorted).
	lockErrs := make([]error, waiters)
	var drained sync.WaitGroup
	defer func() { cancel(); drained.Wait() }() // on error: stop the waiters first
	for from := 1; from <= waiters; from += lineWave {
		to := min(from+lineWave-1, waiters)
		for i := from; i <= to; i++ {
			drained.Go(func() {
				if err := locks[i].Lock(ctx); err != nil {
					lockErrs[i-1] = err
					cancel() // the others cannot all be granted: stop
					return
				}
				lockErrs[i-1] = locks[i].Unlock(ctx)
			})
		}
		for {
			get, err := clis[0].Get(ctx, lock+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				return row, errors.Join(err, errors.Join(lockErrs...))
			}
			if get.Count >= int64(to+1) {
				break
			}
			select {
			case <-ctx.Done():
				return row, fmt.Errorf("%d of %d waiters in line: %w", get.Count-1, waiters, errors.Join(ctx.Err(), errors.Join(lockErrs...)))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	t0 := time.Now()
	if err := locks[0].Unlock(ctx); err != nil {
		return row, err
	}
	drained.Wait()
	elapsed := time.Since(t0)
	if err := errors.Join(lockErrs...); err != nil {
		return row, err
	}
	c1, err := readCounters()
	if err != nil {
		return row, err
	}
	stopSampling()
	<-sampled
	d := c1.sub(c0)
	n := float64(waiters)
	row.PerSec = n / elapsed.Seconds()
	row.Calls = d.unary / n
	row.Events = d.events / n
	row.Watchers = float64(peak.Load()) / n
	return row, nil
}

// scale runs the holds and long-line row groups, fairmutex against etcd's
// Mutex, in turns.
func (rn *runner) scale(ctx context.Context, res *results) {
	var names []string
	for _, name := range []string{nameFair, nameEtcdMutex} {
		if rn.cfg.runs(name) {
			names = append(names, name)
		}
	}
	if rn.cfg.group("holds") && rn.cfg.holds > 0 {
		type spec struct {
			name string
			done bool
		}
		var specs []spec
		for _, name := range names {
			if name == nameFair {
				specs = append(specs, spec{name, false})
			}
			// etcd's Mutex: Session.Done costs nothing per hold, one row says it
			specs = append(specs, spec{name, true})
		}
		// In turns, every other round reversed, as the other row groups.
		sums := make([]holdsRow, len(specs))
		errs := make([]string, len(specs))
		for round := range rn.cfg.rounds {
			for j := range specs {
				i := turn(round, j, len(specs))
				r, err := runHolds(ctx, rn.endpoints, specs[i].name, rn.cfg.holds, specs[i].done)
				if err != nil {
					errs[i] = err.Error()
					continue
				}
				sums[i].add(r)
			}
		}
		for i, sp := range specs {
			r := sums[i].mean()
			r.Contender, r.Holds, r.Done, r.Err = sp.name, rn.cfg.holds, sp.done, errs[i]
			label := fmt.Sprintf("%s %d holds, Done %v", sp.name, r.Holds, sp.done)
			fmt.Fprintf(rn.log, "bench: %-42s", label)
			if r.Err != "" {
				rn.failed = append(rn.failed, label+": "+r.Err)
				fmt.Fprintf(rn.log, " error: %s\n", r.Err)
			} else {
				fmt.Fprintf(rn.log, " %8.1f locks/s  %.2f goroutines  %.0f B heap  %.2f watchers per hold\n",
					r.PerSec, r.Routines, r.HeapBytes, r.Watchers)
			}
			res.Holds = append(res.Holds, r)
		}
	}
	if rn.cfg.group("line") {
		for _, n := range rn.cfg.lines {
			for _, name := range names {
				r, err := runLine(ctx, rn.endpoints, name, n)
				label := fmt.Sprintf("%s line of %d", name, n)
				fmt.Fprintf(rn.log, "bench: %-42s", label)
				if err != nil {
					r.Err = err.Error()
					rn.failed = append(rn.failed, label+": "+r.Err)
					fmt.Fprintf(rn.log, " error: %s\n", r.Err)
				} else {
					fmt.Fprintf(rn.log, " %8.1f acq/s  %.2f calls  %.2f events  %.2f watchers per waiter\n",
						r.PerSec, r.Calls, r.Events, r.Watchers)
				}
				res.Lines = append(res.Lines, r)
			}
		}
	}
}

// holdsTable and lineTable lay the scale rows out.
func holdsTable(rows []holdsRow) table {
	t := table{title: fmt.Sprintf("Many holds per session: one session takes %d locks, %d calls at a time, and holds them all", rows[0].Holds, holdWorkers),
		header: []string{"lock", "Done", "locks/s", "goroutines / hold", "heap / hold", "server watchers / hold"}}
	for _, r := range rows {
		done := "no"
		if r.Done {
			done = "each hold"
			if r.Contender == nameEtcdMutex {
				done = "Session.Done"
			}
		}
		if r.Err != "" {
			t.rows = append(t.rows, []string{r.Contender, done, "error", "", "", ""})
			t.notes = append(t.notes, r.Contender+": "+r.Err)
			continue
		}
		t.rows = append(t.rows, []string{r.Contender, done, fmtRate(r.PerSec), fmt.Sprintf("%.2f", r.Routines),
			fmt.Sprintf("%.2f KB", r.HeapBytes/1024), fmt.Sprintf("%.2f", r.Watchers)})
	}
	t.notes = append(t.notes, "Goroutines and live heap are the whole process's (the clients and the embedded etcd) after a "+
		"collection, less what they were before the first Lock, divided by the holds; the locks/s of the Lock calls, "+
		"each with its Done call when there is one.")
	return t
}

func lineTable(rows []lineRow) table {
	t := table{title: "Long lines: waiters, each on a session of its own, queued behind a holder on one lock, then drained",
		header: []string{"lock", "waiters", "acq/s draining", "server calls / waiter", "watch events / waiter", "peak server watchers / waiter"}}
	for _, r := range rows {
		if r.Err != "" {
			t.rows = append(t.rows, []string{r.Contender, fmt.Sprint(r.Waiters), "error", "", "", ""})
			t.notes = append(t.notes, r.Contender+": "+r.Err)
			continue
		}
		t.rows = append(t.rows, []string{r.Contender, fmt.Sprint(r.Waiters), fmtRate(r.PerSec),
			fmt.Sprintf("%.2f", r.Calls), fmt.Sprintf("%.2f", r.Events), fmt.Sprintf("%.2f", r.Watchers)})
	}
	t.notes = append(t.notes, fmt.Sprintf("Each waiter unlocks as soon as it holds. Calls and events count from the first "+
		"Lock call to the last Unlock; fairlock's count includes its lease guard's keep-alives (one per session per TTL/3, "+
		"TTL %d s here). Every read of a line sorted by create revision visits the whole line in etcd, so a line's reads "+
		"cost grows with its length: see the README's \"What limits it\".", lineTTL))
	return t
}

// scaleTargets checks the promises of the scale rows.
func scaleTargets(res *results, add func(target, measured string, met bool)) {
	var bare, done *holdsRow
	for i, r := range res.Holds {
		if r.Contender == nameFair && r.Err == "" {
			if r.Done {
				done = &res.Holds[i]
			} else {
				bare = &res.Holds[i]
			}
		}
	}
	if done != nil {
		add(fmt.Sprintf("%d holds with Done: ≤ 1 goroutine per hold", done.Holds), fmt.Sprintf("%.2f", done.Routines), done.Routines <= 1)
		add(fmt.Sprintf("%d holds with Done: ≤ 2 KB heap per hold", done.Holds), fmt.Sprintf("%.2f KB", done.HeapBytes/1024), done.HeapBytes <= 2048)
		add(fmt.Sprintf("%d holds with Done: ≤ 1 server watcher per hold", done.Holds), fmt.Sprintf("%.2f", done.Watchers), done.Watchers <= 1.01)
	}
	if done != nil && bare != nil && bare.PerSec > 0 {
		ratio := done.PerSec / bare.PerSec
		add("Lock rate with Done on each hold: ≥ 0.9× without", fmt.Sprintf("%s×", fmtRatio(ratio)), ratio >= 0.9)
	}
	var watchers, rates []string
	wOK, rOK, seen := true, true, false
	for _, r := range res.Lines {
		if r.Contender != nameFair || r.Err != "" {
			continue
		}
		seen = true
		watchers = append(watchers, fmt.Sprintf("%d:%.2f", r.Waiters, r.Watchers))
		wOK = wOK && r.Watchers <= 1.01
		for _, e := range res.Lines {
			if e.Contender == nameEtcdMutex && e.Waiters == r.Waiters && e.Err == "" && e.PerSec > 0 {
				rates = append(rates, fmt.Sprintf("%d:%s×", r.Waiters, fmtRatio(r.PerSec/e.PerSec)))
				rOK = rOK && r.PerSec >= e.PerSec
			}
		}
	}
	if seen {
		add("long lines: ≤ 1 peak server watcher per waiter (waiters:watchers)", strings.Join(watchers, " "), wOK)
	}
	if len(rates) > 0 {
		add("long lines: drain ≥ 1.0× concurrency.Mutex (waiters:ratio)", strings.Join(rates, " "), rOK)
	}
}
