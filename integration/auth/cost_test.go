package auth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/internal/leaseguard"
)

// Under auth, etcd's client authenticates anew (a password check and a raft
// proposal on the server) for every stream it opens. The lease guard's
// keep-alive rounds, one every TTL/3 per session, go on one stream of their
// own: a session authenticates a few times in all, not once a round.
func TestGuardRoundsDoNotAuthenticate(t *testing.T) {
	c := authCluster(t, false)
	var auths atomic.Int64
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{c.Members[0].GRPCURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		Username: authsetup.Tenant, Password: authsetup.TenantPassword,
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string,
			req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if strings.HasSuffix(method, "/Authenticate") {
				auths.Add(1)
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	s := testcluster.Session(t, cli, 1) // a round every third of a second
	m, err := fairmutex.New(s, prefix+"/cost")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	const rounds = 6
	g := leaseguard.For(s)
	testcluster.Eventually(t, callTimeout, "the guard's rounds", func() bool {
		_, answered := g.Rounds()
		return answered >= rounds
	})
	if n := auths.Load(); n >= rounds {
		t.Errorf("%d authentications for %d keep-alive rounds: one a round", n, rounds)
	}
	if err := m.Unlock(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
}
