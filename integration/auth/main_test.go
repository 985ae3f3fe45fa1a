// Package auth_test runs every primitive as an etcd user confined by RBAC
// to its prefix (issue 31), on in-process clusters with auth on: the fenced
// write after a hold ends fails quietly (Succeeded == false, no error), a
// user who may read but not write gets a prompt error that names the lock
// and leaves nothing behind, a permission revoked while a waiter waits
// ends the wait instead of a retry loop, and watches whose stream's token
// went stale (an auth-store change, JWT tokens) are made again on a fresh
// stream rather than refused forever.
package auth_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
