package fairmutex_test

import (
	"context"
	"fmt"
	"log"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/fairmutex"
)

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
	session, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	m, err := fairmutex.New(session, "/reports/nightly")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	// Fence the write: it only happens while this hold is still in place.
	resp, err := cli.Txn(ctx).
		If(m.IsOwner()).
		Then(clientv3.OpPut("/reports/last-writer-token", fmt.Sprint(m.Token()))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fenced write applied:", resp.Succeeded)

	other, _ := fairmutex.New(session, "/reports/nightly")
	fmt.Println("TryLock while held:", other.TryLock(ctx))

	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("second Unlock:", m.Unlock(ctx))
	// Output:
	// fenced write applied: true
	// TryLock while held: fairmutex: locked
	// second Unlock: fairmutex: not locked
}
