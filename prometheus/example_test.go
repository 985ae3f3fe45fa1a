package fairlockprom_test

import (
	"context"
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

// Measure the locks of a program: one Collector, registered once, whose
// hooks go to every lock.
func Example() {
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"localhost:2379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	session, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	metrics := fairlockprom.New(fairlockprom.WithNameGrouping(fairlockprom.GroupByPrefix(2)))
	prometheus.MustRegister(metrics)

	q, err := queue.New(session, "/jobs/nightly/2024-05-01", queue.WithHooks(metrics.Hooks()))
	if err != nil {
		log.Fatal(err)
	}
	t, err := q.Acquire(ctx, "worker-1")
	if err != nil {
		log.Fatal(err)
	}
	// ... the job ...
	if err := t.Leave(ctx); err != nil {
		log.Fatal(err)
	}
	// fairlock_wait_seconds{lock="/jobs/nightly",kind="exclusive"} and the
	// rest now count this hold.
}

// Serve the metrics of a command-line program that has no HTTP server of
// its own, until its context ends.
func ExampleServe() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	metrics := fairlockprom.New()
	go func() {
		if err := fairlockprom.Serve(ctx, ":9090", metrics); err != nil {
			log.Printf("metrics: %v", err)
		}
	}()
	// ... give metrics.Hooks() to the locks, run ...
}

func ExampleGroupByPrefix() {
	group := fairlockprom.GroupByPrefix(2)
	fmt.Println(group("/jobs/nightly/2024-05-01"))
	fmt.Println(group("/jobs/nightly"))
	fmt.Println(group("/jobs"))
	// Output:
	// /jobs/nightly
	// /jobs/nightly
	// /jobs
}

func ExampleGroupKnown() {
	group := fairlockprom.GroupKnown("/jobs/nightly", "/config/writer")
	fmt.Println(group("/jobs/nightly"))
	fmt.Println(group("/orders/4711"))
	// Output:
	// /jobs/nightly
	// other
}
