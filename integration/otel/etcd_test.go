package fairlockotel_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// TestMutexLockUnlock checks, against a real etcd, that one Lock and one
// Unlock of a fairmutex make one grant, one release and one span no longer
// than the Lock call.
func TestMutexLockUnlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(5), concurrency.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	a, reader, rec := setup(t)
	m, err := fairmutex.New(s, "/test/otel", queue.WithHooks(a.Hooks()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lockTook := time.Since(start)
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	got := collect(t, reader)
	ax := "fairlock.kind=exclusive,fairlock.lock=/test/otel"
	for _, name := range []string{"fairlock.joins", "fairlock.grants", "fairlock.releases", "fairlock.wait", "fairlock.hold"} {
		if c := got[name][ax].count; c != 1 {
			t.Errorf("%s = %d, want 1", name, c)
		}
	}
	if len(got["fairlock.losses"]) != 0 {
		t.Errorf("losses reported: %v", got["fairlock.losses"])
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if d := spans[0].EndTime().Sub(spans[0].StartTime()); d <= 0 || d > lockTook {
		t.Errorf("span lasts %v, want (0, %v], the Lock call", d, lockTook)
	}
}
