package fairmutex_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
)

// Lock, fence a write with the hold, and see what TryLock and a second
// Unlock say.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m, err := c.Mutex("/examples/fairmutex/nightly")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	// Fence the write: it only happens while this hold is still in place.
	resp, err := c.Etcd().Txn(ctx).
		If(m.IsOwner()).
		Then(clientv3.OpPut("/examples/fairmutex/last-writer-token", fmt.Sprint(m.Token()))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fenced write applied:", resp.Succeeded)

	// Another Mutex on the same name, here on the same Client, excludes it.
	other, err := c.Mutex("/examples/fairmutex/nightly")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("TryLock while held:", errors.Is(other.TryLock(ctx), fairmutex.ErrLocked))

	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("second Unlock:", errors.Is(m.Unlock(ctx), fairmutex.ErrNotLocked))
	// Output:
	// fenced write applied: true
	// TryLock while held: true
	// second Unlock: true
}
