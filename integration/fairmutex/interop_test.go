package fairmutex_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
)

// notGrantedFor is how long a Lock that must wait is watched for a wrong
// grant. A lock that ignored the etcd holder would be granted right after
// its join, in milliseconds.
const notGrantedFor = 500 * time.Millisecond

// interopNode is one machine: a session of its own on member i, on which
// both etcd's Mutex and fairlock's locks are made.
func interopNode(t *testing.T, c *clusterT, i int) *concurrency.Session {
	t.Helper()
	return testcluster.Session(t, testcluster.Client(t, c.Cluster, i), 10)
}

// expectWaiting starts lock in the background, checks it is still waiting
// notGrantedFor after it joined, and returns the channel its result comes on.
func expectWaiting(t *testing.T, ctx context.Context, joined <-chan struct{}, lock func(context.Context) error) <-chan error {
	t.Helper()
	granted := make(chan error, 1)
	go func() { granted <- lock(ctx) }()
	if joined != nil {
		select {
		case <-joined:
		case <-ctx.Done():
			t.Fatal("never joined the line")
		}
	}
	select {
	case err := <-granted:
		t.Fatalf("granted (err %v) while the other kind of lock holds the name", err)
	case <-time.After(notGrantedFor):
	}
	return granted
}

func joinedHook() (*queue.Hooks, <-chan struct{}) {
	joined := make(chan struct{}, 1)
	return &queue.Hooks{Joined: func(queue.JoinInfo) {
		select {
		case joined <- struct{}{}:
		default:
		}
	}}, joined
}

// With queue.WithEtcdMutexInterop, a holder of etcd's own concurrency.Mutex
// (what `etcdctl lock` takes) on the name blocks a fairmutex, an rwmutex
// writer and an rwmutex reader: TryLock fails writing nothing, Lock waits
// and is granted once etcd's Mutex is unlocked.
func TestInteropEtcdMutexHolderBlocksFairlock(t *testing.T) {
	const name = "/interop/etcd-holds"
	c := cluster(t)
	ctx := within(t)
	etcdSide := interopNode(t, c, 0)
	em := concurrency.NewMutex(etcdSide, name)
	if err := em.Lock(ctx); err != nil {
		t.Fatalf("etcd Mutex Lock: %v", err)
	}

	hooks, joined := joinedHook()
	fs := interopNode(t, c, 1)
	m, err := fairmutex.New(fs, name, queue.WithEtcdMutexInterop(), queue.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	rw, err := rwmutex.New(fs, name, queue.WithEtcdMutexInterop())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Fatalf("fairmutex TryLock while etcd's Mutex holds = %v, want ErrLocked", err)
	}
	if err := rw.TryLock(ctx); !errors.Is(err, rwmutex.ErrLocked) {
		t.Fatalf("rwmutex TryLock while etcd's Mutex holds = %v, want ErrLocked", err)
	}
	if err := rw.TryRLock(ctx); !errors.Is(err, rwmutex.ErrLocked) {
		t.Fatalf("rwmutex TryRLock while etcd's Mutex holds = %v, want ErrLocked", err)
	}

	granted := expectWaiting(t, ctx, joined, m.Lock)
	if err := em.Unlock(ctx); err != nil {
		t.Fatalf("etcd Mutex Unlock: %v", err)
	}
	if err := <-granted; err != nil {
		t.Fatalf("fairmutex Lock after etcd's Mutex was unlocked: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// A fairmutex holder blocks etcd's own Mutex on the same name, with the
// option or without it: etcd's Mutex waits for every key under the name.
func TestInteropFairmutexHolderBlocksEtcdMutex(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []queue.Option
	}{
		{"with interop", []queue.Option{queue.WithEtcdMutexInterop()}},
		{"without interop", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "/interop/fairlock-holds/" + map[bool]string{true: "on", false: "off"}[tc.opts != nil]
			c := cluster(t)
			ctx := within(t)
			m, err := fairmutex.New(interopNode(t, c, 0), name, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			mustLock(t, m)

			em := concurrency.NewMutex(interopNode(t, c, 1), name)
			if err := em.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
				t.Fatalf("etcd Mutex TryLock while a fairmutex holds = %v, want concurrency.ErrLocked", err)
			}
			granted := expectWaiting(t, ctx, nil, em.Lock)
			if err := m.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-granted; err != nil {
				t.Fatalf("etcd Mutex Lock after the fairmutex was unlocked: %v", err)
			}
			if err := em.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Arrival order holds across the two kinds: with the option, a fairmutex
// that arrives after a waiting etcd Mutex goes after it.
func TestInteropOrderAcrossKinds(t *testing.T) {
	const name = "/interop/order"
	c := cluster(t)
	ctx := within(t)
	hooks, joined := joinedHook()
	first, err := fairmutex.New(interopNode(t, c, 0), name, queue.WithEtcdMutexInterop())
	if err != nil {
		t.Fatal(err)
	}
	mustLock(t, first)
	em := concurrency.NewMutex(interopNode(t, c, 1), name)
	etcdGranted := expectWaiting(t, ctx, nil, em.Lock) // its key is in line behind first
	last, err := fairmutex.New(interopNode(t, c, 2), name, queue.WithEtcdMutexInterop(), queue.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	lastGranted := expectWaiting(t, ctx, joined, last.Lock)

	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-etcdGranted; err != nil {
		t.Fatalf("etcd Mutex, second in line: %v", err)
	}
	select {
	case err := <-lastGranted:
		t.Fatalf("the later fairmutex was granted (err %v) while etcd's Mutex, ahead of it, holds", err)
	case <-time.After(notGrantedFor):
	}
	if err := em.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-lastGranted; err != nil {
		t.Fatal(err)
	}
	if err := last.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// Without the option, fairlock does not see etcd's Mutex: while etcd's
// Mutex holds the name, a fairmutex is granted too, and both hold at once.
// (The other way round etcd's Mutex still waits: see
// TestInteropFairmutexHolderBlocksEtcdMutex.) This is why every fairlock
// user of a name must set the option while any etcd Mutex user remains.
func TestWithoutInteropBothAreGranted(t *testing.T) {
	const name = "/interop/off"
	c := cluster(t)
	ctx := within(t)
	em := concurrency.NewMutex(interopNode(t, c, 0), name)
	if err := em.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := fairmutex.New(interopNode(t, c, 1), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.TryLock(ctx); err != nil {
		t.Fatalf("fairmutex TryLock without the option = %v, want a grant beside etcd's holder", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := em.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
