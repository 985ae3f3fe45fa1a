package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Options tune the embedded member. The zero value is a quiet member with
// fsync on, as in production.
type Options struct {
	// NoFsync turns fsync off: faster, and unsafe for real data.
	NoFsync bool
	// LogLevel is etcd's log level; "" means "fatal": at "error", every
	// Close logs its listeners shutting down as failures.
	LogLevel string
	// StartTimeout bounds the start; 0 means 30 s.
	StartTimeout time.Duration
	// ClientAddr is the host:port clients reach the member at, such as
	// "127.0.0.1:2379" (etcd's and the fairlock command's default); ""
	// means a free loopback port. The peer port is always a free one.
	ClientAddr string
	// BcryptCost is the cost of bcrypt for the passwords of etcd's users;
	// 0 means etcd's default (10). Every authentication runs bcrypt (etcd's
	// client authenticates anew for each stream it opens), so tests that
	// turn auth on take bcrypt.MinCost (4): under the race detector a cost
	// of 10 takes seconds.
	BcryptCost uint
}

// Etcd is a running embedded member.
type Etcd struct {
	e   *embed.Etcd
	dir string
	url string

	closeOnce sync.Once
	closeErr  error
}

// Start starts a member on free loopback ports with its data in a new
// temporary directory, and returns once it serves clients. If ctx ends or
// opts.StartTimeout passes first, Start stops it, removes the directory and
// returns the error: nothing is left running.
func Start(ctx context.Context, opts Options) (*Etcd, error) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.UnsafeNoFsync = opts.NoFsync
	if opts.BcryptCost != 0 {
		cfg.BcryptCost = opts.BcryptCost
	}
	cfg.LogLevel = opts.LogLevel
	if cfg.LogLevel == "" {
		cfg.LogLevel = "fatal"
	}
	peer, err := freeURL()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	client := url.URL{Scheme: "http", Host: opts.ClientAddr}
	if opts.ClientAddr == "" {
		client, err = freeURL()
	} else if _, _, err = net.SplitHostPort(opts.ClientAddr); err != nil {
		err = fmt.Errorf("etcdtest: client address %q: %w", opts.ClientAddr, err)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: start: %w", err)
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return &Etcd{e: e, dir: dir, url: client.String()}, nil
	case err := <-e.Err():
		e.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: %w", err)
	case <-timer.C:
		e.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: not ready after %v", timeout)
	case <-ctx.Done():
		e.Close()
		os.RemoveAll(dir)
		return nil, ctx.Err()
	}
}

// Endpoints returns the member's client URLs, for fairlock.Config or
// clientv3.Config.
func (e *Etcd) Endpoints() []string { return []string{e.url} }

// Server returns the underlying embedded server (for its metrics, say).
func (e *Etcd) Server() *embed.Etcd { return e.e }

// Close stops the member and removes its data directory. Clients still
// connected get errors from then on. Close is idempotent.
func (e *Etcd) Close() error {
	e.closeOnce.Do(func() {
		e.e.Close()
		e.closeErr = os.RemoveAll(e.dir)
	})
	return e.closeErr
}

// freeURL returns a loopback URL on a port that was free a moment ago.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, fmt.Errorf("etcdtest: free port: %w", err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}
