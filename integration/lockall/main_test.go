// Package lockall_test checks fairmutex.LockAll and rwmutex.LockAll (issue
// 14) on in-process three-member clusters: callers that name the same
// locks in opposite orders never deadlock, each line stays exclusive and
// FIFO, a LockAll's holds share one token, and a failed or cancelled
// LockAll, or one whose holder loses its lease, leaves nothing held.
package lockall_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
