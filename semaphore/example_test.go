package semaphore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/semaphore"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(os.Getenv("FAIRLOCK_TEST_ENDPOINTS"), ","),
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	session, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	// At most two report jobs touch the database at once.
	sm, err := semaphore.New(session, "/examples/semaphore/db", 2)
	if err != nil {
		log.Fatal(err)
	}
	first, err := sm.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	second, err := sm.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Fence the write: it only happens while the permit is still held.
	resp, err := cli.Txn(ctx).
		If(first.IsOwner()).
		Then(clientv3.OpPut("/examples/semaphore/last-token", fmt.Sprint(first.Token()))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fenced write applied:", resp.Succeeded)

	_, err = sm.TryAcquire(ctx)
	fmt.Println("TryAcquire with both permits held:", err)

	// A waiter gets the first permit given back, whichever it is.
	granted := make(chan *semaphore.Permit)
	go func() {
		p, err := sm.Acquire(ctx)
		if err != nil {
			log.Fatal(err)
		}
		granted <- p
	}()
	if err := second.Release(ctx); err != nil {
		log.Fatal(err)
	}
	third := <-granted
	fmt.Println("waiter granted, token above the others:", third.Token() > second.Token())

	for _, p := range []*semaphore.Permit{first, third} {
		if err := p.Release(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("second Release:", first.Release(ctx))
	if _, err := cli.Delete(ctx, "/examples/semaphore/last-token"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// fenced write applied: true
	// TryAcquire with both permits held: semaphore: no permit free
	// waiter granted, token above the others: true
	// second Release: semaphore: permit already released
}
