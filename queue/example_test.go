package queue_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/queue"
)

// Jobs joined to one line run one at a time, in the order they joined, on
// whichever nodes they were submitted.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	line, err := c.Queue("/examples/queue/jobs")
	if err != nil {
		log.Fatal(err)
	}
	var tickets []*queue.Ticket
	for _, job := range []string{"build", "test", "deploy"} {
		t, err := line.Join(ctx, job)
		if err != nil {
			log.Fatal(err)
		}
		pos, err := t.Position(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s joined at position %d\n", job, pos)
		tickets = append(tickets, t)
	}
	for _, t := range tickets {
		if err := t.Wait(ctx); err != nil { // returns once the jobs ahead have left
			log.Fatal(err)
		}
		fmt.Println("running", t.Value())
		if err := t.Leave(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// build joined at position 0
	// test joined at position 1
	// deploy joined at position 2
	// running build
	// running test
	// running deploy
}
