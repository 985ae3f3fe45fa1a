package integration_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: a lock
// that leaves a watch or a retry loop running after its call returned (or
// after its session closed) is a leak in every program that uses it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
