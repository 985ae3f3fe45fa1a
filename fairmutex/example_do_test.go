package fairmutex_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
)

// Run a job under the lock: Do locks, runs the function with a context
// that ends if the hold does, and unlocks whatever happens, also when ctx
// has ended or the function fails.
func ExampleMutex_Do() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m, err := c.Mutex("/examples/fairmutex/report")
	if err != nil {
		log.Fatal(err)
	}
	err = m.Do(ctx, func(ctx context.Context) error {
		// The job: its writes to etcd fenced by the hold.
		resp, err := c.Etcd().Txn(ctx).
			If(m.IsOwner()).
			Then(clientv3.OpPut("/examples/fairmutex/report-token", fmt.Sprint(m.Token()))).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fairlock.ErrLost // the hold ended first: nothing was written
		}
		fmt.Println("report written under the lock")
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("held after Do:", m.Token() != 0)

	// fn's error comes back as it is; the lock is released all the same.
	errJob := errors.New("the job failed")
	err = m.Do(ctx, func(context.Context) error { return errJob })
	fmt.Println("Do returned the job's error:", errors.Is(err, errJob), "held:", m.Token() != 0)
	// Output:
	// report written under the lock
	// held after Do: false
	// Do returned the job's error: true held: false
}
