package queue

import (
	"errors"

	"github.com/fairlock/fairlock/internal/keys"
)

// Errors returned by this package, matched with errors.Is. The fairmutex and
// rwmutex packages return these same values under their own names.
var (
	// ErrInvalidName reports a lock name that is empty, relative, ends in a
	// slash, has an empty segment or one starting with '.', or holds control
	// bytes.
	ErrInvalidName = keys.ErrInvalidName

	// ErrNilSession reports a nil *concurrency.Session.
	ErrNilSession = errors.New("fairlock: nil session")

	// ErrSessionExpired reports that the session's lease has expired or the
	// session was closed, so its entries are gone or about to be.
	ErrSessionExpired = errors.New("fairlock: session expired")

	// ErrLost reports that an entry is gone although its owner did not remove
	// it: its lease expired, or someone deleted it. Whatever the entry
	// guarded may already belong to someone else.
	ErrLost = errors.New("fairlock: entry lost (lease expired or key deleted)")

	// ErrBlocked is returned by TryJoin and TryJoinShared when an older entry
	// would block the new one; nothing was written.
	ErrBlocked = errors.New("fairlock: blocked by an older entry")

	// ErrLeft reports a call on a ticket that has already left the line.
	ErrLeft = errors.New("fairlock: ticket has left the line")

	// ErrUninitialized reports a call on a zero value instead of one made by New.
	ErrUninitialized = errors.New("fairlock: value not created by New")

	// ErrLimitMismatch reports a permit join with a limit other than the
	// one of the permits already in the line; nothing was written.
	ErrLimitMismatch = errors.New("fairlock: limit differs from the one in use on this name")

	// ErrInvalidLimit reports a semaphore limit below 1.
	ErrInvalidLimit = errors.New("fairlock: limit must be at least 1")

	// ErrDuplicateLine reports a JoinAll that names one line twice.
	ErrDuplicateLine = errors.New("fairlock: the same line twice in one call")

	// ErrMixedSessions reports a JoinAll over Queues of different sessions.
	ErrMixedSessions = errors.New("fairlock: lines of different sessions in one call")
)
