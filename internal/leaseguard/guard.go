package leaseguard

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// A Guard times one session's lease from the send times of keep-alives it
// sends itself, and tells when the lease may be gone: see the package doc.
// Its methods are safe for concurrent use.
type Guard struct {
	clk       clock
	keepAlive keepAliveFunc
	driftRate float64
	// observe, when set (by tests, before the loop starts), is told of
	// every keep-alive outcome once the loop has applied it.
	observe func(ttl time.Duration, err error)

	kick    chan struct{} // buffered 1: a new Lost channel needs a timer
	ready   chan struct{} // closed at the first answer or when gone
	stopped chan struct{} // closed once the loop and its rounds have returned

	mu       sync.Mutex
	until    time.Time
	ttl      time.Duration                   // from the last answer; 0 before the first
	gone     bool                            // lease known gone or session ended
	isReady  bool                            // ready is closed
	lost     map[time.Duration]chan struct{} // open Lost channels by margin
	rounds   uint64
	answered uint64
}

// keepAliveFunc sends one keep-alive on the lease and returns the TTL it was
// answered with. A lease gone is an answer with ttl <= 0 or an error that
// is rpctypes.ErrLeaseNotFound.
type keepAliveFunc func(ctx context.Context) (ttl time.Duration, err error)

// registry holds the running guards, one per session.
var registry = struct {
	sync.Mutex
	m map[*concurrency.Session]*Guard
}{m: make(map[*concurrency.Session]*Guard)}

// For returns the guard of s's lease in this process, starting it on first
// use: one guard per session, shared by every caller. The guard stops when
// the session ends (s.Done() closes) or its lease is known gone;
// none of its goroutines outlives that. For on a session that has already
// ended returns a stopped guard. Sessions that share one lease
// (concurrency.WithLease) get a guard each. A nil s is a programmer error
// and panics.
func For(s *concurrency.Session) *Guard {
	if s == nil {
		panic("leaseguard: For(nil session)")
	}
	registry.Lock()
	defer registry.Unlock()
	if g := registry.m[s]; g != nil {
		return g
	}
	// The rounds' context ends with the session. (concurrency.Session.Ctx
	// would do, but etcd's client has it only from v3.6 on.)
	ctx, cancel := context.WithCancel(context.Background())
	ka := &streamKeepAlive{cli: s.Client(), id: s.Lease(), ctx: ctx}
	g := newGuard(realClock{}, ka.keepAlive, DriftRate)
	if ended(s) {
		cancel()
		g.end(g.clk.Now())
		close(g.stopped)
		return g
	}
	registry.m[s] = g
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-g.stopped:
		}
	}()
	go g.run(ctx, s.Done(), func() {
		cancel()
		registry.Lock()
		delete(registry.m, s)
		registry.Unlock()
	})
	return g
}

func ended(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

func newGuard(clk clock, ka keepAliveFunc, driftRate float64) *Guard {
	return &Guard{
		clk:       clk,
		keepAlive: ka,
		driftRate: driftRate,
		kick:      make(chan struct{}, 1),
		ready:     make(chan struct{}),
		stopped:   make(chan struct{}),
		lost:      make(map[time.Duration]chan struct{}),
	}
}

// Until returns the safe deadline: the send time of the last keep-alive of
// this guard that etcd answered with a positive TTL, plus that TTL, less
// TTL×DriftRate. The lease cannot be gone before it. Before the first
// answer it is the zero time. Once the lease is known gone or the session
// ended, it is a time in the past (never the zero time). It carries a
// monotonic clock reading, so time.Until(g.Until()) is immune to changes of
// the wall clock.
func (g *Guard) Until() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// Lost returns a channel that is closed once the time passes Until()−margin
// without a later answered keep-alive having moved Until on, or once the
// lease is known gone or the session ended. A negative margin counts as 0.
//
// Calls with the same margin return the same channel while it is open. A
// channel once closed stays closed: if later answers move Until on again
// (the lease outlived a lapse of the guard's keep-alives), a later call
// returns a new channel, open until the next lapse. Before the first answer
// (Until is zero) and while lapsed, Lost returns a closed channel: nothing
// vouches for the lease then; Ready waits for the first answer.
func (g *Guard) Lost(margin time.Duration) <-chan struct{} {
	margin = max(margin, 0)
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.lost[margin]; ok {
		return ch
	}
	if g.gone || !g.clk.Now().Before(g.until.Add(-margin)) {
		return closedChan
	}
	ch := make(chan struct{})
	g.lost[margin] = ch
	select {
	case g.kick <- struct{}{}:
	default:
	}
	return ch
}

var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Ready returns nil once a keep-alive of this guard has been answered, so
// that Until is known. It returns ErrGone if the lease is known gone or the
// session ended first, and ctx's error if ctx ends first; it leaves the
// guard as it was.
func (g *Guard) Ready(ctx context.Context) error {
	select {
	case <-g.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.answered == 0 {
		return ErrGone
	}
	return nil
}

// Readied returns a channel closed at the guard's first answer, or when it
// stops without one: then Ready returns at once. It is for waiting on
// readiness in a select beside other channels.
func (g *Guard) Readied() <-chan struct{} { return g.ready }

// Stopped returns a channel closed once the guard has stopped for good (the
// session ended or the lease is known gone) and all its goroutines have
// returned.
func (g *Guard) Stopped() <-chan struct{} { return g.stopped }

// Rounds returns how many keep-alive requests this guard has sent, and how
// many were answered with a positive TTL: its cost, beside the session's own
// keep-alives.
func (g *Guard) Rounds() (sent, answered uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rounds, g.answered
}

// answer records a keep-alive sent at sent and answered with ttl > 0.
func (g *Guard) answer(sent time.Time, ttl time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return
	}
	g.ttl = ttl
	g.answered++
	if d := deadline(sent, ttl, g.driftRate); d.After(g.until) {
		g.until = d
	}
	if !g.isReady {
		g.isReady = true
		close(g.ready)
	}
}

// expire closes the Lost channels due at now and returns the earliest moment
// one still open falls due (the zero time if none is open).
func (g *Guard) expire(now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	var next time.Time
	for margin, ch := range g.lost {
		due := g.until.Add(-margin)
		if !now.Before(due) {
			close(ch)
			delete(g.lost, margin)
		} else if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

// end records that the lease is gone or the session ended: every Lost
// channel closes, and Until is no later than now.
func (g *Guard) end(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return
	}
	g.gone = true
	if g.until.IsZero() || g.until.After(now) {
		g.until = now
	}
	for margin, ch := range g.lost {
		close(ch)
		delete(g.lost, margin)
	}
	if !g.isReady {
		g.isReady = true
		close(g.ready)
	}
}

// leaseGone reports whether a keep-alive's outcome says the lease no longer
// exists.
func leaseGone(ttl time.Duration, err error) bool {
	if err != nil {
		// rpctypes.Error turns a raw gRPC status into the client's error value.
		return errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseNotFound)
	}
	return ttl <= 0
}
