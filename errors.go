package fairlock

import (
	"errors"

	"github.com/fairlock/fairlock/queue"
)

// Errors returned by this package, matched with errors.Is. Those shared with
// the lock packages are the same values, so either name matches.
var (
	// ErrNoEndpoints reports a Config without any etcd endpoint, or with a
	// blank one.
	ErrNoEndpoints = errors.New("fairlock: no etcd endpoints")

	// ErrInvalidTTL reports a Config.TTL below one second or not a whole
	// number of seconds (etcd leases count whole seconds).
	ErrInvalidTTL = errors.New("fairlock: TTL must be a whole number of seconds, at least 1s")

	// ErrInvalidDialTimeout reports a negative Config.DialTimeout.
	ErrInvalidDialTimeout = errors.New("fairlock: negative dial timeout")

	// ErrUnreachable reports that Connect got no answer from any endpoint
	// before its context or DialTimeout ended.
	ErrUnreachable = errors.New("fairlock: cannot reach etcd")

	// ErrClosed reports a call on a Client after Close.
	ErrClosed = errors.New("fairlock: client closed")

	// ErrInvalidName reports a malformed lock name.
	ErrInvalidName = queue.ErrInvalidName

	// ErrSessionExpired reports that the Client's session has ended: its
	// lease expired (etcd unreachable for longer than the TTL) or was
	// revoked.
	ErrSessionExpired = queue.ErrSessionExpired
)
