// Package cluster gives the example programs their etcd: the cluster the
// user named with -endpoints or $ETCD_ENDPOINTS or, when none is named, a
// single-member etcd embedded in the process for the length of the run, so
// that the examples run on a machine with nothing installed.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/etcdtest"
)

// EnvEndpoints names the environment variable read when -endpoints is not
// given.
const EnvEndpoints = "ETCD_ENDPOINTS"

// EndpointsUsage is the help text of the -endpoints flag.
const EndpointsUsage = "comma-separated etcd client URLs (default $" + EnvEndpoints +
	`; when both are empty, an embedded single-member etcd is started and removed on exit)`

// connectTimeout bounds the first round trip to a cluster, so that a wrong
// endpoint fails the run instead of hanging it.
const connectTimeout = 5 * time.Second

// DefaultEndpoints returns $ETCD_ENDPOINTS, the -endpoints flag's default.
func DefaultEndpoints() string { return os.Getenv(EnvEndpoints) }

// Cluster is the etcd an example runs against.
type Cluster struct {
	endpoints []string
	embedded  *etcdtest.Etcd
}

// Open returns the cluster at endpoints, a comma-separated list of client
// URLs, or, when endpoints is blank, starts an embedded single-member etcd
// with opts in a temporary directory. It says which on out. If ctx ends
// while the embedded member starts, Open removes it and returns ctx.Err().
func Open(ctx context.Context, endpoints string, opts etcdtest.Options, out io.Writer) (*Cluster, error) {
	var eps []string
	for _, ep := range strings.Split(endpoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	if len(eps) > 0 {
		fmt.Fprintf(out, "etcd: %s\n", strings.Join(eps, ","))
		return &Cluster{endpoints: eps}, nil
	}
	e, err := etcdtest.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "etcd: embedded single member at %s (removed on exit; -endpoints to use your own)\n",
		strings.Join(e.Endpoints(), ","))
	return &Cluster{endpoints: e.Endpoints(), embedded: e}, nil
}

// Endpoints returns the client URLs of the cluster.
func (c *Cluster) Endpoints() []string { return c.endpoints }

// Close stops the embedded member, if Open started one, and removes its data.
// Close any Node first.
func (c *Cluster) Close() error {
	if c.embedded == nil {
		return nil
	}
	return c.embedded.Close()
}

// Node is one participant with its own client connection and session
// lease, as a separate machine would have.
type Node struct {
	Client  *clientv3.Client
	Session *concurrency.Session
}

// NewNode connects a new client and opens a session whose lease lives ttl
// seconds after the node stops refreshing it. It fails if the cluster
// cannot be reached within a few seconds or ctx ends first.
func (c *Cluster) NewNode(ctx context.Context, ttl int) (*Node, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.endpoints,
		DialTimeout: connectTimeout,
		// The client logs a warning for every failed call, a cancelled
		// one included; the examples report errors themselves.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, err
	}
	// Grant here, bounded, rather than in NewSession: its grant would wait
	// forever on an unreachable endpoint.
	gctx, cancel := context.WithTimeout(ctx, connectTimeout)
	lease, err := cli.Grant(gctx, int64(ttl))
	cancel()
	if err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach etcd at %s: %w", strings.Join(c.endpoints, ","), err)
	}
	s, err := concurrency.NewSession(cli, concurrency.WithLease(lease.ID), concurrency.WithTTL(ttl))
	if err != nil {
		cli.Close()
		return nil, err
	}
	return &Node{Client: cli, Session: s}, nil
}

// Close ends the node's session, revoking its lease so that its entries
// vanish at once, and closes its client.
func (n *Node) Close() {
	n.Session.Close()
	n.Client.Close()
}
