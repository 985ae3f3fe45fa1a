// Package tenants_test proves the fair share across tenants (queue.WithTenant)
// on in-process three-member clusters: the grant order at several shares,
// FIFO within a tenant, exclusion with callers without a tenant, what
// cancellation and loss leave, bad input.
package tenants_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// waitLimit bounds every blocking call and "eventually": generous, since a
// loaded 2-core machine under -race is slow, and only a bug needs it all.
const waitLimit = 20 * time.Second

// caller is one client of a lock, with a session of its own: a separate
// node, as far as the lock can tell. Its Value in the line is who.
type caller struct {
	who     string
	s       *concurrency.Session
	lock    func(context.Context) error
	unlock  func(context.Context) error
	token   func() int64
	cancel  context.CancelFunc // ends its Lock's ctx
	release chan struct{}      // closed to have it unlock
	done    chan error         // Lock's error, or Unlock's once released
}

// opts are a caller's options: its identity, and its tenant unless "".
func opts(who, tenant string, share int) []queue.Option {
	o := []queue.Option{queue.WithIdentity(who)}
	if tenant != "" {
		o = append(o, queue.WithTenant(tenant, share))
	}
	return o
}

// newSession returns a session of its own client on member i of c.
func newSession(t *testing.T, c *integration.Cluster, i, ttl int) *concurrency.Session {
	t.Helper()
	return testcluster.Session(t, testcluster.Client(t, c, i), ttl)
}

// mutexCaller is a caller holding a fairmutex of tenant (no tenant: "").
func mutexCaller(t *testing.T, c *integration.Cluster, i int, name, who, tenant string, share int) *caller {
	t.Helper()
	s := newSession(t, c, i, 10)
	m, err := fairmutex.New(s, name, opts(who, tenant, share)...)
	if err != nil {
		t.Fatalf("%s: fairmutex.New: %v", who, err)
	}
	return &caller{who: who, s: s, lock: m.Lock, unlock: m.Unlock, token: m.Token}
}

// permitCaller is a caller holding a permit of weight n of a semaphore of
// the given limit.
func permitCaller(t *testing.T, c *integration.Cluster, i int, name, who, tenant string, share, limit, n int) *caller {
	t.Helper()
	s := newSession(t, c, i, 10)
	sm, err := semaphore.New(s, name, limit, opts(who, tenant, share)...)
	if err != nil {
		t.Fatalf("%s: semaphore.New: %v", who, err)
	}
	cl := &caller{who: who, s: s}
	var p *semaphore.Permit
	cl.lock = func(ctx context.Context) (err error) {
		p, err = sm.AcquireN(ctx, n)
		return err
	}
	cl.unlock = func(ctx context.Context) error { return p.Release(ctx) }
	cl.token = func() int64 { return p.Token() }
	return cl
}

// line drives callers of one lock and watches its line in etcd.
type line struct {
	t      *testing.T
	name   string
	obs    *queue.Queue // a plain Queue on a session of its own, for List
	grants chan *caller
}

func newLine(t *testing.T, c *integration.Cluster, name string) *line {
	t.Helper()
	q, err := queue.New(newSession(t, c, 0, 10), name)
	if err != nil {
		t.Fatal(err)
	}
	return &line{t: t, name: name, obs: q, grants: make(chan *caller, 64)}
}

func (l *line) list() []queue.Entry {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	es, err := l.obs.List(ctx)
	if err != nil {
		l.t.Fatalf("List: %v", err)
	}
	return es
}

// arrive has c lock in a goroutine of its own, and returns once c's entry
// (in its admission line or in the lock's) is in etcd, so that the
// callers' arrival order is the order of the arrive calls. Once granted, c
// holds until released.
func (l *line) arrive(c *caller) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	c.cancel, c.release, c.done = cancel, make(chan struct{}), make(chan error, 1)
	go func() {
		defer cancel()
		if err := c.lock(ctx); err != nil {
			c.done <- err
			return
		}
		l.grants <- c
		<-c.release
		uctx, ucancel := context.WithTimeout(context.Background(), waitLimit)
		defer ucancel()
		c.done <- c.unlock(uctx)
	}()
	testcluster.Eventually(l.t, waitLimit, c.who+"'s entry", func() bool {
		return slices.ContainsFunc(l.list(), func(e queue.Entry) bool { return e.Value == c.who })
	})
}

// settled reports whether every caller admitted to the lock's line has its
// entry there, and how many entries of the lock's line hold.
func settled(es []queue.Entry) (ok bool, held int) {
	inLine := map[string]bool{}
	for _, e := range es {
		if e.Kind != queue.Admission {
			inLine[e.Value] = true
			if e.Holds {
				held++
			}
		}
	}
	for _, e := range es {
		if e.Kind == queue.Admission && e.Holds && !inLine[e.Value] {
			return false, held
		}
	}
	return true, held
}

// serve has the holders release, oldest grant first, each once the line
// has settled (every admitted caller in the lock's line, every grant
// seen), until n grants; it returns who was granted, in order, and checks
// that no more than most held at once.
func (l *line) serve(n, most int) []string {
	l.t.Helper()
	var order []string
	var holders []*caller
	for len(order) < n {
		testcluster.Eventually(l.t, waitLimit, fmt.Sprintf("the line to settle after %v", order), func() bool {
			for drained := false; !drained; {
				select {
				case c := <-l.grants:
					holders, order = append(holders, c), append(order, c.who)
				default:
					drained = true
				}
			}
			ok, held := settled(l.list())
			return ok && held == len(holders) && len(holders) > 0
		})
		if len(holders) > most {
			l.t.Fatalf("%d hold at once (%v), at most %d may", len(holders), order, most)
		}
		l.release(holders[0])
		holders = holders[1:]
	}
	for _, h := range holders {
		l.release(h)
	}
	return order
}

// release has c unlock, and waits for it.
func (l *line) release(c *caller) {
	l.t.Helper()
	close(c.release)
	select {
	case err := <-c.done:
		if err != nil {
			l.t.Fatalf("%s: release: %v", c.who, err)
		}
	case <-time.After(waitLimit):
		l.t.Fatalf("%s: release did not return within %v", c.who, waitLimit)
	}
}

// empty waits until nothing is left under the lock's name.
func (l *line) empty(c *integration.Cluster) {
	l.t.Helper()
	testcluster.WaitKeys(l.t, testcluster.Client(l.t, c, 1), l.name+"/", 0)
}

// granted returns the next caller granted, within waitLimit.
func (l *line) granted() *caller {
	l.t.Helper()
	select {
	case c := <-l.grants:
		return c
	case <-time.After(waitLimit):
		l.t.Fatalf("no grant within %v", waitLimit)
		return nil
	}
}
