package rwmutex_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/rwmutex"
)

// Readers share the lock, a writer waits for them and then holds it alone,
// and writes fenced with IsOwner stop applying once the write hold ends.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In real use each process has its own Client.
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	readers, err := c.RWMutex("/examples/rwmutex/config")
	if err != nil {
		log.Fatal(err)
	}
	writer, err := c.RWMutex("/examples/rwmutex/config")
	if err != nil {
		log.Fatal(err)
	}

	// Two read holds at once, each its own place in the line.
	if err := readers.RLock(ctx); err != nil {
		log.Fatal(err)
	}
	if err := readers.RLock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("two readers hold the lock")

	// TryLock fails, writing nothing, while anyone holds the lock.
	err = writer.TryLock(ctx)
	fmt.Println("writer must wait:", errors.Is(err, rwmutex.ErrLocked))

	granted := make(chan error, 1)
	go func() { granted <- writer.Lock(ctx) }()
	for range 2 {
		if err := readers.RUnlock(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if err := <-granted; err != nil {
		log.Fatal(err)
	}
	fmt.Println("writer holds the lock")

	fencedPut := func(value string) bool {
		resp, err := c.Etcd().Txn(ctx).
			If(writer.IsOwner()).
			Then(clientv3.OpPut("/examples/rwmutex/config-data", value)).
			Commit()
		if err != nil {
			log.Fatal(err)
		}
		return resp.Succeeded
	}
	fmt.Println("fenced write applied:", fencedPut("v2"))
	if err := writer.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Unlock, fenced write applied:", fencedPut("v3"))
	// Output:
	// two readers hold the lock
	// writer must wait: true
	// writer holds the lock
	// fenced write applied: true
	// after Unlock, fenced write applied: false
}
