// Package etcdtest starts a single-member etcd inside the process, for the
// examples and benchmarks: nothing to install, data in a temporary directory
// that Close removes.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
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
}

// Etcd is a running embedded member.
type Etcd struct {
	e   *embed.Etcd
	dir string
	url string
}

// Start starts a member on free loopback ports with its data in a new
// temporary directory. If ctx ends before the member is ready, Start stops
// it, removes the directory and returns ctx.Err().
func Start(ctx context.Context, opts Options) (*Etcd, error) {
	dir, err := os.MkdirTemp("", "fairlock-etcd-")
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.UnsafeNoFsync = opts.NoFsync
	cfg.LogLevel = opts.LogLevel
	if cfg.LogLevel == "" {
		cfg.LogLevel = "fatal"
	}
	peer, err := freeURL()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	client, err := freeURL()
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
		return nil, fmt.Errorf("embedetcd: start: %w", err)
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
		return nil, fmt.Errorf("embedetcd: %w", err)
	case <-timer.C:
		e.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedetcd: not ready after %v", timeout)
	case <-ctx.Done():
		e.Close()
		os.RemoveAll(dir)
		return nil, ctx.Err()
	}
}

// Endpoints returns the client URLs to give clientv3.Config.
func (e *Etcd) Endpoints() []string { return []string{e.url} }

// Server returns the underlying embedded server (for its metrics, say).
func (e *Etcd) Server() *embed.Etcd { return e.e }

// Close stops the member and removes its data directory.
func (e *Etcd) Close() error {
	e.e.Close()
	return os.RemoveAll(e.dir)
}

func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}
