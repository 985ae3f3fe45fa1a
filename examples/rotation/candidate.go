package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/examples/internal/cluster"
	"github.com/fairlock/fairlock/queue"
)

// rotation is what the candidates of one run share in this process: the
// record of terms, for printing and for the final check.
type rotation struct {
	cfg   config
	out   io.Writer
	start time.Time
	stop  context.CancelFunc // ends the run once every term has been led
	over  <-chan struct{}    // closed when the run ends

	// ready is closed once every candidate has joined the line, so that the
	// first round has all of them in it.
	ready  chan struct{}
	joined atomic.Int32

	mu        sync.Mutex
	h         history
	leading   int // candidates that believe they lead right now
	crashedAt time.Time
}

func (r *rotation) printf(format string, args ...any) {
	fmt.Fprintf(r.out, "%5.2fs  "+format+"\n", append([]any{time.Since(r.start).Seconds()}, args...)...)
}

// begin records that name leads the next term under token, and returns its
// number; ok is false when every term has been led already.
func (r *rotation) begin(name string, token int64) (term int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.h.leaders) >= r.cfg.terms {
		return 0, false
	}
	r.leading++
	if r.leading > 1 && r.h.overlapTerm == 0 {
		r.h.overlapTerm = len(r.h.leaders) + 1
	}
	r.h.leaders = append(r.h.leaders, name)
	term = len(r.h.leaders)
	note := ""
	if r.h.crashed != "" && term == r.h.crashTerm+1 {
		note = fmt.Sprintf(", %v after %s crashed", time.Since(r.crashedAt).Round(time.Millisecond), r.h.crashed)
	}
	r.printf("term %2d: %s leads (token %d)%s", term, name, token, note)
	return term, true
}

// end records that the current leader stepped down.
func (r *rotation) end() {
	r.mu.Lock()
	r.leading--
	r.mu.Unlock()
}

// crash records that the leader of term crashed: from now on it acts as
// leader no more.
func (r *rotation) crash(name string, term int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leading--
	r.h.crashed, r.h.crashTerm, r.crashedAt = name, term, time.Now()
	how := "its session is closed: lease revoked, its place in line gone"
	if r.cfg.crash == crashExpire {
		how = fmt.Sprintf("it stops refreshing its lease, which expires within %ds", r.cfg.ttl)
	}
	r.printf("term %2d: %s CRASHES mid-term: %s", term, name, how)
}

// rotate runs cfg.candidates candidates, each on its own node, until
// cfg.terms terms have been led, and returns the record of them.
func rotate(ctx context.Context, c *cluster.Cluster, cfg config, out io.Writer) (history, error) {
	nodes := make([]*fairlock.Client, 0, cfg.candidates)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for range cfg.candidates {
		n, err := c.Connect(ctx, cfg.ttl, fairlock.Config{})
		if err != nil {
			return history{}, err
		}
		nodes = append(nodes, n)
	}

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	r := &rotation{cfg: cfg, out: out, start: time.Now(), stop: stop, over: rctx.Done(), ready: make(chan struct{})}

	// An observer on a node of its own records every leader it is told of.
	obsNode, err := c.Connect(ctx, cfg.ttl, fairlock.Config{})
	if err != nil {
		return history{}, err
	}
	nodes = append(nodes, obsNode)
	obs, err := election.New(obsNode.Session(), cfg.name)
	if err != nil {
		return history{}, err
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	o := &observer{seen: make(chan struct{}, 1)}
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		o.run(obs.Observe(octx))
	}()
	defer func() { // on every return: no goroutine outlives the run
		stopObserving()
		<-observed
	}()

	g, gctx := errgroup.WithContext(rctx)
	for i, n := range nodes[:cfg.candidates] {
		name := fmt.Sprintf("cand-%d", i+1)
		r.h.candidates = append(r.h.candidates, name)
		var once sync.Once
		// The first join of each candidate counts towards ready; its later
		// ones are Rotate's.
		joined := &queue.Hooks{Joined: func(queue.JoinInfo) { once.Do(r.join) }}
		e, err := election.New(n.Session(), cfg.name, queue.WithHooks(joined))
		if err != nil {
			return history{}, err
		}
		cand := &candidate{name: name, node: n, e: e, r: r}
		g.Go(func() error { return cand.run(gctx) })
	}
	err = g.Wait()
	if err == nil && ctx.Err() == nil {
		// The last term may reach the observer a moment after its leader
		// began it.
		o.await(ctx, len(r.h.leaders), observeSlack)
	}
	stopObserving()
	<-observed
	if err != nil {
		return history{}, err
	}
	if err := ctx.Err(); err != nil {
		return history{}, err // interrupted, not finished
	}
	r.h.observed = o.leaders()
	return r.h, nil
}

// observeSlack bounds how long the run waits for the observer to catch up
// with the last term before the check judges what it saw.
const observeSlack = 5 * time.Second

// join records that a candidate joined the line for the first time.
func (r *rotation) join() {
	if r.joined.Add(1) == int32(r.cfg.candidates) {
		close(r.ready)
	}
}

// observer records what Observe reports.
type observer struct {
	seen chan struct{} // a token after each new leader

	mu  sync.Mutex
	got []string
}

func (o *observer) run(ch <-chan election.Leader) {
	for l := range ch {
		o.mu.Lock()
		o.got = append(o.got, l.Value)
		o.mu.Unlock()
		select {
		case o.seen <- struct{}{}:
		default:
		}
	}
}

// await waits until the observer has seen n leaders, ctx ends, or d passes.
func (o *observer) await(ctx context.Context, n int, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for len(o.leaders()) < n {
		select {
		case <-o.seen:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (o *observer) leaders() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}

// candidate is one node taking its turns as leader.
type candidate struct {
	name string
	node *fairlock.Client
	e    *election.Election
	r    *rotation
}

// errCrashed ends the Lead of the candidate that crashed: a stand-in for a
// process that is gone.
var errCrashed = errors.New("crashed")

// run takes the candidate's turns until the rotation ends (ctx is done) or
// the candidate crashes. A nil error means it stopped as planned.
func (c *candidate) run(ctx context.Context) error {
	// Lead campaigns, runs a term of work, hands the lead on every period
	// (Rotate: in one transaction the next in line leads and this candidate
	// rejoins at the tail, so the order cannot drift), and runs the next
	// term when its turn comes again; ctx ending resigns (or leaves the
	// line) and returns nil.
	err := c.e.Lead(ctx, c.name, c.term, election.RotateEvery(c.r.cfg.term))
	if errors.Is(err, errCrashed) {
		return nil
	}
	return stopped(ctx, err)
}

// term is one term as leader; ctx ends when the period is over, when the
// leadership is lost, or when the run ends. A real leader would do its work
// here, fencing its writes to etcd with If(c.e.IsOwner()).
func (c *candidate) term(ctx context.Context) error {
	// Only the first leader gets here before every candidate has joined:
	// it waits, so that the first counted round has all of them in it. A
	// term that ends meanwhile is not counted; the lead passes on.
	select {
	case <-c.r.ready:
	case <-ctx.Done():
		return nil
	}
	term, ok := c.r.begin(c.name, c.e.Token())
	if !ok { // every term is done: the run ends, and Lead with it
		c.r.stop()
		return nil
	}
	if term == c.r.cfg.crashTerm {
		return c.crashMidTerm(ctx, term)
	}
	defer c.r.end()
	<-ctx.Done()
	if errors.Is(context.Cause(ctx), election.ErrLost) {
		return fmt.Errorf("%s lost its lease mid-term: %w", c.name, context.Cause(ctx))
	}
	return nil // the period is over (or the run): Lead hands the lead on
}

// crashMidTerm leads for half a term, then crashes: its lease is revoked,
// or left to expire, and it does nothing more: the goroutine stands for a
// process that is gone, parked until the run ends, so that Lead neither
// resigns nor rotates for it.
func (c *candidate) crashMidTerm(ctx context.Context, term int) error {
	select {
	case <-time.After(c.r.cfg.term / 2):
	case <-ctx.Done():
		c.r.end()
		return nil
	}
	c.r.crash(c.name, term)
	if c.r.cfg.crash == crashExpire {
		c.node.Session().Orphan() // stops the keepalives; the lease runs out
	} else {
		_ = c.node.Session().Close() // revokes the lease; if that fails, it expires
	}
	<-c.r.over
	return errCrashed
}

// stopped turns the error of a candidate stopped by the end of the run
// into nil.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
