package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// A JoinAll whose reply is lost and one of whose entries is deleted before
// the retry fails with ErrLost, and must remove the entries it did write:
// a found entry left on a free slot would be adopted by the session's next
// TryLock as "written by an earlier attempt", granting a lock that someone
// else holds (two holders by etcd's record).
func TestPartlyLostJoinAllLeavesNoStrayToAdopt(t *testing.T) {
	const ttl = 10
	c := testcluster.Cluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	holder := newContender(t, c, 1, ttl, "/strays/l", "holder")
	if err := holder.m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	admin := testcluster.Client(t, c, 2)
	loser := &replyLoser{prefix: "/strays/"}
	cli := replyLosingClient(t, c, 0, loser)
	s := testcluster.Session(t, cli, ttl)
	l, err := queue.New(s, "/strays/l")
	if err != nil {
		t.Fatal(err)
	}
	m, err := queue.New(s, "/strays/m")
	if err != nil {
		t.Fatal(err)
	}
	loser.afterLoss = func() {
		// Between the attempt and its retry, the /m entry goes.
		if _, err := admin.Delete(ctx, "/strays/m/", clientv3.WithPrefix()); err != nil {
			t.Error(err)
		}
	}
	loser.armed.Store(true)
	_, err = queue.JoinAll(ctx, []queue.Request{{Queue: l, Value: "s"}, {Queue: m, Value: "s"}})
	if !errors.Is(err, queue.ErrLost) {
		t.Fatalf("JoinAll whose entry was deleted before its retry = %v, want ErrLost", err)
	}
	// Its /l entry is removed, not left on a free slot.
	deadline := time.Now().Add(grantTimeout)
	for {
		got := testcluster.Keys(t, admin, "/strays/l/")
		if len(got) == 1 && got[0] == holder.m.Key() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("line /strays/l after the failed JoinAll = %v, want only the holder's %s", got, holder.m.Key())
		}
		time.Sleep(20 * time.Millisecond) // polling etcd's record, bounded by the deadline
	}

	mine, err := fairmutex.New(s, "/strays/l")
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Fatalf("TryLock while another session holds the lock = %v, want ErrLocked", err)
	}
	if err := holder.m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	awaitNoKeys(t, "/strays/l", grantTimeout, admin)
	awaitNoKeys(t, "/strays/m", grantTimeout, admin)
}

// With etcd Mutex interop, the range that blocks lock /a covers the entries
// of lock /a/b, so a JoinAll of both reads its own /a/b entry in /a's
// range. Entries of the same Txn are not ahead of one another: the call
// must be granted at once on an idle cluster, not wait on itself.
func TestJoinAllDoesNotWaitOnItself(t *testing.T) {
	c := testcluster.Cluster(t, 1)
	cli := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, cli, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ab, err := queue.New(s, "/self/a/b", queue.WithEtcdMutexInterop())
	if err != nil {
		t.Fatal(err)
	}
	a, err := queue.New(s, "/self/a", queue.WithEtcdMutexInterop())
	if err != nil {
		t.Fatal(err)
	}
	ts, err := queue.AcquireAll(ctx, []queue.Request{{Queue: ab}, {Queue: a}})
	if err != nil {
		t.Fatalf("AcquireAll of /a/b and /a with interop on an idle cluster: %v", err)
	}
	for _, tk := range ts {
		if err := tk.Leave(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
