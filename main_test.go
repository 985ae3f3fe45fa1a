package fairlock_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The examples need an etcd: make test starts one and names it in this
// variable. Without it, only the tests that need no etcd run, so that a
// bare go test ./... works on a machine without etcd. It is not
// $FAIRLOCK_ENDPOINTS, the command's and the examples' variable, so that
// go test never writes into the etcd a user's shell points at.
const envEndpoints = "FAIRLOCK_TEST_ENDPOINTS"

// withoutEtcd selects the tests that need no etcd.
const withoutEtcd = "^(TestSentinels|TestConnCause|TestValidateName|ExampleValidateName)"

// endpoints are the client URLs of that etcd; in real code, yours
// ([]string{"localhost:2379"}).
var endpoints = strings.Split(os.Getenv(envEndpoints), ",")

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(envEndpoints) == "" {
		fmt.Fprintf(os.Stderr, "fairlock: examples skipped: no etcd (%s is unset; make test starts one)\n", envEndpoints)
		if err := flag.Set("test.run", withoutEtcd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
