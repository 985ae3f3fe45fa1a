package queue_test

import (
	"context"
	"fmt"
	"log"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/queue"
)

// Jobs joined to one line run one at a time, in the order they joined, on
// whichever nodes they were submitted.
func Example() {
	ctx := context.Background()
	etcd, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer etcd.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	session, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	line, err := queue.New(session, "/jobs")
	if err != nil {
		log.Fatal(err)
	}
	var tickets []*queue.Ticket
	for _, job := range []string{"build", "test", "deploy"} {
		t, err := line.Join(ctx, job)
		if err != nil {
			log.Fatal(err)
		}
		pos, _ := t.Position(ctx)
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
