package fairlock

import (
	"errors"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// Errors returned by this package, matched with errors.Is.
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
	// before its context or DialTimeout ended. The error's text names the
	// last connection error gRPC saw, when it saw one.
	ErrUnreachable = errors.New("fairlock: cannot reach etcd")

	// ErrClosed reports a call on a Client after Close.
	ErrClosed = errors.New("fairlock: client closed")
)

// The errors of the locks a Client makes, under this package's name: the
// same values as in the lock packages (fairlock.ErrLost == fairmutex.ErrLost
// == queue.ErrLost), so a user of Client need not guess which package an
// error comes from, and either name matches with errors.Is.
var (
	// ErrInvalidName reports a malformed lock name.
	ErrInvalidName = queue.ErrInvalidName

	// ErrSessionExpired reports that the Client's session has ended: its
	// lease expired (etcd unreachable for longer than the TTL) or was
	// revoked. A call that had an entry in a line reports it through an
	// error that matches ErrLost too.
	ErrSessionExpired = queue.ErrSessionExpired

	// ErrLost reports that a hold, permit, leadership or place in line
	// ended without its owner giving it up: the session's lease expired or
	// the key was deleted. Someone else may hold it now; a fenced write
	// (Txn().If(m.IsOwner())) made after the loss does not apply.
	ErrLost = queue.ErrLost

	// ErrLocked is returned by Mutex.TryLock when the lock is held or
	// awaited. An RWMutex's TryLock and TryRLock return rwmutex.ErrLocked,
	// a value of its own.
	ErrLocked = fairmutex.ErrLocked

	// ErrNotLocked is returned by Mutex.Unlock when the Mutex holds
	// nothing. An RWMutex's Unlock returns rwmutex.ErrNotLocked, a value of
	// its own, and its RUnlock ErrNotRLocked.
	ErrNotLocked = fairmutex.ErrNotLocked

	// ErrAlreadyLocked is returned by fairmutex.LockAll for a Mutex that
	// already holds its lock or is being locked.
	ErrAlreadyLocked = fairmutex.ErrAlreadyLocked

	// ErrNotRLocked is returned by RWMutex.RUnlock when the RWMutex holds
	// no read hold.
	ErrNotRLocked = rwmutex.ErrNotRLocked

	// ErrNoPermit is returned by Semaphore.TryAcquire when no permit is
	// free; nothing was written.
	ErrNoPermit = semaphore.ErrNoPermit

	// ErrReleased is returned by Permit.Release on a permit already
	// released, or whose loss Release has already reported.
	ErrReleased = semaphore.ErrReleased

	// ErrLimitMismatch reports a semaphore Acquire with a limit other than
	// the one in use on the name; nothing was written.
	ErrLimitMismatch = semaphore.ErrLimitMismatch

	// ErrInvalidLimit reports a semaphore limit below 1.
	ErrInvalidLimit = semaphore.ErrInvalidLimit

	// ErrNotLeader is returned by Election.Proclaim, Resign and Rotate when
	// the Election does not lead.
	ErrNotLeader = election.ErrNotLeader

	// ErrNoLeader is returned by Election.Leader when nobody leads.
	ErrNoLeader = election.ErrNoLeader

	// ErrCampaigning is returned by Election.Campaign when the Election
	// already leads or campaigns.
	ErrCampaigning = election.ErrCampaigning

	// ErrBlocked is returned by a Queue's Try joins when the new entry's
	// turn would not have come; nothing was written.
	ErrBlocked = queue.ErrBlocked

	// ErrLeft reports a call on a queue ticket that has already left the
	// line.
	ErrLeft = queue.ErrLeft

	// ErrDuplicateLine reports a LockAll (or JoinAll) that names one line
	// twice.
	ErrDuplicateLine = queue.ErrDuplicateLine

	// ErrAccessDenied reports that etcd refused a lock's call in a way no
	// retry mends: permission denied (the Config's user may not read and
	// write the lock's name and everything under it, NAME/),
	// authentication failed, the user or its role gone. Calls return it at
	// once, naming the lock; it also matches etcd's own error
	// (rpctypes.ErrPermissionDenied, ...).
	ErrAccessDenied = queue.ErrAccessDenied
)
