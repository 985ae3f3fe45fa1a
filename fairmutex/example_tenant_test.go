package fairmutex_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// A deploy lock shared by two teams: team-a has queued two deploys, then
// team-b one. In plain FIFO order team-b would go last; as tenants of
// share 1 each, the teams take turns.
func Example_tenants() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const name = "/examples/fairmutex/deploy"
	// deployer is one machine of a team: a Client of its own, and the
	// team's Mutex on the deploy lock.
	deployer := func(team string) *fairmutex.Mutex {
		c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
		if err != nil {
			log.Fatal(err)
		}
		context.AfterFunc(ctx, func() { c.Close() })
		m, err := fairmutex.New(c.Session(), name, c.Options(queue.WithTenant(team, 1))...)
		if err != nil {
			log.Fatal(err)
		}
		return m
	}
	a1, a2, b1 := deployer("team-a"), deployer("team-a"), deployer("team-b")
	if err := a1.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	order, done := make(chan string, 2), make(chan struct{}, 2)
	deploy := func(m *fairmutex.Mutex, what string) {
		if err := m.Lock(ctx); err != nil {
			log.Fatal(err)
		}
		order <- what
		if err := m.Unlock(ctx); err != nil {
			log.Fatal(err)
		}
		done <- struct{}{}
	}
	go deploy(a2, "team-a's second deploy")
	waitForLine(ctx, a1.Name(), 3) // a1 (admitted, holding: 2 entries), a2 waiting for admission
	go deploy(b1, "team-b's deploy")
	waitForLine(ctx, a1.Name(), 5) // b1 admitted, in the lock's line
	if err := a1.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-order)
	fmt.Println(<-order)
	<-done
	<-done
	// Output:
	// team-b's deploy
	// team-a's second deploy
}

// waitForLine waits until the line of the lock name holds n entries,
// admission entries included (the example's way to know who has arrived).
func waitForLine(ctx context.Context, name string, n int) {
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	q, err := c.Queue(name)
	if err != nil {
		log.Fatal(err)
	}
	for {
		line, err := q.List(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if len(line) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
