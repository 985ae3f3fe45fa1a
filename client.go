package fairlock

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// Client is a connection to etcd and one session on it, made by Connect.
// Every lock it makes is held through the session, so Close (or the
// process's death, after the TTL) ends every hold and place in line at
// once. It is safe for concurrent use.
type Client struct {
	cli  *clientv3.Client
	s    *concurrency.Session
	opts []queue.Option

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Close revokes the session's lease, so that every hold and entry of the
// Client's locks leaves etcd at once, and closes the connection. It waits
// for the revoke at most the session's TTL; if etcd cannot be reached in
// that time, the lease expires by itself, and Close reports the error.
// Locks made by the Client are unusable afterwards (ErrSessionExpired).
// Close is idempotent: later calls return the first call's result.
func (c *Client) Close() error {
	if c == nil {
		return ErrClosed
	}
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err := c.s.Close()
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			err = nil // already expired or revoked: the entries are gone
		}
		c.closeErr = errors.Join(err, c.cli.Close())
	})
	return c.closeErr
}

// Etcd returns the etcd client, for fenced writes (Txn().If(m.IsOwner())) and
// anything else. Close closes it.
func (c *Client) Etcd() *clientv3.Client { return c.cli }

// Session returns the session every lock of the Client is held through.
// Close revokes it.
func (c *Client) Session() *concurrency.Session { return c.s }

// Done returns a channel that is closed when the session ends: Close, or
// its lease lost (etcd unreachable for longer than the TTL). Every hold of
// the Client's locks has ended then.
func (c *Client) Done() <-chan struct{} { return c.s.Done() }

// Options returns the options the Client gives the primitives it makes
// (the identity, hooks and logger of its Config), followed by extra: for a
// primitive made by its package's New on the Client's session with more
// options, such as a tenant's mutex:
//
//	m, err := fairmutex.New(c.Session(), "/deploy/prod", c.Options(queue.WithTenant("team-a", 1))...)
func (c *Client) Options(extra ...queue.Option) []queue.Option {
	return append(slices.Clip(c.opts), extra...)
}

// Mutex returns a fair mutex on the lock named name (an absolute
// slash-separated path such as "/jobs/nightly"), held through the Client's
// session. It does no I/O; it returns ErrInvalidName, ErrClosed or, when
// the session has ended, ErrSessionExpired.
func (c *Client) Mutex(name string) (*fairmutex.Mutex, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return fairmutex.New(c.s, name, c.opts...)
}

// RWMutex returns a fair read-write lock on the lock named name, held
// through the Client's session. It does no I/O; it returns ErrInvalidName,
// ErrClosed or, when the session has ended, ErrSessionExpired.
func (c *Client) RWMutex(name string) (*rwmutex.RWMutex, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return rwmutex.New(c.s, name, c.opts...)
}

// Queue returns the ordered line named name, seen through the Client's
// session. It does no I/O; it returns ErrInvalidName, ErrClosed or, when
// the session has ended, ErrSessionExpired.
func (c *Client) Queue(name string) (*queue.Queue, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return queue.New(c.s, name, c.opts...)
}

// Semaphore returns a fair counting semaphore of limit permits on the name,
// held through the Client's session. Everyone using the name must agree on
// the limit (see semaphore.ErrLimitMismatch). It does no I/O; it returns
// ErrInvalidName, semaphore.ErrInvalidLimit, ErrClosed or, when the session
// has ended, ErrSessionExpired.
func (c *Client) Semaphore(name string, limit int) (*semaphore.Semaphore, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return semaphore.New(c.s, name, limit, c.opts...)
}

// Election returns a fair leader election on the name, campaigned through
// the Client's session. It does no I/O; it returns ErrInvalidName,
// ErrClosed or, when the session has ended, ErrSessionExpired.
func (c *Client) Election(name string) (*election.Election, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return election.New(c.s, name, c.opts...)
}

func (c *Client) usable() error {
	if c == nil || c.s == nil || c.closed.Load() {
		return ErrClosed
	}
	return nil
}
