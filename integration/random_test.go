package integration_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

var (
	seedFlag = flag.Uint64("seed", 0, "seed of TestRandomFaults (0: a new one, printed when the test fails)")
	soakFlag = flag.Duration("soak", 0, "run TestRandomFaults for this long instead of a few seconds")
)

const (
	randomName    = "/faults/random"
	randomTTL     = 3 // seconds; the long fault outlasts it
	randomRunTime = 6 * time.Second
)

// TestRandomFaults runs contenders of every kind on one lock (fair mutexes,
// exclusive and shared queue tickets) on all three members while faults are
// injected at random: dropped connections, connections held back, a
// blackhole, a member stopped and restarted, compactions, and one cut long
// enough for leases to expire. Some waits are cancelled at random. At the
// end, faults healed, every contender must get the lock once more; then the
// history is checked (exclusion, token order, FIFO) and nothing may be left
// in etcd. The seed fixes every random choice; the interleaving is the
// machine's.
func TestRandomFaults(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: replay with go test ./integration -run TestRandomFaults -args -seed=%d", seed, seed)
		}
	})
	runTime := randomRunTime
	if *soakFlag > 0 {
		runTime = *soakFlag
	}
	rng := rand.New(rand.NewPCG(seed, 0))

	c := testcluster.Cluster(t, 3)
	var h history.History
	run := &randomRun{t: t, h: &h, start: time.Now(), deadline: time.Now().Add(runTime)}
	kinds := []string{"mutex", "mutex", "mutex", "ticket", "shared", "shared"}
	var wg sync.WaitGroup
	for i, kind := range kinds {
		w := &randomWorker{run: run, who: fmt.Sprintf("%s%d", kind, i), kind: kind,
			cli: testcluster.Client(t, c, i), rng: rand.New(rand.NewPCG(seed, uint64(i+1)))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}

	inj := &injector{t: t, c: c, rng: rng, start: run.start}
	for i := range c.Members {
		inj.clis = append(inj.clis, testcluster.Client(t, c, i))
	}
	inj.run(run.deadline)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(runTime + 3*grantTimeout):
		t.Errorf("contenders still running %v after the end of the run:\n%s", 3*grantTimeout, h.String())
		<-finished // they report from their goroutines: the test must outlive them
	}

	checkHistory(t, &h)
	holds := h.Holds()
	lost := 0
	for _, hd := range holds {
		if hd.Lost {
			lost++
		}
	}
	t.Logf("seed %d: %d grants (%d lost), %d waits cancelled (%d left an entry that went after the call returned), "+
		"%d failed, faults: %v", seed, len(holds), lost, run.cancelled.Load(), run.removedLate.Load(),
		len(h.Failures()), inj.done)
	if len(holds) < len(kinds) {
		t.Fatalf("only %d grants in the whole run", len(holds))
	}
	// Each member answers from its own store. A session replaced during a
	// fault may have closed without revoking its lease, which etcd then
	// expires on its own clock, so the line gets a while to empty.
	var clis []*clientv3.Client
	for i := range c.Members {
		clis = append(clis, testcluster.Client(t, c, i))
	}
	awaitNoKeys(t, randomName, grantTimeout, clis...)
}

// randomRun is what the contenders of a random run share.
type randomRun struct {
	t        *testing.T
	h        *history.History
	start    time.Time
	deadline time.Time

	cancelled   atomic.Int64 // waits cut short by a cancellation
	removedLate atomic.Int64 // of which the entry was still in line after the call returned
}

// randomWorker is one contender: a client on one member, a session it
// renews when it ends, and a loop of attempts.
type randomWorker struct {
	run  *randomRun
	who  string
	kind string // "mutex", "ticket" (exclusive) or "shared"
	cli  *clientv3.Client
	rng  *rand.Rand

	s *concurrency.Session
	m *fairmutex.Mutex
	q *queue.Queue
}

// limit bounds every call of the run, so that a hang fails the test
// instead of leaking a goroutine.
func (w *randomWorker) limit() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), w.run.deadline.Add(2*grantTimeout))
}

func (w *randomWorker) work() {
	t := w.run.t
	defer func() {
		if w.s != nil {
			w.s.Close()
		}
	}()
	if !w.renew() {
		return
	}
	for time.Now().Before(w.run.deadline) {
		w.attempt(true)
	}
	// Faults are healed now, or soon: one last turn each, never cancelled,
	// shows that nothing left behind blocks the line.
	for range 3 {
		if w.attempt(false) {
			return
		}
	}
	t.Errorf("%s: no grant after the run, in three tries", w.who)
}

// renew replaces the session (and the lock on it) after it has ended.
func (w *randomWorker) renew() bool {
	if w.s != nil {
		w.s.Close()
	}
	// No context of ours: the session's keep-alives live on the one given.
	s, err := concurrency.NewSession(w.cli, concurrency.WithTTL(randomTTL))
	if err != nil {
		w.run.t.Errorf("%s: new session: %v", w.who, err)
		return false
	}
	w.s = s
	if w.m, err = fairmutex.New(s, randomName); err == nil {
		w.q, err = queue.New(s, randomName)
	}
	if err != nil {
		w.run.t.Errorf("%s: %v", w.who, err)
		return false
	}
	return true
}

// attempt makes one try for the lock, holds it briefly and releases it. It
// reports whether it was granted.
func (w *randomWorker) attempt(mayCancel bool) bool {
	t := w.run.t
	op := w.run.h.Begin(w.who, w.kind == "shared")
	ctx, cancel := w.limit()
	defer cancel()
	if mayCancel && w.rng.IntN(4) == 0 {
		// Faults or not: a call cancelled while etcd is out of reach must
		// still take its entry out once etcd is back (checkNothingLeft).
		timer := time.AfterFunc(time.Duration(w.rng.IntN(40))*time.Millisecond, func() {
			op.Cancelling()
			cancel()
		})
		defer timer.Stop()
	}

	began := time.Since(w.run.start)
	done, release, err := w.acquire(ctx, op)
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			w.run.cancelled.Add(1)
		case isLossErr(err): // a lease gone unnoticed included
			w.renew()
			return false
		default:
			t.Errorf("%s: unexpected error while waiting: %v", w.who, err)
			return false
		}
		w.checkNothingLeft(fmt.Sprintf("%v, waited %s-%s", err, fmtOffset(began), fmtOffset(time.Since(w.run.start))))
		return false
	}

	select {
	case <-done:
		op.Lost()
	case <-time.After(time.Duration(w.rng.IntN(15)) * time.Millisecond):
	}
	w.release(op, release)
	select {
	case <-w.s.Done():
		w.renew()
	default:
	}
	return true
}

// acquire takes the lock in the worker's way, noting the attempt on op. On
// success it returns the hold's Done and its release.
func (w *randomWorker) acquire(ctx context.Context, op *history.Op) (<-chan struct{}, func(context.Context) error, error) {
	if w.kind == "mutex" {
		if err := w.m.Lock(ctx); err != nil {
			op.Failed(err)
			return nil, nil, err
		}
		op.Granted(w.m.Token())
		return w.m.Done(), w.m.Unlock, nil
	}
	join := w.q.Join
	if w.kind == "shared" {
		join = w.q.JoinShared
	}
	tk, err := join(ctx, w.who)
	if err != nil {
		op.Failed(err)
		return nil, nil, err
	}
	op.Joined(tk.Rev())
	if err := tk.Wait(ctx); err != nil {
		op.Failed(err)
		// Wait leaves the ticket in line; taking it out is the caller's job.
		w.leave(tk)
		return nil, nil, err
	}
	op.Granted(tk.Rev())
	return tk.Done(), tk.Leave, nil
}

// release ends the hold, retrying while the outcome is unknown (a lost
// connection): the fenced release is safe to repeat.
func (w *randomWorker) release(op *history.Op, release func(context.Context) error) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := op.Release(func() error { return release(ctx) })
		cancel()
		if err == nil || errors.Is(err, queue.ErrLost) {
			return
		}
		if errors.Is(err, queue.ErrLeft) || errors.Is(err, fairmutex.ErrNotLocked) {
			w.run.t.Errorf("%s: release of a hold it had: %v", w.who, err)
			return
		}
		select {
		case <-w.s.Done():
			op.Lost() // the lease takes the entry with it
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(w.run.deadline.Add(2 * grantTimeout)) {
			w.run.t.Errorf("%s: cannot release: %v", w.who, err)
			return
		}
	}
}

// leave takes a ticket that gave up waiting out of the line.
func (w *randomWorker) leave(tk *queue.Ticket) {
	for time.Now().Before(w.run.deadline.Add(2 * grantTimeout)) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := tk.Leave(ctx)
		cancel()
		if err == nil || errors.Is(err, queue.ErrLost) || errors.Is(err, queue.ErrLeft) {
			return
		}
		select {
		case <-w.s.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	w.run.t.Errorf("%s: cannot leave the line", w.who)
}

// checkNothingLeft fails the test unless the entry of a call that failed
// (as described by call) leaves the line soon: the call promised to leave
// none, and one left behind would block everyone behind it for as long as
// the session lives. Soon, not at once: when etcd was out of reach, the
// call's cleanup delete goes on in the background until etcd answers.
func (w *randomWorker) checkNothingLeft(call string) {
	deadline := time.Now().Add(grantTimeout)
	left := "" // the entry still in line at the last look
	seen := false
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		entries, err := w.q.List(ctx)
		cancel()
		if isLossErr(err) {
			w.renew() // the entry goes with the lease, as documented
			return
		}
		if err == nil {
			left = ""
			for _, e := range entries {
				if e.Lease == w.s.Lease() {
					left, seen = e.Key, true
				}
			}
			if left == "" {
				if seen {
					w.run.removedLate.Add(1)
				}
				return
			}
		}
		select {
		case <-w.s.Done():
			w.renew() // the entry goes with the lease, as documented
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	if left != "" {
		w.run.t.Errorf("%s: a call that failed (%s) left its entry %s in line for %v, with its session alive",
			w.who, call, left, grantTimeout)
	} else {
		w.run.t.Errorf("%s: cannot list the line for %v after a call that failed (%s)", w.who, grantTimeout, call)
	}
	w.renew() // so that the run can go on without the entry
}

// fmtOffset shows a time in the run, to the tenth of a second.
func fmtOffset(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// injector applies one fault at a time to one member, and heals it.
type injector struct {
	t     *testing.T
	c     *integration.Cluster
	rng   *rand.Rand
	clis  []*clientv3.Client // one per member
	start time.Time
	done  []string // each fault, with when it began and ended in the run
}

func (inj *injector) pause() {
	time.Sleep(time.Duration(200+inj.rng.IntN(500)) * time.Millisecond)
}

// run injects faults until deadline. It runs on the test's goroutine: the
// cluster's helpers fail the test from there.
func (inj *injector) run(deadline time.Time) {
	// One cut past the TTL in the first half of a short run; in a soak, one
	// every 10 to 20 seconds.
	nextLong := func() time.Time {
		within := max(min(time.Until(deadline)/2, 10*time.Second), time.Millisecond)
		return time.Now().Add(within + time.Duration(inj.rng.Int64N(int64(within))))
	}
	longAt := time.Now().Add(time.Duration(inj.rng.Int64N(int64(max(time.Until(deadline)/2, time.Millisecond)))))
	for time.Now().Before(deadline) {
		inj.pause()
		m := inj.rng.IntN(len(inj.c.Members))
		b := inj.c.Members[m].Bridge()
		began := time.Since(inj.start)
		var fault string
		switch k := inj.rng.IntN(6); {
		case time.Now().After(longAt):
			// Longer than the TTL: that member's sessions expire, its
			// holders lose their holds and its waiters their places.
			longAt = nextLong()
			fault = "long cut"
			b.PauseConnections()
			b.DropConnections()
			time.Sleep(time.Duration(randomTTL)*time.Second + 1500*time.Millisecond)
			b.UnpauseConnections()
		case k == 0:
			fault = "drop"
			b.DropConnections()
		case k == 1:
			fault = "hold back"
			b.PauseConnections()
			b.DropConnections()
			inj.pause()
			b.UnpauseConnections()
		case k == 2:
			fault = "blackhole"
			b.Blackhole()
			inj.pause()
			b.Unblackhole()
		case k == 3:
			fault = "stop"
			inj.c.Members[m].Stop(inj.t)
			inj.pause()
			if err := inj.c.Members[m].Restart(inj.t); err != nil {
				inj.t.Fatalf("restart member %d: %v", m, err)
			}
			inj.c.WaitLeader(inj.t)
		default:
			fault = "compact"
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			cli := inj.clis[m]
			// Nothing written since the last compaction is fine too.
			if _, err := cli.Compact(ctx, testcluster.Revision(inj.t, cli)); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
				inj.t.Errorf("compact: %v", err)
			}
			cancel()
		}
		inj.done = append(inj.done, fmt.Sprintf("%s m%d %s-%s", fault, m, fmtOffset(began), fmtOffset(time.Since(inj.start))))
	}
}
