package semaphore_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// envEndpoints names the etcd the examples run against. The library's own
// module depends on etcd's client alone, so it cannot start an etcd: the
// tests against in-process clusters live in the integration module.
const envEndpoints = "FAIRLOCK_TEST_ENDPOINTS"

// TestMain skips the examples when no etcd is named; the tests that need
// none always run.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(envEndpoints) == "" {
		if skip := flag.Lookup("test.skip"); skip.Value.String() == "" {
			fmt.Fprintf(os.Stderr, "%s is not set: examples skipped\n", envEndpoints)
			_ = skip.Value.Set("^Example")
		}
	}
	os.Exit(m.Run())
}
