package election

import (
	"errors"

	"github.com/fairlock/fairlock/queue"
)

// Errors returned by Election, matched with errors.Is. Those shared with
// the queue package are the same values, so one errors.Is check covers
// every primitive of this module.
var (
	// ErrNotLeader is returned by Proclaim, Resign and Rotate when the
	// Election does not lead.
	ErrNotLeader = errors.New("election: not the leader")

	// ErrNoLeader is returned by Leader when nobody leads: no candidate is
	// in the line.
	ErrNoLeader = errors.New("election: no leader")

	// ErrCampaigning is returned by Campaign when the Election already
	// leads, or a Campaign, Rotate or Resign of it is under way: an
	// Election holds at most one place in the line.
	ErrCampaigning = errors.New("election: already campaigning or leading")

	// ErrInvalidPeriod reports a negative rotation period given to Lead
	// (RotateEvery); nothing was written.
	ErrInvalidPeriod = errors.New("fairlock: rotation period must not be negative")

	// ErrHandOver is the cause (context.Cause) of the end of fn's context
	// when Lead ends a term to hand the lead on: its rotation period is
	// over, or the leader was asked to yield. Lead never returns it.
	ErrHandOver = errors.New("fairlock: handing the lead on")

	// ErrLost reports that the leadership ended without Resign: the
	// session's lease expired or the key was deleted. Someone else may
	// lead now.
	ErrLost = queue.ErrLost

	// ErrSessionExpired reports that the Election's session has ended.
	ErrSessionExpired = queue.ErrSessionExpired

	// ErrInvalidName reports a malformed election name (see New).
	ErrInvalidName = queue.ErrInvalidName

	// ErrNilSession reports a nil session given to New.
	ErrNilSession = queue.ErrNilSession

	// ErrUninitialized reports a call on a zero Election instead of one
	// from New.
	ErrUninitialized = queue.ErrUninitialized

	// ErrTenantUnsupported reports queue.WithTenant given to New: an
	// Election does not serve tenants.
	ErrTenantUnsupported = queue.ErrTenantUnsupported
)
