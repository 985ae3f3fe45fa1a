package fairmutex

import (
	"errors"

	"github.com/fairlock/fairlock/queue"
)

// Errors returned by Mutex, matched with errors.Is. Those shared with the
// queue package are the same values, so either name matches.
var (
	// ErrLocked is returned by TryLock when the lock is held or awaited.
	ErrLocked = errors.New("fairmutex: locked")

	// ErrNotLocked is returned by Unlock when the Mutex holds nothing.
	ErrNotLocked = errors.New("fairmutex: not locked")

	// ErrAlreadyLocked is returned by LockAll for a Mutex that already
	// holds its lock or is being locked by LockAll.
	ErrAlreadyLocked = errors.New("fairmutex: already locked by this Mutex")

	// ErrLost reports that a hold ended without Unlock: the session's lease
	// expired or the key was deleted. Someone else may hold the lock now.
	// When the lease ended the error matches ErrSessionExpired too.
	ErrLost = queue.ErrLost

	// ErrSessionExpired reports that the Mutex's session has ended.
	ErrSessionExpired = queue.ErrSessionExpired

	// ErrInvalidName reports a malformed lock name (see New).
	ErrInvalidName = queue.ErrInvalidName

	// ErrNilSession reports a nil session given to New.
	ErrNilSession = queue.ErrNilSession

	// ErrUninitialized reports a call on a zero Mutex instead of one from New.
	ErrUninitialized = queue.ErrUninitialized

	// ErrDuplicateLine reports a LockAll that names one lock twice;
	// ErrMixedSessions one over Mutexes of different sessions.
	ErrDuplicateLine = queue.ErrDuplicateLine
	ErrMixedSessions = queue.ErrMixedSessions

	// ErrInvalidTenant and ErrInvalidShare report a bad queue.WithTenant
	// given to New; ErrShareMismatch a Lock or TryLock whose tenant's
	// callers on the lock declared another share (nothing was written);
	// ErrTenantUnsupported a LockAll over a Mutex of a tenant.
	ErrInvalidTenant     = queue.ErrInvalidTenant
	ErrInvalidShare      = queue.ErrInvalidShare
	ErrShareMismatch     = queue.ErrShareMismatch
	ErrTenantUnsupported = queue.ErrTenantUnsupported
)
