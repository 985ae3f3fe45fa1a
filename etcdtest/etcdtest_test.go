package etcdtest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/etcdtest"
)

func TestStartPutGetClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("get = %v, %v", resp, err)
	}
	cli.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewStopsAtCleanup(t *testing.T) {
	var endpoints []string
	t.Run("inner", func(t *testing.T) {
		endpoints = etcdtest.New(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		if _, err := cli.Put(ctx, "/k", "v"); err != nil {
			t.Fatal(err)
		}
	})
	// The member is gone with the subtest: its port refuses connections.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(endpoints[0], "http://"), time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("member at %s still listening after its test ended", endpoints[0])
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if !errors.Is(err, context.Canceled) {
		if e != nil {
			e.Close()
		}
		t.Fatalf("Start with a cancelled ctx = %v, want context.Canceled", err)
	}
}
