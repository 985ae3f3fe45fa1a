package leaseguard_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

// Bounds for "eventually" on a loaded 2-core machine under -race: they
// bound hangs, they do not measure speed.
const (
	callTimeout = 20 * time.Second
	// expirySlack is how late past its TTL etcd may be seen to delete an
	// expired lease's keys: the leader revokes on a 500 ms tick, through
	// raft, and the machine is slow.
	expirySlack = 8 * time.Second
)

// holder is a client of one member with a session on it, whose lease is
// wrapped: it counts the guard's keep-alives (KeepAliveOnce) and, when
// numb, hides from the session that etcd's client gave up its own
// keep-alives, so that only the guard can report the loss.
type holder struct {
	cli   *clientv3.Client
	s     *concurrency.Session
	lease *countingLease
}

func newHolder(t *testing.T, c *integration.Cluster, member, ttl int, numb bool) *holder {
	t.Helper()
	cli, err := integration.NewClientV3(c.Members[member])
	if err != nil {
		t.Fatalf("client of member %d: %v", member, err)
	}
	t.Cleanup(func() { cli.Close() })
	l := &countingLease{Lease: cli.Lease, numb: numb}
	cli.Lease = l // before the session starts its keep-alives
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatalf("session on member %d: %v", member, err)
	}
	// Orphan, not Close: a revoke would wait on a cut connection.
	t.Cleanup(s.Orphan)
	return &holder{cli: cli, s: s, lease: l}
}

// guard returns the session's guard once its first keep-alive has been
// answered.
func (h *holder) guard(t *testing.T) *leaseguard.Guard {
	t.Helper()
	g := leaseguard.For(h.s)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := g.Ready(ctx); err != nil {
		t.Fatalf("guard not ready: %v", err)
	}
	return g
}

// countingLease counts KeepAliveOnce calls; when numb, the channel its
// KeepAlive returns stays open after etcd's client closes its own (the lease
// is deemed lost), until the session ends.
type countingLease struct {
	clientv3.Lease
	numb bool
	once atomic.Int64
}

func (l *countingLease) KeepAliveOnce(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseKeepAliveResponse, error) {
	l.once.Add(1)
	return l.Lease.KeepAliveOnce(ctx, id)
}

func (l *countingLease) KeepAlive(ctx context.Context, id clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	in, err := l.Lease.KeepAlive(ctx, id)
	if err != nil || !l.numb {
		return in, err
	}
	out := make(chan *clientv3.LeaseKeepAliveResponse)
	go func() {
		// The session reads until out closes and ends ctx when it ends:
		// this goroutine ends with it.
		defer close(out)
		for {
			select {
			case resp, ok := <-in:
				if !ok {
					in = nil // etcd's client gave up: keep quiet
					continue
				}
				select {
				case out <- resp:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// observer watches key from a client of its own and reports when its
// deletion is seen.
func observeDeletion(t *testing.T, cli *clientv3.Client, key string) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// A watch that starts "now" is served at once, not by etcd's 100 ms
	// resync loop: the deletion is seen as soon as etcd applies it.
	wch := cli.Watch(ctx, key, clientv3.WithCreatedNotify(), clientv3.WithFilterPut())
	select {
	case resp, ok := <-wch:
		if !ok || !resp.Created {
			cancel()
			t.Fatalf("watch on %s not created: %v", key, resp.Err())
		}
	case <-time.After(callTimeout):
		cancel()
		t.Fatalf("watch on %s not created within %v", key, callTimeout)
	}
	gctx, gcancel := context.WithTimeout(context.Background(), callTimeout)
	defer gcancel()
	if resp, err := cli.Get(gctx, key); err != nil || len(resp.Kvs) != 1 {
		cancel()
		t.Fatalf("key %s not there once the watch started: %v", key, err)
	}
	deleted := make(chan time.Time, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for resp := range wch {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					deleted <- time.Now()
					return
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return deleted
}

// closedAt reports on the returned channel when ch closes.
func closedAt(ch <-chan struct{}) <-chan time.Time {
	at := make(chan time.Time, 1)
	go func() {
		<-ch
		at <- time.Now()
	}()
	return at
}

// await returns the time sent on ch, failing the test after d.
func await(t *testing.T, what string, ch <-chan time.Time, d time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-ch:
		return at
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
		return time.Time{}
	}
}
