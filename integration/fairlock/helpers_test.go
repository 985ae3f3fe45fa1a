package fairlock_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// callTimeout bounds every blocking call of these tests: generous, for a
// loaded 2-core machine under -race.
const callTimeout = 20 * time.Second

// connect connects to member 0 of c with cfg (Endpoints filled in) and
// closes the Client when the test ends.
func connect(t *testing.T, c *integration.Cluster, cfg fairlock.Config) *fairlock.Client {
	t.Helper()
	if cfg.Endpoints == nil {
		cfg.Endpoints = []string{c.Members[0].GRPCURL}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	fc, err := fairlock.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { fc.Close() })
	return fc
}

func oneMember(t *testing.T) *integration.Cluster {
	t.Helper()
	return testcluster.Cluster(t, 1)
}

// closedPort returns a loopback address that refuses connections: a port
// that was listened on, then closed.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentPort returns a loopback address that accepts connections and never
// says a word, until the test ends.
func silentPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}
