package fairlockprom_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

// cycle feeds c the events of one Lock/Unlock: join, grant, release.
func cycle(c *fairlockprom.Collector, name string, kind queue.Kind, ahead int, wait, held time.Duration) {
	h := c.Hooks()
	h.Joined(queue.JoinInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Ahead: ahead})
	h.Granted(queue.GrantInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Wait: wait, Ahead: ahead})
	h.Released(queue.ReleaseInfo{Name: name, Key: name + "/.x/1", Token: 7, Kind: kind, Held: held})
}

func TestCounters(t *testing.T) {
	c := fairlockprom.New()
	h := c.Hooks()
	cycle(c, "/a", queue.Exclusive, 0, time.Millisecond, time.Second)
	cycle(c, "/a", queue.Exclusive, 1, time.Millisecond, time.Second)
	cycle(c, "/a", queue.Shared, 0, time.Millisecond, time.Second)
	h.Joined(queue.JoinInfo{Name: "/b", Kind: queue.Permit, Ahead: 3})
	// Held and lost on session expiry (the engine wraps both sentinels).
	h.Granted(queue.GrantInfo{Name: "/b", Kind: queue.Permit, Wait: time.Second, Ahead: 3})
	h.Lost(queue.LossInfo{Name: "/b", Kind: queue.Permit, Granted: true, Held: time.Second,
		Reason: fmt.Errorf("%w: %w", queue.ErrLost, queue.ErrSessionExpired)})
	// Waiting and its key deleted by someone else.
	h.Joined(queue.JoinInfo{Name: "/a", Kind: queue.Exclusive, Ahead: -1})
	h.Lost(queue.LossInfo{Name: "/a", Kind: queue.Exclusive, Reason: queue.ErrLost})
	h.CleanupRetried(queue.CleanupInfo{Name: "/b", Attempt: 1, Err: errors.New("unavailable")})
	h.CleanupRetried(queue.CleanupInfo{Name: "/b", Attempt: 2, Err: errors.New("unavailable")})

	want := `
# HELP fairlock_joins_total Entries put in a lock's line.
# TYPE fairlock_joins_total counter
fairlock_joins_total{kind="exclusive",lock="/a"} 3
fairlock_joins_total{kind="shared",lock="/a"} 1
fairlock_joins_total{kind="permit",lock="/b"} 1
# HELP fairlock_grants_total Entries granted the lock (handoffs included).
# TYPE fairlock_grants_total counter
fairlock_grants_total{kind="exclusive",lock="/a"} 2
fairlock_grants_total{kind="shared",lock="/a"} 1
fairlock_grants_total{kind="permit",lock="/b"} 1
# HELP fairlock_releases_total Holds ended by their owner.
# TYPE fairlock_releases_total counter
fairlock_releases_total{kind="exclusive",lock="/a"} 2
fairlock_releases_total{kind="shared",lock="/a"} 1
fairlock_releases_total{kind="permit",lock="/b"} 0
# HELP fairlock_losses_total Entries found gone without their owner removing them; reason is expired (session lease ended) or deleted (key deleted by someone else), state is held or waiting.
# TYPE fairlock_losses_total counter
fairlock_losses_total{kind="exclusive",lock="/a",reason="deleted",state="waiting"} 1
fairlock_losses_total{kind="permit",lock="/b",reason="expired",state="held"} 1
# HELP fairlock_cleanup_retries_total Failed attempts to remove an abandoned entry (a cancelled or failed call's) that will be tried again.
# TYPE fairlock_cleanup_retries_total counter
fairlock_cleanup_retries_total{lock="/b"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"fairlock_joins_total", "fairlock_grants_total", "fairlock_releases_total",
		"fairlock_losses_total", "fairlock_cleanup_retries_total"); err != nil {
		t.Error(err)
	}
}

func TestHistograms(t *testing.T) {
	c := fairlockprom.New(fairlockprom.WithWaitBuckets(0.1, 1), fairlockprom.WithHoldBuckets(1, 10))
	cycle(c, "/a", queue.Exclusive, 0, 50*time.Millisecond, 500*time.Millisecond)
	cycle(c, "/a", queue.Exclusive, 2, 250*time.Millisecond, 4*time.Second)
	cycle(c, "/a", queue.Exclusive, 300, 2*time.Second, 20*time.Second)
	// Held then lost: a wait observed, no hold.
	h := c.Hooks()
	h.Granted(queue.GrantInfo{Name: "/a", Kind: queue.Exclusive, Wait: 0})
	h.Lost(queue.LossInfo{Name: "/a", Kind: queue.Exclusive, Granted: true, Held: time.Hour, Reason: queue.ErrLost})

	want := `
# HELP fairlock_wait_seconds Time from joining a lock's line to being granted the lock, in seconds.
# TYPE fairlock_wait_seconds histogram
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="0.1"} 2
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="1"} 3
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="+Inf"} 4
fairlock_wait_seconds_sum{kind="exclusive",lock="/a"} 2.3
fairlock_wait_seconds_count{kind="exclusive",lock="/a"} 4
# HELP fairlock_hold_seconds Time from the grant to the owner's release, in seconds (lost holds are in losses_total).
# TYPE fairlock_hold_seconds histogram
fairlock_hold_seconds_bucket{kind="exclusive",lock="/a",le="1"} 1
fairlock_hold_seconds_bucket{kind="exclusive",lock="/a",le="10"} 2
fairlock_hold_seconds_bucket{kind="exclusive",lock="/a",le="+Inf"} 3
fairlock_hold_seconds_sum{kind="exclusive",lock="/a"} 24.5
fairlock_hold_seconds_count{kind="exclusive",lock="/a"} 3
# HELP fairlock_ahead_at_join Entries in line ahead of a new entry (blocking it) when it joined; le="0" counts uncontended joins.
# TYPE fairlock_ahead_at_join histogram
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="0"} 1
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="1"} 1
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="2"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="4"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="8"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="16"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="32"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="64"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="128"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="256"} 2
fairlock_ahead_at_join_bucket{kind="exclusive",lock="/a",le="+Inf"} 3
fairlock_ahead_at_join_sum{kind="exclusive",lock="/a"} 302
fairlock_ahead_at_join_count{kind="exclusive",lock="/a"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"fairlock_wait_seconds", "fairlock_hold_seconds", "fairlock_ahead_at_join"); err != nil {
		t.Error(err)
	}
}

func TestDefaultBuckets(t *testing.T) {
	b := fairlockprom.DefaultBuckets
	if b[0] != 0.001 || b[len(b)-1] != 600 {
		t.Errorf("DefaultBuckets run from %v to %v, want 0.001 to 600", b[0], b[len(b)-1])
	}
	c := fairlockprom.New()
	cycle(c, "/a", queue.Exclusive, 0, time.Millisecond, time.Millisecond)
	// 58 series per (lock, kind) with the default buckets, as the package
	// doc says: a histogram is a series per bucket, +Inf, _sum and _count.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += len(h.GetBucket()) + 3
			} else {
				n++
			}
		}
	}
	if n != 58 {
		t.Errorf("%d series after one lock's first cycle, want 58", n)
	}
}

// TestBadBuckets shows that buckets out of order, repeated, NaN or +Inf
// are put right: client_golang would panic on them inside a hook.
func TestBadBuckets(t *testing.T) {
	c := fairlockprom.New(
		fairlockprom.WithWaitBuckets(1, 0.1, 0.1, math.NaN(), math.Inf(+1)),
		fairlockprom.WithHoldBuckets(), // empty: the defaults
	)
	cycle(c, "/a", queue.Exclusive, 0, 50*time.Millisecond, time.Millisecond)
	want := `
# HELP fairlock_wait_seconds Time from joining a lock's line to being granted the lock, in seconds.
# TYPE fairlock_wait_seconds histogram
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="0.1"} 1
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="1"} 1
fairlock_wait_seconds_bucket{kind="exclusive",lock="/a",le="+Inf"} 1
fairlock_wait_seconds_sum{kind="exclusive",lock="/a"} 0.05
fairlock_wait_seconds_count{kind="exclusive",lock="/a"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "fairlock_wait_seconds"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "fairlock_hold_seconds"); n != 1 {
		t.Errorf("%d hold histograms, want 1", n)
	}
}

func TestNameGrouping(t *testing.T) {
	c := fairlockprom.New(fairlockprom.WithNameGrouping(fairlockprom.GroupByPrefix(1)))
	cycle(c, "/orders/1", queue.Exclusive, 0, 0, 0)
	cycle(c, "/orders/2", queue.Exclusive, 0, 0, 0)
	cycle(c, "/orders/2", queue.Shared, 0, 0, 0)
	c.Hooks().Lost(queue.LossInfo{Name: "/orders/3", Kind: queue.Exclusive, Reason: queue.ErrLost})
	c.Hooks().CleanupRetried(queue.CleanupInfo{Name: "/orders/4"})

	if got := value(t, c, "fairlock_grants_total", "/orders", "exclusive"); got != 2 {
		t.Errorf("exclusive grants of /orders = %v, want 2", got)
	}
	if got := value(t, c, "fairlock_grants_total", "/orders", "shared"); got != 1 {
		t.Errorf("shared grants of /orders = %v, want 1", got)
	}
	// Only the group's series exist: nothing labelled /orders/N.
	for _, name := range []string{"fairlock_grants_total", "fairlock_losses_total", "fairlock_cleanup_retries_total"} {
		if err := onlyLock(c, name, "/orders"); err != nil {
			t.Error(err)
		}
	}
}

func TestNamespace(t *testing.T) {
	c := fairlockprom.New(fairlockprom.WithNamespace("myapp_locks"))
	cycle(c, "/a", queue.Exclusive, 0, 0, 0)
	if n := testutil.CollectAndCount(c, "myapp_locks_grants_total"); n != 1 {
		t.Errorf("%d myapp_locks_grants_total series, want 1", n)
	}
	if n := testutil.CollectAndCount(c, "fairlock_grants_total"); n != 0 {
		t.Errorf("%d fairlock_grants_total series under another namespace, want 0", n)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Errorf("Register: %v", err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}

// TestLint runs promlint over every metric, each with a series.
func TestLint(t *testing.T) {
	c := fairlockprom.New()
	cycle(c, "/a", queue.Exclusive, 0, 0, 0)
	c.Hooks().Lost(queue.LossInfo{Name: "/a", Kind: queue.Exclusive, Reason: queue.ErrLost})
	c.Hooks().CleanupRetried(queue.CleanupInfo{Name: "/a"})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestBadNamespaceIsAnError(t *testing.T) {
	c := fairlockprom.New(fairlockprom.WithNamespace("\xff"))
	if err := prometheus.NewRegistry().Register(c); err == nil {
		t.Error("Register of a Collector with a namespace that is not UTF-8 succeeded")
	}
}

// TestNotUTF8Name shows that a lock name that is not UTF-8 (etcd keys need
// not be) is counted, not a panic inside the hook.
func TestNotUTF8Name(t *testing.T) {
	c := fairlockprom.New()
	cycle(c, "/a\xff", queue.Exclusive, 0, 0, 0)
	c.Hooks().Lost(queue.LossInfo{Name: "/a\xff", Kind: queue.Exclusive, Reason: queue.ErrLost})
	c.Hooks().CleanupRetried(queue.CleanupInfo{Name: "/a\xff"})
	if err := onlyLock(c, "fairlock_grants_total", "/a\uFFFD"); err != nil {
		t.Error(err)
	}
}

// TestConcurrentHooks feeds one Collector from many goroutines, as the
// locks of a busy process do; -race checks the rest.
func TestConcurrentHooks(t *testing.T) {
	c := fairlockprom.New()
	const goroutines, cycles = 8, 200
	var wg sync.WaitGroup
	// wg.Add and Done rather than wg.Go: the module supports Go 1.23.
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cycles {
				cycle(c, fmt.Sprintf("/lock/%d", (g+i)%4), queue.Exclusive, 0, time.Millisecond, time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = testutil.CollectAndCount(c) }() // a scrape in the middle
	wg.Wait()
	var total float64
	for l := range 4 {
		total += value(t, c, "fairlock_grants_total", fmt.Sprintf("/lock/%d", l), "exclusive")
	}
	if total != goroutines*cycles {
		t.Errorf("%v grants counted, want %d", total, goroutines*cycles)
	}
}

// TestNilHooksFields checks that every hook is set: the engine calls only
// the ones that are not nil, and an adapter that left one out would
// silently miss its events.
func TestNilHooksFields(t *testing.T) {
	h := fairlockprom.New().Hooks()
	if h.Joined == nil || h.Granted == nil || h.Released == nil || h.Lost == nil || h.CleanupRetried == nil {
		t.Errorf("Hooks() has a nil field: %+v", h)
	}
}

// gather returns the families of c named name.
func gather(t *testing.T, c prometheus.Collector, name string) *dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// value returns the value of counter name of lock and kind, 0 if it has
// no series.
func value(t *testing.T, c prometheus.Collector, name, lock, kind string) float64 {
	t.Helper()
	for _, m := range gather(t, c, name).GetMetric() {
		if label(m, "lock") == lock && label(m, "kind") == kind {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// onlyLock reports unless name has series and all of them are of lock.
func onlyLock(c prometheus.Collector, name, lock string) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if got := label(m, "lock"); got != lock {
				return fmt.Errorf("%s has a series of lock %q, want only %q", name, got, lock)
			}
		}
		return nil
	}
	return fmt.Errorf("no %s series", name)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
