package rwmutex

import (
	"fmt"

	"github.com/fairlock/fairlock/fairmutex"
)

// Errors returned by RWMutex, matched with errors.Is. They are the same
// values as fairmutex's (and queue's, where shared), so one errors.Is check
// covers every lock of this module.
var (
	// ErrLocked is returned by TryLock when the lock is held or awaited by
	// anyone, and by TryRLock when a writer holds or awaits it.
	ErrLocked = fairmutex.ErrLocked

	// ErrNotLocked is returned by Unlock when the RWMutex holds no write
	// lock.
	ErrNotLocked = fairmutex.ErrNotLocked

	// ErrNotRLocked is returned by RUnlock when the RWMutex holds no read
	// lock. It wraps ErrNotLocked, so errors.Is(err, ErrNotLocked) matches
	// it too.
	ErrNotRLocked = fmt.Errorf("rwmutex: not read-locked: %w", fairmutex.ErrNotLocked)

	// ErrLost reports that a hold ended without Unlock or RUnlock: the
	// session's lease expired or the key was deleted. Someone else may hold
	// the lock now.
	ErrLost = fairmutex.ErrLost

	// ErrSessionExpired reports that the RWMutex's session has ended.
	ErrSessionExpired = fairmutex.ErrSessionExpired

	// ErrInvalidName reports a malformed lock name (see New).
	ErrInvalidName = fairmutex.ErrInvalidName

	// ErrNilSession reports a nil session given to New.
	ErrNilSession = fairmutex.ErrNilSession

	// ErrUninitialized reports a call on a zero RWMutex instead of one from
	// New.
	ErrUninitialized = fairmutex.ErrUninitialized
)
