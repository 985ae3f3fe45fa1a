package fairlock_test

import (
	"errors"
	"testing"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// The errors a Client's locks return match under the root package's names:
// they are the lock packages' values, not look-alikes.
func TestSentinelsAreTheLockPackagesValues(t *testing.T) {
	for _, tc := range []struct {
		name       string
		root, lock error
	}{
		{"ErrLost", fairlock.ErrLost, fairmutex.ErrLost},
		{"ErrLost (queue)", fairlock.ErrLost, queue.ErrLost},
		{"ErrLost (semaphore)", fairlock.ErrLost, semaphore.ErrLost},
		{"ErrLost (election)", fairlock.ErrLost, election.ErrLost},
		{"ErrLost (rwmutex)", fairlock.ErrLost, rwmutex.ErrLost},
		{"ErrSessionExpired", fairlock.ErrSessionExpired, fairmutex.ErrSessionExpired},
		{"ErrInvalidName", fairlock.ErrInvalidName, fairmutex.ErrInvalidName},
		{"ErrLocked", fairlock.ErrLocked, fairmutex.ErrLocked},
		{"ErrNotLocked", fairlock.ErrNotLocked, fairmutex.ErrNotLocked},
		{"ErrAlreadyLocked", fairlock.ErrAlreadyLocked, fairmutex.ErrAlreadyLocked},
		{"ErrNotRLocked", fairlock.ErrNotRLocked, rwmutex.ErrNotRLocked},
		{"ErrNoPermit", fairlock.ErrNoPermit, semaphore.ErrNoPermit},
		{"ErrReleased", fairlock.ErrReleased, semaphore.ErrReleased},
		{"ErrLimitMismatch", fairlock.ErrLimitMismatch, semaphore.ErrLimitMismatch},
		{"ErrInvalidLimit", fairlock.ErrInvalidLimit, semaphore.ErrInvalidLimit},
		{"ErrNotLeader", fairlock.ErrNotLeader, election.ErrNotLeader},
		{"ErrNoLeader", fairlock.ErrNoLeader, election.ErrNoLeader},
		{"ErrCampaigning", fairlock.ErrCampaigning, election.ErrCampaigning},
		{"ErrBlocked", fairlock.ErrBlocked, queue.ErrBlocked},
		{"ErrLeft", fairlock.ErrLeft, queue.ErrLeft},
		{"ErrDuplicateLine", fairlock.ErrDuplicateLine, fairmutex.ErrDuplicateLine},
	} {
		if tc.root == nil || tc.root != tc.lock || !errors.Is(tc.lock, tc.root) {
			t.Errorf("fairlock.%s = %v, not the lock package's %v", tc.name, tc.root, tc.lock)
		}
	}
}
