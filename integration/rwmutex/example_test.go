package rwmutex_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/rwmutex"
)

// Readers share the lock, a writer waits for them and then holds it alone,
// and writes fenced with IsOwner stop applying once the write hold ends.
func Example() {
	ctx := context.Background()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	// In real use each process has its own client and session.
	s, err := concurrency.NewSession(cli)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	readers, err := rwmutex.New(s, "/config")
	if err != nil {
		log.Fatal(err)
	}
	writer, err := rwmutex.New(s, "/config")
	if err != nil {
		log.Fatal(err)
	}

	// Two read holds at once, each its own place in the line.
	if err := readers.RLock(ctx); err != nil {
		log.Fatal(err)
	}
	if err := readers.RLock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("two readers hold the lock")

	// TryLock fails, writing nothing, while anyone holds the lock.
	err = writer.TryLock(ctx)
	fmt.Println("writer must wait:", errors.Is(err, rwmutex.ErrLocked))

	granted := make(chan error, 1)
	go func() { granted <- writer.Lock(ctx) }()
	for range 2 {
		if err := readers.RUnlock(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if err := <-granted; err != nil {
		log.Fatal(err)
	}
	fmt.Println("writer holds the lock")

	fencedPut := func(value string) bool {
		resp, err := cli.Txn(ctx).If(writer.IsOwner()).Then(clientv3.OpPut("/config-data", value)).Commit()
		if err != nil {
			log.Fatal(err)
		}
		return resp.Succeeded
	}
	fmt.Println("fenced write applied:", fencedPut("v2"))
	if err := writer.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Unlock, fenced write applied:", fencedPut("v3"))

	// Output:
	// two readers hold the lock
	// writer must wait: true
	// writer holds the lock
	// fenced write applied: true
	// after Unlock, fenced write applied: false
}
