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

// A leader's loop in one call: Lead campaigns, runs the work for a term,
// hands the lead on every period (here nobody else is in line, so it
// leads again at once, under a higher token), and resigns on shutdown.
func ExampleElection_Lead() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: strings.Split(os.Getenv("FAIRLOCK_TEST_ENDPOINTS"), ",")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	e, err := c.Election("/examples/election/compactor")
	if err != nil {
		log.Fatal(err)
	}

	shutdown, stop := context.WithCancel(ctx) // in a service: signal.NotifyContext
	defer stop()
	terms, last := 0, int64(0)
	err = e.Lead(shutdown, "node-a", func(ctx context.Context) error {
		terms++
		fmt.Printf("term %d, token higher than the last: %v\n", terms, e.Token() > last)
		last = e.Token()
		if terms == 3 {
			stop() // the service shuts down during its third term
		}
		<-ctx.Done() // the work; ends with the term
		return ctx.Err()
	}, election.RotateEvery(100*time.Millisecond))
	fmt.Println("Lead returned:", err, "leading:", e.Token() != 0)
	// Output:
	// term 1, token higher than the last: true
	// term 2, token higher than the last: true
	// term 3, token higher than the last: true
	// Lead returned: <nil> leading: false
}
