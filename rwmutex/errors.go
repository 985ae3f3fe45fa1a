package rwmutex

import (
	"errors"

	"github.com/fairlock/fairlock/queue"
)

// Errors returned by RWMutex, matched with errors.Is. The shared ones are
// the same values as queue's (and fairmutex's), so one errors.Is check
// covers every lock of this module.
var (
	// ErrLocked is returned by TryLock when the lock is held or awaited by
	// anyone, and by TryRLock when a writer holds or awaits it.
	ErrLocked = errors.New("rwmutex: locked")

	// ErrNotLocked is returned by Unlock when the RWMutex holds no write
	// lock.
	ErrNotLocked = errors.New("rwmutex: not locked")

	// ErrNotRLocked is returned by RUnlock when the RWMutex holds no read
	// lock.
	ErrNotRLocked = errors.New("rwmutex: not read-locked")

	// ErrAlreadyLocked is returned by LockAll for a write hold of an
	// RWMutex that already holds its write lock.
	ErrAlreadyLocked = errors.New("rwmutex: already write-locked by this RWMutex")

	// ErrLost reports that a hold ended without Unlock or RUnlock: the
	// session's lease expired or the key was deleted. Someone else may hold
	// the lock now. When the lease ended it matches ErrSessionExpired too.
	ErrLost = queue.ErrLost

	// ErrSessionExpired reports that the RWMutex's session has ended.
	ErrSessionExpired = queue.ErrSessionExpired

	// ErrInvalidName reports a malformed lock name (see New).
	ErrInvalidName = queue.ErrInvalidName

	// ErrNilSession reports a nil session given to New.
	ErrNilSession = queue.ErrNilSession

	// ErrUninitialized reports a call on a zero RWMutex instead of one from
	// New.
	ErrUninitialized = queue.ErrUninitialized

	// ErrDuplicateLine reports a LockAll that names one lock twice;
	// ErrMixedSessions one over RWMutexes of different sessions.
	ErrDuplicateLine = queue.ErrDuplicateLine
	ErrMixedSessions = queue.ErrMixedSessions

	// ErrTenantUnsupported reports queue.WithTenant given to New: an
	// RWMutex does not serve tenants.
	ErrTenantUnsupported = queue.ErrTenantUnsupported
)
