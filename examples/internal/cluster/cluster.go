// Package cluster gives the example programs their etcd: the cluster the
// user named with -endpoints or $FAIRLOCK_ENDPOINTS or, when none is named, a
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

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/etcdtest"
)

// EnvEndpoints names the environment variable read when -endpoints is not
// given.
const EnvEndpoints = "FAIRLOCK_ENDPOINTS"

// EndpointsUsage is the help text of the -endpoints flag.
const EndpointsUsage = "comma-separated etcd client URLs (default $" + EnvEndpoints +
	`; when both are empty, an embedded single-member etcd is started and removed on exit)`

// DefaultEndpoints returns $FAIRLOCK_ENDPOINTS, the -endpoints flag's default.
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
// Close any client first.
func (c *Cluster) Close() error {
	if c.embedded == nil {
		return nil
	}
	return c.embedded.Close()
}

// Connect connects a new client with its own session, as a separate
// machine would have, via fairlock.Connect with cfg and the cluster's
// endpoints. A session's lease lives ttl seconds after its node stops
// refreshing it. It fails, naming the endpoints, if the cluster cannot be
// reached within a few seconds or ctx ends first.
func (c *Cluster) Connect(ctx context.Context, ttl int, cfg fairlock.Config) (*fairlock.Client, error) {
	cfg.Endpoints = c.endpoints
	cfg.TTL = time.Duration(ttl) * time.Second
	return fairlock.Connect(ctx, cfg)
}
