// Package scoped_test tests work scoped to a hold (Mutex.Do, RWMutex.Do and
// RDo, Semaphore.Do, Election.Lead) against in-process etcd clusters.
package scoped_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
