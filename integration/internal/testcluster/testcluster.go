// Package testcluster starts in-process etcd clusters and sessions for tests.
package testcluster

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/tests/v3/framework/integration"
)

// Cluster starts an in-process cluster of size members (with bridges, so
// tests can cut connections) and terminates it when the test ends.
func Cluster(t testing.TB, size int) *integration.Cluster {
	t.Helper()
	integration.BeforeTest(t)
	c := integration.NewCluster(t, &integration.ClusterConfig{Size: size, UseBridge: true})
	t.Cleanup(func() { c.Terminate(t) })
	return c
}

// Client returns a new client of member i, closed when the test ends: a
// separate node, as far as the lock is concerned.
func Client(t testing.TB, c *integration.Cluster, i int) *clientv3.Client {
	t.Helper()
	cli, err := integration.NewClientV3(c.Members[i%len(c.Members)])
	if err != nil {
		t.Fatalf("client of member %d: %v", i, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Session returns a session with the given TTL in seconds on cli, closed when
// the test ends.
func Session(t testing.TB, cli *clientv3.Client, ttl int) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
