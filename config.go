package fairlock

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fairlock/fairlock/queue"
)

// Defaults of the Config fields whose zero value means "the default".
const (
	DefaultTTL         = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
)

// Config says how to reach etcd and how the Client's locks behave. Only
// Endpoints is required.
type Config struct {
	// Endpoints are etcd client URLs ("http://10.0.0.1:2379") or
	// host:port pairs. Required.
	Endpoints []string

	// TTL is the session lease's time to live: how long the locks of a
	// process that died (or lost etcd) stay held before etcd frees them.
	// A whole number of seconds, at least 1s; 0 means DefaultTTL.
	TTL time.Duration

	// DialTimeout bounds Connect's first round trip to etcd; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration

	// TLS, when non-nil, secures the connection (give https:// endpoints).
	TLS *tls.Config

	// Username and Password authenticate with etcd's auth, when set.
	Username, Password string

	// Identity is the value stored in every entry the Client's locks make,
	// so that Queue.List (and etcdctl) show who holds and who waits. ""
	// means queue.DefaultIdentity(), "<hostname>/<pid>".
	Identity string

	// Hooks, when non-nil, are told of every join, grant, release and loss
	// on the Client's locks (see queue.Hooks).
	Hooks *queue.Hooks

	// Logger, when non-nil, receives the locks' reports of losses and
	// retried cleanups. etcd's own client logs nothing either way.
	Logger *slog.Logger

	// Options are further options for every lock the Client makes, applied
	// after those above.
	Options []queue.Option
}

// validate checks cfg and returns it with its defaults filled in.
func (cfg Config) validate() (Config, error) {
	if len(cfg.Endpoints) == 0 {
		return cfg, ErrNoEndpoints
	}
	for _, ep := range cfg.Endpoints {
		if strings.TrimSpace(ep) == "" {
			return cfg, fmt.Errorf("%w: blank endpoint in %q", ErrNoEndpoints, cfg.Endpoints)
		}
	}
	switch {
	case cfg.TTL == 0:
		cfg.TTL = DefaultTTL
	case cfg.TTL < time.Second || cfg.TTL%time.Second != 0:
		return cfg, fmt.Errorf("%w: got %v", ErrInvalidTTL, cfg.TTL)
	}
	switch {
	case cfg.DialTimeout == 0:
		cfg.DialTimeout = DefaultDialTimeout
	case cfg.DialTimeout < 0:
		return cfg, fmt.Errorf("%w: got %v", ErrInvalidDialTimeout, cfg.DialTimeout)
	}
	if cfg.Identity == "" {
		cfg.Identity = queue.DefaultIdentity()
	}
	return cfg, nil
}

// options returns the queue options that every lock of the Client gets.
func (cfg Config) options() []queue.Option {
	opts := []queue.Option{queue.WithIdentity(cfg.Identity)}
	if cfg.Hooks != nil {
		opts = append(opts, queue.WithHooks(cfg.Hooks))
	}
	if cfg.Logger != nil {
		opts = append(opts, queue.WithLogger(cfg.Logger))
	}
	return append(opts, cfg.Options...)
}
