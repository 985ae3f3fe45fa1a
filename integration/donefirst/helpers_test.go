package donefirst_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// Bounds for "eventually" on a loaded 2-core machine under -race: they
// bound hangs, they do not measure speed.
const (
	callTimeout = 20 * time.Second
	// expirySlack is how late past its TTL etcd may be seen to grant a cut
	// holder's lock: the leader revokes expired leases on a 500 ms tick,
	// through raft, and the machine is slow.
	expirySlack = 8 * time.Second
	// schedSlack is how late Done may be seen to close after HeldUntil:
	// the guard's timer, its loop, the ticket's goroutine and ours must
	// all run. A few ms on an idle machine; more on a loaded 2-core one
	// under -race.
	schedSlack = 50 * time.Millisecond
)

// hold is what every primitive's hold offers for these tests.
type hold struct {
	done <-chan struct{}
	// heldUntil is nil when the hold does not tell (rwmutex read holds).
	heldUntil func() time.Time
}

// primitive takes a hold of one kind, uncontended, and waits behind it for
// the next grant on the same name, from another session.
type primitive struct {
	name string
	take func(ctx context.Context, s *concurrency.Session, name string) (hold, error)
	next func(ctx context.Context, s *concurrency.Session, name string) error
}

var (
	mutexHold = primitive{
		name: "fairmutex",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			m, err := fairmutex.New(s, name)
			if err != nil {
				return hold{}, err
			}
			if err := m.Lock(ctx); err != nil {
				return hold{}, err
			}
			return hold{done: m.Done(), heldUntil: m.HeldUntil}, nil
		},
		next: lockMutex,
	}
	writeHold = primitive{
		name: "rwmutex-write",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			rw, err := rwmutex.New(s, name)
			if err != nil {
				return hold{}, err
			}
			if err := rw.Lock(ctx); err != nil {
				return hold{}, err
			}
			return hold{done: rw.Done(), heldUntil: rw.HeldUntil}, nil
		},
		next: lockWriter,
	}
	// A read hold is followed by a writer: readers do not wait for readers.
	readHold = primitive{
		name: "rwmutex-read",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			rw, err := rwmutex.New(s, name)
			if err != nil {
				return hold{}, err
			}
			if err := rw.RLock(ctx); err != nil {
				return hold{}, err
			}
			// RWMutex has no HeldUntil for read holds.
			return hold{done: rw.RDone()}, nil
		},
		next: lockWriter,
	}
	ticketHold = primitive{
		name: "queue-ticket",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			q, err := queue.New(s, name)
			if err != nil {
				return hold{}, err
			}
			tk, err := q.Acquire(ctx, "holder")
			if err != nil {
				return hold{}, err
			}
			return hold{done: tk.Done(), heldUntil: tk.HeldUntil}, nil
		},
		next: func(ctx context.Context, s *concurrency.Session, name string) error {
			q, err := queue.New(s, name)
			if err != nil {
				return err
			}
			_, err = q.Acquire(ctx, "next")
			return err
		},
	}
	permitHold = primitive{
		name: "semaphore-permit",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			sm, err := semaphore.New(s, name, 1)
			if err != nil {
				return hold{}, err
			}
			p, err := sm.Acquire(ctx)
			if err != nil {
				return hold{}, err
			}
			return hold{done: p.Done(), heldUntil: p.HeldUntil}, nil
		},
		next: func(ctx context.Context, s *concurrency.Session, name string) error {
			sm, err := semaphore.New(s, name, 1)
			if err != nil {
				return err
			}
			_, err = sm.Acquire(ctx)
			return err
		},
	}
	leaderHold = primitive{
		name: "election-leader",
		take: func(ctx context.Context, s *concurrency.Session, name string) (hold, error) {
			e, err := election.New(s, name)
			if err != nil {
				return hold{}, err
			}
			if err := e.Campaign(ctx, "holder"); err != nil {
				return hold{}, err
			}
			return hold{done: e.Done(), heldUntil: e.HeldUntil}, nil
		},
		next: func(ctx context.Context, s *concurrency.Session, name string) error {
			e, err := election.New(s, name)
			if err != nil {
				return err
			}
			return e.Campaign(ctx, "next")
		},
	}
)

func lockMutex(ctx context.Context, s *concurrency.Session, name string) error {
	m, err := fairmutex.New(s, name)
	if err != nil {
		return err
	}
	return m.Lock(ctx)
}

func lockWriter(ctx context.Context, s *concurrency.Session, name string) error {
	rw, err := rwmutex.New(s, name)
	if err != nil {
		return err
	}
	return rw.Lock(ctx)
}

// cutResult is what one repetition of the cut measured, on this process's
// clock.
type cutResult struct {
	cut        time.Time // the holder's member bridge blackholed
	doneAt     time.Time // the hold's Done seen closed
	heldUntil  time.Time // the latest HeldUntil seen while Done was open; zero if untold
	sessionEnd time.Time // the holder's session seen ended; zero if not by the grant
	grantAt    time.Time // the next in line granted
}

// lead is how long before the next grant Done closed.
func (r cutResult) lead() time.Duration { return r.grantAt.Sub(r.doneAt) }

func (r cutResult) String() string {
	s := fmt.Sprintf("Done after cut+%v, granted after cut+%v (Done %v ahead)",
		ms(r.doneAt.Sub(r.cut)), ms(r.grantAt.Sub(r.cut)), ms(r.lead()))
	if !r.heldUntil.IsZero() {
		s += fmt.Sprintf(", HeldUntil cut+%v (Done %v after it)", ms(r.heldUntil.Sub(r.cut)), ms(r.doneAt.Sub(r.heldUntil)))
	}
	if !r.sessionEnd.IsZero() {
		s += fmt.Sprintf(", session ended cut+%v", ms(r.sessionEnd.Sub(r.cut)))
	} else {
		s += ", session still up at the grant"
	}
	return s
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// cutPastTTL takes a hold of kind p through a session of ttl seconds on
// member m, queues a waiter from a client of the next member, cuts member
// m's bridge and returns when the waiter is granted. It fails the test
// unless the hold's Done closed strictly before that grant, HeldUntil (when
// the hold tells it) was known and in the future right after the hold was
// taken, and Done closed no later than HeldUntil.
func cutPastTTL(t *testing.T, c *integration.Cluster, m int, p primitive, name string, ttl int) cutResult {
	t.Helper()
	holderCli := testcluster.Client(t, c, m)
	hs, err := concurrency.NewSession(holderCli, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatalf("holder's session on member %d: %v", m, err)
	}
	// Orphan, not Close: a revoke would wait on a cut connection.
	t.Cleanup(hs.Orphan)
	waiterCli := testcluster.Client(t, c, m+1)
	ws := testcluster.Session(t, waiterCli, 30)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	h, err := p.take(ctx, hs, name)
	if err != nil {
		t.Fatalf("%s: take on member %d: %v", p.name, m, err)
	}
	if h.heldUntil != nil {
		awaitHeldUntil(t, h.heldUntil)
	}
	closing := watchHold(t, h)

	granted := nextInLine(t, p, ws, name)
	waitLine(t, waiterCli, name, 2, granted)
	sessionEnd := closedAt(t, hs.Done())

	r := cutResult{cut: time.Now()}
	c.Members[m].Bridge().Blackhole()
	defer c.Members[m].Bridge().Unblackhole()

	// Both are awaited before their times are compared: when both have
	// happened by the time this goroutine looks, select picks either.
	bound := time.NewTimer(time.Duration(ttl)*time.Second + expirySlack)
	defer bound.Stop()
	for r.doneAt.IsZero() || r.grantAt.IsZero() {
		select {
		case cl := <-closing:
			r.doneAt, r.heldUntil = cl.at, cl.heldUntil
		case g := <-granted:
			if g.err != nil {
				t.Fatalf("%s: next in line: %v", p.name, g.err)
			}
			r.grantAt = g.at
		case <-bound.C:
			t.Fatalf("%s: at cut+%v, Done closed: %v, next in line granted: %v; want both",
				p.name, ms(time.Since(r.cut)), !r.doneAt.IsZero(), !r.grantAt.IsZero())
		}
	}
	select {
	case at := <-sessionEnd:
		if at.Before(r.grantAt) {
			r.sessionEnd = at
		}
	default:
	}

	if !r.doneAt.Before(r.grantAt) {
		t.Errorf("%s: Done closed %v after the next in line was granted (member %d cut)", p.name, r.doneAt.Sub(r.grantAt), m)
	}
	if !r.heldUntil.IsZero() && r.doneAt.After(r.heldUntil.Add(schedSlack)) {
		t.Errorf("%s: Done closed %v after HeldUntil, want at most %v late", p.name, r.doneAt.Sub(r.heldUntil), schedSlack)
	}
	return r
}

// awaitHeldUntil waits for HeldUntil to be known (the guard's first
// keep-alive answers within a round trip) and fails the test unless it is
// then in the future.
func awaitHeldUntil(t *testing.T, heldUntil func() time.Time) time.Time {
	t.Helper()
	var hu time.Time
	testcluster.Eventually(t, callTimeout, "HeldUntil to be known", func() bool {
		hu = heldUntil()
		return !hu.IsZero()
	})
	if now := time.Now(); !hu.After(now) {
		t.Fatalf("HeldUntil %v ago right after the grant, want a time in the future", now.Sub(hu))
	}
	return hu
}

// closing is when a hold's Done was seen closed, and the latest HeldUntil
// seen up to then. HeldUntil can move on after the cut: the bridge still
// forwards the one read each way that was waiting when the cut came, so a
// keep-alive round the guard sends just after the cut may be answered (etcd
// then renewed the lease too, and grants later).
type closing struct {
	at, heldUntil time.Time
}

// watchHold reports when h.done closes, with the latest HeldUntil seen
// while it was open (sampled every few ms, and once as it closes: a Done
// closed by the deadline closes at HeldUntil, a Done closed by the
// session's end may close earlier, when HeldUntil has already dropped to
// the past).
func watchHold(t *testing.T, h hold) <-chan closing {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan closing, 1)
	finished := make(chan struct{})
	t.Cleanup(func() { cancel(); <-finished })
	go func() {
		defer close(finished)
		var latest time.Time
		sample := func() {
			if h.heldUntil == nil {
				return
			}
			if hu := h.heldUntil(); hu.After(latest) {
				latest = hu
			}
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.done:
				at := time.Now()
				sample()
				out <- closing{at: at, heldUntil: latest}
				return
			case <-tick.C:
				sample()
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// grant is the outcome of the next in line's wait.
type grant struct {
	at  time.Time
	err error
}

// nextInLine starts p.next on s in a goroutine whose context ends with the
// test (after callTimeout at the latest).
func nextInLine(t *testing.T, p primitive, s *concurrency.Session, name string) <-chan grant {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	out := make(chan grant, 1)
	finished := make(chan struct{})
	t.Cleanup(func() { cancel(); <-finished })
	go func() {
		defer close(finished)
		err := p.next(ctx, s, name)
		out <- grant{at: time.Now(), err: err}
	}()
	return out
}

// waitLine waits until name's line has n entries, failing the test if the
// waiter returns first or the line does not fill within callTimeout.
func waitLine(t *testing.T, cli *clientv3.Client, name string, n int, waiter <-chan grant) {
	t.Helper()
	deadline := time.Now().Add(callTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		resp, err := cli.Get(ctx, name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err != nil {
			t.Fatalf("count the line of %s: %v", name, err)
		}
		if resp.Count == int64(n) {
			return
		}
		select {
		case g := <-waiter:
			t.Fatalf("next in line on %s returned (err %v) before the holder was cut", name, g.err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("line of %s has %d entries after %v, want %d", name, resp.Count, callTimeout, n)
		}
	}
}

// closedAt reports on the returned channel when ch closes; its goroutine
// ends with the test.
func closedAt(t *testing.T, ch <-chan struct{}) <-chan time.Time {
	ctx, cancel := context.WithCancel(context.Background())
	at := make(chan time.Time, 1)
	finished := make(chan struct{})
	t.Cleanup(func() { cancel(); <-finished })
	go func() {
		defer close(finished)
		select {
		case <-ch:
			at <- time.Now()
		case <-ctx.Done():
		}
	}()
	return at
}
