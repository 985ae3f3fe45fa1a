package fairlockprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/fairmutex"
	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

// startEtcd starts an embedded etcd for the test and returns a function
// that opens a session (with its own client, as a separate node has).
func startEtcd(t *testing.T, ctx context.Context) func() *concurrency.Session {
	t.Helper()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return func() *concurrency.Session {
		t.Helper()
		cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(5), concurrency.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// TestMutexLockUnlock checks, against a real etcd, that one Lock and one
// Unlock of a fairmutex are counted as one join, one grant and one
// release, with a wait and a hold that fit the times seen around the calls.
func TestMutexLockUnlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session := startEtcd(t, ctx)
	c := fairlockprom.New()
	m, err := fairmutex.New(session(), "/test/prom", queue.WithHooks(c.Hooks()))
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	granted := time.Now()
	time.Sleep(20 * time.Millisecond) // a hold long enough to tell from zero
	releasing := time.Now()
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	end := time.Now()

	checkOneHold(t, c, "/test/prom", "exclusive", granted.Sub(start), releasing.Sub(granted), end.Sub(start))
	ahead := histogram(t, c, "fairlock_ahead_at_join", "/test/prom", "exclusive")
	if ahead.GetSampleCount() != 1 || ahead.GetSampleSum() != 0 {
		t.Errorf("ahead_at_join: %d samples summing to %v, want one 0", ahead.GetSampleCount(), ahead.GetSampleSum())
	}
}

// TestMutexHandoff has a second node wait for the lock while the first
// holds it: two grants, the second having waited at least from its join
// to the first's release, and joined with one entry ahead.
func TestMutexHandoff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session := startEtcd(t, ctx)
	c := fairlockprom.New()
	joined := make(chan struct{}, 2)
	hooks := *c.Hooks()
	hooks.Joined = func(i queue.JoinInfo) { c.Hooks().Joined(i); joined <- struct{}{} }

	a, err := fairmutex.New(session(), "/test/prom", queue.WithHooks(&hooks))
	if err != nil {
		t.Fatal(err)
	}
	b, err := fairmutex.New(session(), "/test/prom", queue.WithHooks(&hooks))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	<-joined
	locked := make(chan error, 1)
	go func() { locked <- b.Lock(ctx) }()
	select {
	case <-joined:
	case err := <-locked:
		t.Fatalf("second Lock returned while the first held: %v", err)
	case <-ctx.Done():
		t.Fatal("second Lock never joined")
	}
	bJoined := time.Now()
	time.Sleep(20 * time.Millisecond) // a wait long enough to tell from zero
	aReleasing := time.Now()
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	if err := b.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	for name, want := range map[string]float64{"fairlock_joins_total": 2, "fairlock_grants_total": 2, "fairlock_releases_total": 2} {
		if got := value(t, c, name, "/test/prom", "exclusive"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	wait := histogram(t, c, "fairlock_wait_seconds", "/test/prom", "exclusive")
	if atLeast := aReleasing.Sub(bJoined).Seconds(); wait.GetSampleCount() != 2 || wait.GetSampleSum() < atLeast {
		t.Errorf("wait: %d samples summing to %vs, want 2 summing to at least %vs", wait.GetSampleCount(), wait.GetSampleSum(), atLeast)
	}
	ahead := histogram(t, c, "fairlock_ahead_at_join", "/test/prom", "exclusive")
	if bk := ahead.GetBucket(); ahead.GetSampleCount() != 2 || bk[0].GetCumulativeCount() != 1 || bk[1].GetCumulativeCount() != 2 {
		t.Errorf("ahead_at_join: %v, want one 0 and one 1", ahead)
	}
}

// TestMutexLost revokes the session's lease under a hold: one loss, held
// and expired, and no release.
func TestMutexLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session := startEtcd(t, ctx)
	c := fairlockprom.New()
	s := session()
	m, err := fairmutex.New(s, "/test/prom", queue.WithHooks(c.Hooks()))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client().Revoke(ctx, s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-ctx.Done():
		t.Fatal("Done did not close after the lease was revoked")
	}
	if err := m.Unlock(ctx); !errors.Is(err, fairmutex.ErrLost) {
		t.Fatalf("Unlock after revoke = %v, want ErrLost", err)
	}
	want := `
# HELP fairlock_losses_total Entries found gone without their owner removing them; reason is expired (session lease ended) or deleted (key deleted by someone else), state is held or waiting.
# TYPE fairlock_losses_total counter
fairlock_losses_total{kind="exclusive",lock="/test/prom",reason="expired",state="held"} 1
# HELP fairlock_releases_total Holds ended by their owner.
# TYPE fairlock_releases_total counter
fairlock_releases_total{kind="exclusive",lock="/test/prom"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "fairlock_losses_total", "fairlock_releases_total"); err != nil {
		t.Error(err)
	}
}

// checkOneHold checks that c counted exactly one join, grant and release
// of lock and kind, no loss, a wait of at most maxWait and a hold of at
// least minHold and at most maxHold.
func checkOneHold(t *testing.T, c *fairlockprom.Collector, lock, kind string, maxWait, minHold, maxHold time.Duration) {
	t.Helper()
	for _, name := range []string{"fairlock_joins_total", "fairlock_grants_total", "fairlock_releases_total"} {
		if got := value(t, c, name, lock, kind); got != 1 {
			t.Errorf("%s = %v, want 1", name, got)
		}
	}
	if mf := gather(t, c, "fairlock_losses_total"); mf != nil {
		t.Errorf("losses counted: %v", mf)
	}
	wait := histogram(t, c, "fairlock_wait_seconds", lock, kind)
	if wait.GetSampleCount() != 1 || wait.GetSampleSum() <= 0 || wait.GetSampleSum() > maxWait.Seconds() {
		t.Errorf("wait: %d samples summing to %vs, want 1 in (0, %v]", wait.GetSampleCount(), wait.GetSampleSum(), maxWait)
	}
	hold := histogram(t, c, "fairlock_hold_seconds", lock, kind)
	if hold.GetSampleCount() != 1 || hold.GetSampleSum() < minHold.Seconds() || hold.GetSampleSum() > maxHold.Seconds() {
		t.Errorf("hold: %d samples summing to %vs, want 1 in [%v, %v]", hold.GetSampleCount(), hold.GetSampleSum(), minHold, maxHold)
	}
}

func histogram(t *testing.T, c *fairlockprom.Collector, name, lock, kind string) *dto.Histogram {
	t.Helper()
	for _, m := range gather(t, c, name).GetMetric() {
		if label(m, "lock") == lock && label(m, "kind") == kind {
			return m.GetHistogram()
		}
	}
	t.Fatalf("no %s series for lock %q kind %q", name, lock, kind)
	return nil
}
