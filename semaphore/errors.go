package semaphore

import (
	"errors"

	"github.com/fairlock/fairlock/queue"
)

// Errors returned by this package, matched with errors.Is. Those shared
// with package queue are the same values, so either name matches.
var (
	// ErrNoPermit is returned by TryAcquire and TryAcquireN when the
	// permit does not fit (the limit is taken, or someone waits); nothing
	// was written.
	ErrNoPermit = errors.New("semaphore: no permit free")

	// ErrReleased is returned by Release on a permit already released, or
	// whose loss Release has already reported.
	ErrReleased = errors.New("semaphore: permit already released")

	// ErrLimitMismatch reports an Acquire or TryAcquire with a limit other
	// than the one of the permits held or awaited on the name; nothing was
	// written.
	ErrLimitMismatch = queue.ErrLimitMismatch

	// ErrInvalidLimit reports a limit below 1 given to New.
	ErrInvalidLimit = queue.ErrInvalidLimit

	// ErrInvalidWeight reports a weight below 1 or above the limit given to
	// AcquireN or TryAcquireN; nothing was written, nor read.
	ErrInvalidWeight = queue.ErrInvalidWeight

	// ErrLost reports that a permit ended without Release: its session's
	// lease expired or its key was deleted. Someone else may hold it now.
	ErrLost = queue.ErrLost

	// ErrSessionExpired reports that the Semaphore's session has ended.
	ErrSessionExpired = queue.ErrSessionExpired

	// ErrInvalidName reports a malformed name (see New).
	ErrInvalidName = queue.ErrInvalidName

	// ErrNilSession reports a nil session given to New.
	ErrNilSession = queue.ErrNilSession

	// ErrUninitialized reports a call on a zero Semaphore or Permit instead
	// of one made by New or Acquire.
	ErrUninitialized = queue.ErrUninitialized

	// ErrInvalidTenant and ErrInvalidShare report a bad queue.WithTenant
	// given to New; ErrShareMismatch an Acquire or TryAcquire whose
	// tenant's callers on the name declared another share (nothing was
	// written).
	ErrInvalidTenant = queue.ErrInvalidTenant
	ErrInvalidShare  = queue.ErrInvalidShare
	ErrShareMismatch = queue.ErrShareMismatch
)
