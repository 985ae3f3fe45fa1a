package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/semaphore"
)

// Two permits: fence a write with one, see TryAcquire fail while both are
// held, and a waiter take the first permit given back.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// At most two report jobs query the database at once.
	sm, err := c.Semaphore("/examples/semaphore/db", 2)
	if err != nil {
		log.Fatal(err)
	}
	first, err := sm.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	second, err := sm.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Fence the write: it only happens while the permit is still held.
	resp, err := c.Etcd().Txn(ctx).
		If(first.IsOwner()).
		Then(clientv3.OpPut("/examples/semaphore/last-token", fmt.Sprint(first.Token()))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fenced write applied:", resp.Succeeded)

	_, err = sm.TryAcquire(ctx)
	fmt.Println("TryAcquire with both permits held:", errors.Is(err, semaphore.ErrNoPermit))

	// A waiter gets the first permit given back, whichever it is.
	granted := make(chan *semaphore.Permit)
	go func() {
		p, err := sm.Acquire(ctx)
		if err != nil {
			log.Fatal(err)
		}
		granted <- p
	}()
	if err := second.Release(ctx); err != nil {
		log.Fatal(err)
	}
	third := <-granted
	fmt.Println("waiter granted, with a higher token:", third.Token() > second.Token())

	for _, p := range []*semaphore.Permit{first, third} {
		if err := p.Release(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("second Release:", errors.Is(first.Release(ctx), semaphore.ErrReleased))
	if _, err := c.Etcd().Delete(ctx, "/examples/semaphore/last-token"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// fenced write applied: true
	// TryAcquire with both permits held: true
	// waiter granted, with a higher token: true
	// second Release: true
}

// A budget rather than a count: 8 GB of GPU memory, jobs taking what they
// need. A light job does not pass a heavy one that waits, even though it
// would fit, so heavy jobs are never starved.
func ExampleSemaphore_AcquireN() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	gpu, err := c.Semaphore("/examples/semaphore/gpu-gb", 8)
	if err != nil {
		log.Fatal(err)
	}
	training, err := gpu.AcquireN(ctx, 6)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("training holds", training.Weight(), "of", gpu.Limit())

	// A 4 GB job must wait; a 1 GB job behind it waits too.
	heavy := make(chan *semaphore.Permit)
	go func() {
		p, err := gpu.AcquireN(ctx, 4)
		if err != nil {
			log.Fatal(err)
		}
		heavy <- p
	}()
	line, err := c.Queue("/examples/semaphore/gpu-gb")
	if err != nil {
		log.Fatal(err)
	}
	for { // until the 4 GB job is in line
		entries, err := line.List(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if len(entries) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err = gpu.TryAcquireN(ctx, 1)
	fmt.Println("1 GB while a 4 GB job waits:", errors.Is(err, semaphore.ErrNoPermit))
	_, err = gpu.AcquireN(ctx, 9)
	fmt.Println("more than the budget:", errors.Is(err, semaphore.ErrInvalidWeight))

	if err := training.Release(ctx); err != nil {
		log.Fatal(err)
	}
	p := <-heavy
	fmt.Println("the 4 GB job got in:", p.Weight())
	if err := p.Release(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// training holds 6 of 8
	// 1 GB while a 4 GB job waits: true
	// more than the budget: true
	// the 4 GB job got in: 4
}
