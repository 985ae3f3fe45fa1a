package leaseguard_test

import (
	"context"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

// Bound a piece of work by the session's lease: stop a second before etcd
// could expire it. (Compiled, not run: it needs an etcd at localhost:2379.)
func Example() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"localhost:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	g := leaseguard.For(s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Ready(ctx); err != nil { // the guard's first keep-alive is answered
		log.Fatal(err)
	}
	lost := g.Lost(time.Second)
	for step := 0; step < 100; step++ {
		select {
		case <-lost:
			fmt.Println("the lease may be gone within a second: stop")
			return
		default:
		}
		// ... one step of work, fenced with the hold's token ...
	}
	fmt.Println("safe until", g.Until())
}
