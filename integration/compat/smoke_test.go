package compat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// Waiters from separate clients are granted in the order they joined, with
// rising tokens.
func TestFIFO(t *testing.T) {
	const waiters = 4
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	holder := connect(t, fairlock.Config{Identity: "holder"})
	hm, err := holder.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := hm.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	type grant struct {
		who   int
		token int64
		err   error
	}
	grants := make(chan grant, waiters)
	for i := range waiters {
		joined := make(chan struct{}, 1)
		c := connect(t, fairlock.Config{
			Identity: fmt.Sprint("waiter-", i),
			Hooks:    &queue.Hooks{Joined: func(queue.JoinInfo) { joined <- struct{}{} }},
		})
		m, err := c.Mutex(name)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			err := m.Lock(ctx)
			grants <- grant{i, m.Token(), err}
			if err == nil {
				m.Unlock(ctx) //nolint:errcheck // the next grant shows it
			}
		}()
		select { // the next waiter joins only after this one
		case <-joined:
		case <-ctx.Done():
			t.Fatalf("waiter %d never joined", i)
		}
	}
	if err := hm.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	var order []int
	last := hm.Token()
	for range waiters {
		g := <-grants
		if g.err != nil {
			t.Fatalf("waiter %d: %v", g.who, g.err)
		}
		if g.token <= last {
			t.Errorf("waiter %d granted with token %d, not above the previous %d", g.who, g.token, last)
		}
		last = g.token
		order = append(order, g.who)
	}
	if want := []int{0, 1, 2, 3}; !slices.Equal(order, want) {
		t.Errorf("granted in order %v, want %v (join order)", order, want)
	}
}

// A TryLock on a held lock fails with ErrLocked and writes nothing: the
// store's revision does not move.
func TestTryLockWritesNothing(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a, b := connect(t, fairlock.Config{}), connect(t, fairlock.Config{})
	ma, err := a.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ma.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	mb, err := b.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	before := revision(t, ctx, b.Etcd())
	if err := mb.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		t.Fatalf("TryLock on a held lock = %v, want ErrLocked", err)
	}
	if after := revision(t, ctx, b.Etcd()); after != before {
		t.Errorf("revision moved from %d to %d across a failed TryLock", before, after)
	}
	if err := ma.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mb.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
	if err := mb.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func revision(t *testing.T, ctx context.Context, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(ctx, "/fairlock-compat/no-such-key")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// Unlock is fenced: once the holder's key was deleted by someone else and
// the lock granted to another client, the old holder's Unlock reports
// ErrLost and deletes nothing.
func TestFencedUnlock(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a, b := connect(t, fairlock.Config{}), connect(t, fairlock.Config{})
	ma, err := a.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ma.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Etcd().Delete(ctx, ma.Key()); err != nil { // an operator's etcdctl del
		t.Fatal(err)
	}
	mb, err := b.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ma.Done():
	case <-ctx.Done():
		t.Fatal("the deleted hold's Done never closed")
	}
	if err := ma.Unlock(ctx); !errors.Is(err, fairmutex.ErrLost) {
		t.Fatalf("Unlock of the deleted hold = %v, want ErrLost", err)
	}
	resp, err := b.Etcd().Txn(ctx).If(mb.IsOwner()).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Fatal("the late Unlock deleted the new holder's entry")
	}
	if err := mb.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
