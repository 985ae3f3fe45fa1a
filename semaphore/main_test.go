package semaphore_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The examples need an etcd: make test starts one and names it in this
// variable. The library's own module depends on etcd's client alone, so it
// cannot start one; the tests against in-process clusters live in the
// integration module.
const envEndpoints = "FAIRLOCK_TEST_ENDPOINTS"

// endpoints are the client URLs of that etcd; in real code, yours
// ([]string{"localhost:2379"}).
var endpoints = strings.Split(os.Getenv(envEndpoints), ",")

// TestMain skips the examples when no etcd is named; the tests that need
// none always run.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(envEndpoints) == "" {
		if skip := flag.Lookup("test.skip"); skip.Value.String() == "" {
			fmt.Fprintf(os.Stderr, "semaphore: examples skipped: no etcd (%s is unset; make test starts one)\n", envEndpoints)
			_ = skip.Value.Set("^Example")
		}
	}
	os.Exit(m.Run())
}
