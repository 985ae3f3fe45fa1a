package fairlockotel_test

import (
	"context"
	"log"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	fairlockotel "github.com/fairlock/fairlock/otel"
	"github.com/fairlock/fairlock/queue"
)

// Report a lock's waits and holds through the global OpenTelemetry
// providers (set them up with the SDK first).
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

	telemetry, err := fairlockotel.New()
	if err != nil {
		log.Fatal(err)
	}
	m, err := fairmutex.New(session, "/jobs/nightly", queue.WithHooks(telemetry.Hooks()))
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	// ... the job ...
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
}
