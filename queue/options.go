package queue

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/fairlock/fairlock/internal/keys"
)

// Option configures a Queue and the primitives built on it (fairmutex,
// rwmutex, semaphore, election take the same options).
type Option func(*config)

type config struct {
	identity string
	hooks    *Hooks
	logger   *slog.Logger
	margin   time.Duration
	// etcdInterop: etcd's own Mutex holders on the name block exclusive
	// and shared entries too.
	etcdInterop bool
	// withTenant, tenant and share: see WithTenant.
	withTenant bool
	tenant     string
	share      int
}

// WithIdentity sets the value that the primitives built on a Queue (a
// Mutex, an RWMutex, a Semaphore, ...) store in every entry they make, so
// that List and `fairlock ls` tell who holds and who waits. The default is
// DefaultIdentity(). Join and JoinShared store the value they are given.
func WithIdentity(value string) Option { return func(c *config) { c.identity = value } }

// WithHooks has h told of every join, grant, release, loss and cleanup
// retry on the Queue. A nil h (the default) costs nothing.
func WithHooks(h *Hooks) Option { return func(c *config) { c.hooks = h } }

// WithLogger has the Queue log losses, cleanups that had to retry and
// retried transient errors to l, with the lock name and token as
// attributes. A nil l (the default) logs nothing.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithSafetyMargin sets how long before the earliest moment etcd may expire
// the session's lease a hold's Done closes (see HeldUntil). The default,
// DefaultSafetyMargin, covers clock-rate drift between this machine and
// etcd's leader over one TTL; raise it on machines whose clocks are poor.
func WithSafetyMargin(d time.Duration) Option { return func(c *config) { c.margin = d } }

// WithEtcdMutexInterop makes exclusive and shared entries also wait for
// holders of etcd's own concurrency.Mutex (and `etcdctl lock`) on the same
// name, so that a fleet can move from one to the other node by node with
// both excluding each other. etcd's Mutex already waits for fairlock's
// entries, since it waits for every key under the name. The price is
// etcd's: with the option, every key under NAME/ blocks, so lock "/a" also
// waits for the entries of lock "/a/b". Everyone using the name with
// fairlock should set it while any etcd Mutex user remains.
func WithEtcdMutexInterop() Option { return func(c *config) { c.etcdInterop = true } }

// WithTenant makes every hold taken through the Queue (and the Mutex or
// Semaphore built on it) one of tenant's, which is entitled to share grants
// for every grant of a tenant of share 1 while several tenants wait.
//
// Callers of one tenant are served among themselves in arrival order; across
// tenants the lock goes round-robin, weighted by share: a tenant's callers
// first wait in an admission line of the tenant's own under the lock's name,
// which admits share of them at a time to the lock's line. So a tenant that
// arrives behind a long line of another tenant's callers waits for at most
// the other tenants' shares' worth of grants. Callers without a tenant join
// the lock's line directly and are served in arrival order among the
// admitted callers. Every caller of a tenant on a lock must declare the same
// share (ErrShareMismatch otherwise). A bad tenant or share is reported by
// New (ErrInvalidTenant, ErrInvalidShare), without I/O.
func WithTenant(tenant string, share int) Option {
	return func(c *config) { c.withTenant, c.tenant, c.share = true, tenant, share }
}

// DefaultSafetyMargin is the default of WithSafetyMargin.
const DefaultSafetyMargin = 100 * time.Millisecond

// DefaultIdentity is "<hostname>/<pid>", the value primitives store in
// their entries unless WithIdentity says otherwise.
func DefaultIdentity() string { return defaultIdentity }

var defaultIdentity = func() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}()

// check reports, without I/O, why the options cannot make a Queue.
func (c *config) check() error {
	if !c.withTenant {
		return nil
	}
	if err := keys.ValidateTenant(c.tenant); err != nil {
		return err
	}
	if c.share < 1 {
		return fmt.Errorf("%w: %d for tenant %q", ErrInvalidShare, c.share, c.tenant)
	}
	return nil
}

func newConfig(opts []Option) config {
	c := config{identity: defaultIdentity, margin: DefaultSafetyMargin}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.margin < 0 {
		c.margin = 0
	}
	return c
}
