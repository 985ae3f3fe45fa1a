package auth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// refused checks that err is etcd's permission denied for the lock named
// name, as the library reports it: ErrAccessDenied, etcd's own value, and
// the lock's name in the message.
func refused(t *testing.T, what, name string, err error) {
	t.Helper()
	switch {
	case !errors.Is(err, fairlock.ErrAccessDenied):
		t.Errorf("%s = %v, want an error matching ErrAccessDenied", what, err)
	case !errors.Is(err, rpctypes.ErrPermissionDenied):
		t.Errorf("%s = %v, want an error matching rpctypes.ErrPermissionDenied", what, err)
	case !strings.Contains(err.Error(), name):
		t.Errorf("%s = %q, want the lock's name %s in it", what, err, name)
	}
}

// A user who may read a prefix but not write it gets etcd's refusal from
// every call that writes, at once: in one round trip (the join's, which
// writes nothing when refused), naming the lock, and nothing is left in
// the line. What only reads works.
func TestReadOnlyUserRefusedAtOnce(t *testing.T) {
	c := authCluster(t, false)
	root := rootClient(t, c)
	ctx := ctxFor(t)
	held := mutex(t, tenant(t, c), prefix+"/held")
	if err := held.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	before := keys(t, root)

	calls := &kvCalls{}
	s := testcluster.Session(t, userClient(t, c, authsetup.Reader, authsetup.ReaderPassword, calls), 10)
	for _, tc := range []struct {
		what, name string
		trips      int64 // KV round trips the call may take
		call       func(ctx context.Context, name string) error
	}{
		{"Lock", prefix + "/ro/mutex", 1, func(ctx context.Context, name string) error {
			m, err := fairmutex.New(s, name)
			if err != nil {
				return err
			}
			return m.Lock(ctx)
		}},
		{"Lock behind a holder", prefix + "/held", 1, func(ctx context.Context, name string) error {
			m, err := fairmutex.New(s, name)
			if err != nil {
				return err
			}
			return m.Lock(ctx)
		}},
		{"TryLock", prefix + "/ro/try", 1, func(ctx context.Context, name string) error {
			m, err := fairmutex.New(s, name)
			if err != nil {
				return err
			}
			return m.TryLock(ctx)
		}},
		{"LockAll", prefix + "/ro/all/1", 1, func(ctx context.Context, name string) error {
			m1, err1 := fairmutex.New(s, name)
			m2, err2 := fairmutex.New(s, prefix+"/ro/all/2")
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			return fairmutex.LockAll(ctx, m1, m2)
		}},
		{"RLock", prefix + "/ro/rw", 1, func(ctx context.Context, name string) error {
			rw, err := rwmutex.New(s, name)
			if err != nil {
				return err
			}
			return rw.RLock(ctx)
		}},
		{"AcquireN", prefix + "/ro/sem", 1, func(ctx context.Context, name string) error {
			sm, err := semaphore.New(s, name, 3)
			if err != nil {
				return err
			}
			_, err = sm.AcquireN(ctx, 2)
			return err
		}},
		{"Campaign", prefix + "/ro/election", 1, func(ctx context.Context, name string) error {
			e, err := election.New(s, name)
			if err != nil {
				return err
			}
			return e.Campaign(ctx, "reader")
		}},
		{"AskToYield", prefix + "/held", 2, func(ctx context.Context, name string) error {
			q, err := queue.New(s, name)
			if err != nil {
				return err
			}
			_, err = q.AskToYield(ctx, "a reader asks") // reads the line, then its write is refused
			return err
		}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			ctx := ctxFor(t)
			n := calls.n.Load()
			err := tc.call(ctx, tc.name)
			if ctx.Err() != nil {
				t.Fatalf("%s waited for its ctx to end: %v", tc.what, err)
			}
			refused(t, tc.what, tc.name, err)
			if trips := calls.n.Load() - n; trips > tc.trips {
				t.Errorf("%s took %d round trips to report the refusal, want at most %d", tc.what, trips, tc.trips)
			}
		})
	}
	if after := keys(t, root); !slices.Equal(after, before) {
		t.Errorf("keys under %s/ after the refused calls: %q, want only what was there: %q", prefix, after, before)
	}

	// Reading needs no write: the line, and its leader, are the reader's
	// to see.
	q, err := queue.New(s, prefix+"/held")
	if err != nil {
		t.Fatal(err)
	}
	line, err := q.List(ctx)
	if err != nil || len(line) != 1 || line[0].Rev != held.Token() {
		t.Fatalf("the reader's List = %+v, %v; want the holder", line, err)
	}
}

// A permission revoked while a waiter waits (its watch, made before, lives
// on: etcd checks a watch's permission only when it is made) ends the wait
// with the refusal, found by the session's check of its own keys, instead
// of a wait until the lease expires; the cleanup of the entry that the
// user may no longer remove is given up, not retried, and the lease takes
// the entry with it.
func TestPermissionRevokedWhileWaiting(t *testing.T) {
	c := authCluster(t, false)
	root := rootClient(t, c)
	ctx := ctxFor(t)
	const other, otherPassword, otherRole = "tenant-b", "tenant-b-pw", "tenant-b-rw"
	from, end := authsetup.Range(prefix)
	for _, step := range []func() error{
		func() error { _, err := root.RoleAdd(ctx, otherRole); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, otherRole, from, end, clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserAdd(ctx, other, otherPassword); return err },
		func() error { _, err := root.UserGrantRole(ctx, other, otherRole); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	name := prefix + "/revoked"
	holder := mutex(t, tenant(t, c), name)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	joined := make(chan struct{}, 1)
	var retried atomic.Int64
	w := mutex(t, connect(t, c, other, otherPassword, fairlock.Config{TTL: 5 * time.Second, Hooks: &queue.Hooks{
		Joined:         func(queue.JoinInfo) { joined <- struct{}{} },
		CleanupRetried: func(queue.CleanupInfo) { retried.Add(1) },
	}}), name)
	got := lockAsync(ctx, w)
	<-joined
	if _, err := root.RoleRevokePermission(ctx, otherRole, from, end); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-got:
	case <-ctx.Done():
		t.Fatal("the waiter whose permission was revoked still waits")
	}
	refused(t, "Lock after the permission was revoked", name, err)
	if n := retried.Load(); n != 0 {
		t.Errorf("the refused removal of the waiter's entry was retried %d times", n)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitKeys(t, root, from, 0) // the waiter's lease, no longer renewed, takes its entry
}
