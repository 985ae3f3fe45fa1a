package rwmutex_test

import (
	"context"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
)

// Readers and a writer of a setting kept in etcd, each under the lock for
// exactly as long as its function runs.
func ExampleRWMutex_RDo() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rw, err := c.RWMutex("/examples/rwmutex/setting")
	if err != nil {
		log.Fatal(err)
	}

	// The writer: its put applies only while its write hold lasts.
	err = rw.Do(ctx, func(ctx context.Context) error {
		_, err := c.Etcd().Txn(ctx).If(rw.IsOwner()).Then(clientv3.OpPut("/examples/rwmutex/setting-value", "v2")).Commit()
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	// A reader: readers share the lock; none runs while a writer does.
	err = rw.RDo(ctx, func(ctx context.Context) error {
		resp, err := c.Etcd().Get(ctx, "/examples/rwmutex/setting-value")
		if err != nil {
			return err
		}
		fmt.Printf("read %s under a read hold\n", resp.Kvs[0].Value)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("held after RDo:", rw.RToken() != 0)
	// Output:
	// read v2 under a read hold
	// held after RDo: false
}
