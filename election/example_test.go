package election_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := fairlock.Config{Endpoints: strings.Split(os.Getenv("FAIRLOCK_TEST_ENDPOINTS"), ",")}
	// Two candidates, each with its own connection and session, as two
	// processes would be.
	var clients [2]*fairlock.Client
	var candidates [2]*election.Election
	for i := range candidates {
		c, err := fairlock.Connect(ctx, cfg)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close() // revokes the session: the candidate's entry goes at once
		clients[i] = c
		if candidates[i], err = c.Election("/examples/election/scheduler"); err != nil {
			log.Fatal(err)
		}
	}
	a, b := candidates[0], candidates[1]

	if err := a.Campaign(ctx, "node-a"); err != nil {
		log.Fatal(err)
	}
	// Fence the leader's writes: they only happen while it still leads.
	resp, err := clients[0].Etcd().Txn(ctx).
		If(a.IsOwner()).
		Then(clientv3.OpPut("/examples/election/owner-token", fmt.Sprint(a.Token()))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fenced write applied:", resp.Succeeded)

	bLeads := make(chan error, 1)
	go func() { bLeads <- b.Campaign(ctx, "node-b") }()
	if err := a.Resign(ctx); err != nil { // hands the lead to b
		log.Fatal(err)
	}
	if err := <-bLeads; err != nil {
		log.Fatal(err)
	}
	leader, err := a.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", leader.Value)

	// An observer sees the current leader, then every change.
	octx, stop := context.WithCancel(ctx)
	defer stop()
	seen := a.Observe(octx)
	fmt.Println("observed:", (<-seen).Value)
	if err := b.Proclaim(ctx, "node-b, ready"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("observed:", (<-seen).Value)

	// Alone in line, a rotating leader leads again at once, with a new token.
	token := b.Token()
	if err := b.Rotate(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("leads again with a higher token:", b.Token() > token)
	if err := b.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("resign again:", b.Resign(ctx))
	// Output:
	// fenced write applied: true
	// leader: node-b
	// observed: node-b
	// observed: node-b, ready
	// leads again with a higher token: true
	// resign again: election: not the leader
}
