package semaphore_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain skips the package when no etcd is given: its examples run
// against the cluster in FAIRLOCK_TEST_ENDPOINTS (comma-separated). The
// tests against in-process clusters are in the integration module.
func TestMain(m *testing.M) {
	if os.Getenv("FAIRLOCK_TEST_ENDPOINTS") == "" {
		fmt.Fprintln(os.Stderr, "semaphore: FAIRLOCK_TEST_ENDPOINTS not set, skipping (the examples need an etcd)")
		os.Exit(0)
	}
	os.Exit(m.Run())
}
