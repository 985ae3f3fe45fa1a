package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

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
	nodes := make([]*cluster.Node, 0, cfg.candidates)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for range cfg.candidates {
		n, err := c.NewNode(ctx, cfg.ttl)
		if err != nil {
			return history{}, err
		}
		nodes = append(nodes, n)
	}

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	r := &rotation{cfg: cfg, out: out, start: time.Now(), stop: stop, ready: make(chan struct{})}
	g, gctx := errgroup.WithContext(rctx)
	for i, n := range nodes {
		name := fmt.Sprintf("cand-%d", i+1)
		r.h.candidates = append(r.h.candidates, name)
		q, err := queue.New(n.Session, cfg.name)
		if err != nil {
			return history{}, err
		}
		cand := &candidate{name: name, node: n, q: q, r: r}
		g.Go(func() error { return cand.run(gctx) })
	}
	if err := g.Wait(); err != nil {
		return history{}, err
	}
	if err := ctx.Err(); err != nil {
		return history{}, err // interrupted, not finished
	}
	return r.h, nil
}

// candidate is one node taking its turns as leader.
type candidate struct {
	name string
	node *cluster.Node
	q    *queue.Queue
	r    *rotation
}

// run takes the candidate's turns until the rotation ends (ctx is done) or
// the candidate crashes. A nil error means it stopped as planned.
func (c *candidate) run(ctx context.Context) error {
	t, err := c.q.Join(ctx, c.name)
	if err != nil {
		return stopped(ctx, err)
	}
	if c.r.joined.Add(1) == int32(c.r.cfg.candidates) {
		close(c.r.ready)
	}
	select {
	case <-c.r.ready:
	case <-ctx.Done():
		c.leave(ctx, t)
		return nil
	}

	for {
		if err := t.Wait(ctx); err != nil {
			c.leave(ctx, t)
			return stopped(ctx, err)
		}
		term, ok := c.r.begin(c.name, t.Rev())
		if !ok { // every term is done
			c.r.stop()
			c.leave(ctx, t)
			return nil
		}
		if term == c.r.cfg.crashTerm {
			c.crashMidTerm(ctx, t, term)
			return nil
		}
		err := c.lead(ctx, t)
		c.r.end()
		if err != nil {
			c.leave(ctx, t)
			return stopped(ctx, err)
		}
		// Back to the tail of the line before stepping down, so the
		// candidate is never out of the line and the order cannot drift.
		next, err := c.q.Join(ctx, c.name)
		if err != nil {
			c.leave(ctx, t)
			return stopped(ctx, err)
		}
		if err := t.Leave(ctx); err != nil { // hands the lead to the next in line
			c.leave(ctx, next)
			return stopped(ctx, fmt.Errorf("%s stepping down: %w", c.name, err))
		}
		t = next
	}
}

// lead is one term as leader. A real leader would do its work here, fencing
// its writes to etcd with If(t.IsOwner()) and watching t.Done() for the
// loss of its lease.
func (c *candidate) lead(ctx context.Context, t *queue.Ticket) error {
	select {
	case <-time.After(c.r.cfg.term):
		return nil
	case <-t.Done():
		return fmt.Errorf("%s lost its lease mid-term: %w", c.name, queue.ErrLost)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// crashMidTerm leads for half a term, then crashes: its lease is revoked,
// or left to expire, and it does nothing more.
func (c *candidate) crashMidTerm(ctx context.Context, t *queue.Ticket, term int) {
	select {
	case <-time.After(c.r.cfg.term / 2):
	case <-ctx.Done():
		c.r.end()
		c.leave(ctx, t)
		return
	}
	c.r.crash(c.name, term)
	if c.r.cfg.crash == crashExpire {
		c.node.Session.Orphan() // stops the keepalives; the lease runs out
		return
	}
	_ = c.node.Session.Close() // revokes the lease; if that fails, it expires
}

// leave removes t from the line with a fresh, bounded context: the run's
// may be over, and a leftover entry would hold up the others.
func (c *candidate) leave(ctx context.Context, t *queue.Ticket) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queue.CleanupTimeout)
	defer cancel()
	_ = t.Leave(lctx)
}

// stopped turns the error of a candidate stopped by the end of the run
// into nil.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
