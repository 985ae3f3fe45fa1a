package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// callTimeout bounds every blocking call: generous, for a loaded 2-core
// machine under -race; a broken protocol still fails long before go
// test's own timeout.
const callTimeout = 30 * time.Second

// prefix is the tenant's: its role grants read and write on prefix/.
const prefix = "/tenant-a"

// authCluster starts a one-member cluster, makes the users of package
// authsetup on prefix and turns auth on. With jwt, the cluster issues JWT
// tokens, which carry the auth store's revision, so that any change to the
// auth store makes every stream's token stale.
func authCluster(t *testing.T, jwt bool) *integration.Cluster {
	t.Helper()
	integration.BeforeTest(t)
	cfg := &integration.ClusterConfig{Size: 1}
	if jwt {
		cfg.AuthToken = jwtToken(t)
	}
	c := integration.NewCluster(t, cfg)
	t.Cleanup(func() { c.Terminate(t) })
	admin := testcluster.Client(t, c, 0)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := authsetup.Enable(ctx, admin, prefix); err != nil {
		t.Fatal(err)
	}
	return c
}

// jwtToken writes an ECDSA key pair for etcd's JWT tokens and returns the
// --auth-token value that uses it. The tokens live ten minutes: longer than
// any test, so that only auth-store changes make them stale.
func jwtToken(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	for path, block := range map[string]*pem.Block{
		privPath: {Type: "EC PRIVATE KEY", Bytes: priv},
		pubPath:  {Type: "PUBLIC KEY", Bytes: pub},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("jwt,pub-key=%s,priv-key=%s,sign-method=ES256,ttl=10m", pubPath, privPath)
}

// connect connects a fairlock Client of its own as user (a separate
// process, as far as the lock can tell), closed when the test ends.
func connect(t *testing.T, c *integration.Cluster, user, password string, cfg fairlock.Config) *fairlock.Client {
	t.Helper()
	cfg.Endpoints = []string{c.Members[0].GRPCURL}
	cfg.Username, cfg.Password = user, password
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	fc, err := fairlock.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect as %s: %v", user, err)
	}
	t.Cleanup(func() { fc.Close() })
	return fc
}

func tenant(t *testing.T, c *integration.Cluster) *fairlock.Client {
	t.Helper()
	return connect(t, c, authsetup.Tenant, authsetup.TenantPassword, fairlock.Config{})
}

// rootClient returns an etcd client logged in as root, closed when the
// test ends: it inspects and changes what the tenant may not.
func rootClient(t *testing.T, c *integration.Cluster) *clientv3.Client {
	t.Helper()
	return userClient(t, c, authsetup.Root, authsetup.RootPassword, nil)
}

// kvCalls counts the KV calls (Range, Put, DeleteRange, Txn) a client
// sends: its round trips for the data, apart from leases and watches.
type kvCalls struct{ n atomic.Int64 }

func (k *kvCalls) count(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if strings.HasPrefix(method, "/etcdserverpb.KV/") {
		k.n.Add(1)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// userClient returns an etcd client logged in as user, closed when the
// test ends; with calls, it counts its KV calls there.
func userClient(t *testing.T, c *integration.Cluster, user, password string, calls *kvCalls) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{
		Endpoints: []string{c.Members[0].GRPCURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		Username: user, Password: password,
	}
	if calls != nil {
		cfg.DialOptions = []grpc.DialOption{grpc.WithChainUnaryInterceptor(calls.count)}
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("client as %s: %v", user, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// keys returns every key under prefix/, read as root.
func keys(t *testing.T, root *clientv3.Client) []string {
	t.Helper()
	from, _ := authsetup.Range(prefix)
	return testcluster.Keys(t, root, from)
}

// fencedPut writes key=value through a transaction fenced with cmp, as the
// README says to, and returns whether it applied; an error fails the test.
func fencedPut(t *testing.T, cli *clientv3.Client, cmp clientv3.Cmp, key, value string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, value)).Commit()
	if err != nil {
		t.Fatalf("fenced put of %s: %v (want Succeeded true or false, no error)", key, err)
	}
	return resp.Succeeded
}

// ctxFor returns a context bounded by callTimeout, cancelled when the
// test ends.
func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// closes fails the test unless ch closes within callTimeout.
func closes(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(callTimeout):
		t.Fatalf("%s did not close within %v", what, callTimeout)
	}
}

// isClosed reports whether ch is closed, now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// The primitives, of c, on name; a failure to make one fails the test.

func mutex(t *testing.T, c *fairlock.Client, name string) *fairmutex.Mutex {
	t.Helper()
	m, err := c.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rw(t *testing.T, c *fairlock.Client, name string) *rwmutex.RWMutex {
	t.Helper()
	m, err := c.RWMutex(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sem(t *testing.T, c *fairlock.Client, name string, limit int) *semaphore.Semaphore {
	t.Helper()
	s, err := c.Semaphore(name, limit)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func elect(t *testing.T, c *fairlock.Client, name string) *election.Election {
	t.Helper()
	e, err := c.Election(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// lockAsync locks m in a goroutine of its own; the channel gets Lock's
// result.
func lockAsync(ctx context.Context, m *fairmutex.Mutex) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- m.Lock(ctx) }()
	return ch
}
