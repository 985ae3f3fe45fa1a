package fairmutex_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fairlock/fairlock"
)

// A long job holds the lock and stops early, cleanly, when someone asks it
// to yield; the asker's side could be another machine, or `fairlock yield`.
func Example_yield() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m, err := c.Mutex("/examples/fairmutex/backup")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	token := m.Token()
	stopped := make(chan string)
	go func() { // the job: works until asked to yield, then stops and unlocks
		<-m.YieldRequested() // in a real job: a select beside its work and m.Done()
		reason := m.YieldReason()
		if err := m.Unlock(ctx); err != nil {
			log.Fatal(err)
		}
		stopped <- reason
	}()

	line, err := c.Queue("/examples/fairmutex/backup")
	if err != nil {
		log.Fatal(err)
	}
	asked, err := line.AskToYield(ctx, "deploy 1.4")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("asked:", len(asked), "holder, token matches:", asked[0].Rev == token)
	fmt.Println("job stopped:", <-stopped)

	if err := m.TryLock(ctx); err != nil { // free again
		log.Fatal(err)
	}
	fmt.Println("the next hold is not asked:", m.YieldReason() == "")
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// asked: 1 holder, token matches: true
	// job stopped: deploy 1.4
	// the next hold is not asked: true
}
