package election_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
)

// A dashboard that must also show when nobody leads.
func ExampleElection_ObserveWith() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := fairlock.Config{Endpoints: strings.Split(os.Getenv("FAIRLOCK_TEST_ENDPOINTS"), ",")}
	c, err := fairlock.Connect(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	e, err := c.Election("/examples/election/dashboard")
	if err != nil {
		log.Fatal(err)
	}
	octx, stop := context.WithCancel(ctx)
	defer stop()
	seen := e.ObserveWith(octx, election.ObserveOptions{Empty: true})
	show := func() {
		l := <-seen
		if l.Gap { // etcd compacted what the observer needed
			fmt.Println("(terms may be missing)")
		}
		if l.Vacant() {
			fmt.Println("nobody leads")
		} else {
			fmt.Println("leader:", l.Value)
		}
	}
	show()
	if err := e.Campaign(ctx, "node-a"); err != nil {
		log.Fatal(err)
	}
	show()
	if err := e.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	show()
	// Output:
	// nobody leads
	// leader: node-a
	// nobody leads
}
