package fairlock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/queue"
)

// Connect, run a job under the lock with its write fenced by the hold,
// and find the lock free again once Do returns.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m, err := c.Mutex("/examples/fairlock/nightly")
	if err != nil {
		log.Fatal(err)
	}
	err = m.Do(ctx, func(ctx context.Context) error {
		// The put applies only while this hold is still in place.
		resp, err := c.Etcd().Txn(ctx).
			If(m.IsOwner()).
			Then(clientv3.OpPut("/examples/fairlock/nightly-report", "done")).
			Commit()
		if err != nil {
			return err
		}
		fmt.Println("fenced write applied:", resp.Succeeded)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("free again:", m.TryLock(ctx) == nil)
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// fenced write applied: true
	// free again: true
}

// An unreachable cluster is an error once DialTimeout (or ctx) ends, not a
// hang.
func ExampleConnect_unreachable() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := fairlock.Connect(ctx, fairlock.Config{
		Endpoints:   []string{"127.0.0.1:1"}, // nothing listens there
		DialTimeout: 200 * time.Millisecond,
	})
	fmt.Println("unreachable:", errors.Is(err, fairlock.ErrUnreachable))
	// Output:
	// unreachable: true
}

// Close revokes the session: the holds of a process that closes its Client
// go at once, and the next in line is granted without waiting for the TTL.
func ExampleClient_Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Two processes, as far as the lock is concerned.
	a, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints, TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	b, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ma, err := a.Mutex("/examples/fairlock/close")
	if err != nil {
		log.Fatal(err)
	}
	if err := ma.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	mb, err := b.Mutex("/examples/fairlock/close")
	if err != nil {
		log.Fatal(err)
	}
	granted := make(chan error, 1)
	go func() { granted <- mb.Lock(ctx) }()

	start := time.Now()
	if err := a.Close(); err != nil {
		log.Fatal(err)
	}
	<-ma.Done()
	fmt.Println("a's hold ended")
	if err := <-granted; err != nil {
		log.Fatal(err)
	}
	fmt.Println("b granted before a's TTL:", time.Since(start) < time.Minute)
	if err := mb.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// a's hold ended
	// b granted before a's TTL: true
}

// Every entry a Client's locks make carries its Identity, so a look at the
// line tells who holds the lock and who waits.
func ExampleConfig_identity() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const name = "/examples/fairlock/identity"
	a, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints, Identity: "node-a"})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	joined := make(chan struct{}, 1)
	b, err := fairlock.Connect(ctx, fairlock.Config{
		Endpoints: endpoints,
		Identity:  "node-b",
		// Told once b's entry is in the line.
		Hooks: &queue.Hooks{Joined: func(queue.JoinInfo) { joined <- struct{}{} }},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ma, err := a.Mutex(name)
	if err != nil {
		log.Fatal(err)
	}
	if err := ma.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	mb, err := b.Mutex(name)
	if err != nil {
		log.Fatal(err)
	}
	granted := make(chan error, 1)
	go func() { granted <- mb.Lock(ctx) }()
	<-joined

	line, err := a.Queue(name)
	if err != nil {
		log.Fatal(err)
	}
	entries, err := line.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		state := "waits"
		if e.Holds {
			state = "holds"
		}
		fmt.Println(e.Value, state)
	}

	if err := ma.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	if err := <-granted; err != nil {
		log.Fatal(err)
	}
	if err := mb.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// node-a holds
	// node-b waits
}
