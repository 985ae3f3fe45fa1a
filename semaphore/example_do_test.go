package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/semaphore"
)

// A heavy job takes two of three permits for as long as it runs; the
// permits are back once Do returns.
func ExampleSemaphore_Do() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sm, err := c.Semaphore("/examples/semaphore/builds", 3)
	if err != nil {
		log.Fatal(err)
	}

	err = sm.Do(ctx, 2, func(ctx context.Context) error {
		_, err := sm.TryAcquireN(ctx, 2) // two more do not fit beside it
		fmt.Println("two more permits while it runs:", !errors.Is(err, semaphore.ErrNoPermit))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	all, err := sm.TryAcquireN(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("all three free after Do:", all.Weight() == 3)
	if err := all.Release(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// two more permits while it runs: false
	// all three free after Do: true
}
