package queue

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/internal/keys"
)

// Errors returned by this package, matched with errors.Is. The packages
// built on it (fairmutex, rwmutex, semaphore, election) return the shared
// ones (ErrLost, ErrSessionExpired, ErrInvalidName, ErrNilSession,
// ErrUninitialized) under their own names: the same values.
var (
	// ErrInvalidName reports a lock name that is empty, relative, ends in a
	// slash, has an empty segment or one starting with '.', or holds control
	// bytes.
	ErrInvalidName = keys.ErrInvalidName

	// ErrNilSession reports a nil *concurrency.Session.
	ErrNilSession = errors.New("fairlock: nil session")

	// ErrSessionExpired reports that the session's lease has expired or the
	// session was closed. A call that had an entry in a line reports it
	// through an error that matches ErrLost too.
	ErrSessionExpired = errors.New("fairlock: session expired")

	// ErrLost reports that an entry is gone although its owner did not
	// remove it: its lease ended, or someone deleted its key. Whatever the
	// entry guarded may already belong to someone else. The error also
	// matches ErrSessionExpired when the lease ended.
	ErrLost = errors.New("fairlock: entry lost")

	// ErrBlocked is returned by the Try calls when the new entry's turn
	// would not have come; nothing was written.
	ErrBlocked = errors.New("fairlock: blocked by older entries")

	// ErrLeft reports a call on a ticket that has already left the line.
	ErrLeft = errors.New("fairlock: ticket has left the line")

	// ErrUninitialized reports a call on a zero value instead of one made by New.
	ErrUninitialized = errors.New("fairlock: value not created by New")

	// ErrLimitMismatch reports a permit join with a limit other than the
	// one of the permits already in the line; nothing was written.
	ErrLimitMismatch = errors.New("fairlock: limit differs from the one in use on this name")

	// ErrInvalidLimit reports a semaphore limit below 1.
	ErrInvalidLimit = errors.New("fairlock: limit must be at least 1")

	// ErrInvalidWeight reports a permit weight below 1 or above the
	// semaphore's limit; nothing was written.
	ErrInvalidWeight = errors.New("fairlock: weight must be at least 1 and at most the limit")

	// ErrDuplicateLine reports a JoinAll that names one line twice.
	ErrDuplicateLine = errors.New("fairlock: the same line twice in one call")

	// ErrMixedSessions reports a JoinAll over Queues of different sessions.
	ErrMixedSessions = errors.New("fairlock: lines of different sessions in one call")

	// ErrNoHolder reports an AskToYield on a line that nobody holds;
	// nothing was written.
	ErrNoHolder = errors.New("fairlock: nobody holds the lock")

	// ErrInvalidTenant reports a tenant given to WithTenant that is empty,
	// holds a '/' or a control character, starts with '.', or is longer
	// than 128 bytes.
	ErrInvalidTenant = keys.ErrInvalidTenant

	// ErrInvalidShare reports a share below 1 given to WithTenant.
	ErrInvalidShare = errors.New("fairlock: share must be at least 1")

	// ErrShareMismatch reports a caller of a tenant that declares another
	// share than the tenant's callers already on the lock; nothing was
	// written.
	ErrShareMismatch = errors.New("fairlock: share differs from the one the tenant's callers declared")

	// ErrTenantUnsupported reports WithTenant given where tenants are not
	// served: an RWMutex, an Election, a JoinAll (LockAll).
	ErrTenantUnsupported = errors.New("fairlock: tenants are not supported here")

	// ErrAccessDenied reports that etcd refused a call in a way no retry
	// mends: permission denied (the user's roles do not grant read and
	// write on the lock's name and everything under it, NAME/),
	// authentication failed, an auth token refused after re-authenticating,
	// the user or its role gone. Every call returns it at once, never
	// retrying until its ctx ends; the error names the lock and also
	// matches etcd's own error (rpctypes.ErrPermissionDenied, ...).
	ErrAccessDenied = errors.New("fairlock: etcd refused access")
)

// refusedError is etcd's refusal of a call on the lock name: it matches
// ErrAccessDenied, the error etcd's client returned (through Unwrap) and
// that client's value for the refusal (rpctypes.ErrPermissionDenied, ...),
// however the refusal came (a watch's arrives as text).
type refusedError struct {
	name string
	err  error
}

func (e *refusedError) Error() string {
	why := etcderr.Refusal(e.err)
	if why == nil {
		why = e.err // a refusal gRPC made (PermissionDenied, Unauthenticated), not etcd
	}
	msg := fmt.Sprintf("fairlock: etcd refused access to lock %s: %v", e.name, why)
	if errors.Is(e, rpctypes.ErrPermissionDenied) {
		msg += fmt.Sprintf(" (the user needs read and write on %s/)", e.name)
	}
	return msg
}

func (e *refusedError) Unwrap() error { return e.err }

func (e *refusedError) Is(target error) bool {
	return target == ErrAccessDenied || target == etcderr.Refusal(e.err)
}

// lostError is the one error for "the entry is gone": it matches ErrLost
// always, and ErrSessionExpired when the lease ended.
type lostError struct {
	name    string
	token   int64
	expired bool
}

func (e *lostError) Error() string {
	why := "its key was deleted"
	if e.expired {
		why = "the session's lease ended"
	}
	return fmt.Sprintf("fairlock: entry lost: %s (lock %s, token %d)", why, e.name, e.token)
}

func (e *lostError) Is(target error) bool {
	return target == ErrLost || (e.expired && target == ErrSessionExpired)
}

// isLost reports whether err is the loss of an entry: a lostError.
func isLost(err error) bool {
	var lost *lostError
	return errors.As(err, &lost)
}
