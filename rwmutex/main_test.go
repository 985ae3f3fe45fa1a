package rwmutex_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The examples need an etcd: make test starts one and names it in this
// variable. Without it, the package's tests are skipped, so that a bare
// go test ./... works on a machine without etcd.
const envEndpoints = "FAIRLOCK_TEST_ENDPOINTS"

// endpoints are the client URLs of that etcd; in real code, yours
// ([]string{"localhost:2379"}).
var endpoints = strings.Split(os.Getenv(envEndpoints), ",")

func TestMain(m *testing.M) {
	if os.Getenv(envEndpoints) == "" {
		fmt.Fprintf(os.Stderr, "rwmutex: skipped: no etcd (%s is unset; make test starts one)\n", envEndpoints)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
