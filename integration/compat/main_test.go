package compat_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fairlock/fairlock"
)

// envEndpoints names the etcd server the suite runs against.
const envEndpoints = "FAIRLOCK_COMPAT_ENDPOINTS"

// callTimeout bounds every blocking call: generous, for a loaded machine.
const callTimeout = 20 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(holdUntilKilled())
	}
	goleak.VerifyTestMain(m)
}

func endpoints(t *testing.T) []string {
	t.Helper()
	eps := os.Getenv(envEndpoints)
	if eps == "" {
		t.Skipf("no etcd server: %s is unset (make compat sets it)", envEndpoints)
	}
	return strings.Split(eps, ",")
}

// lockName is a name of this run's own, so that runs against one server
// never meet.
func lockName(t *testing.T) string {
	return fmt.Sprintf("/fairlock-compat/%s/%d", t.Name(), time.Now().UnixNano())
}

// connect connects a Client of its own (a separate process, as far as the
// lock can tell), closed when the test ends.
func connect(t *testing.T, cfg fairlock.Config) *fairlock.Client {
	t.Helper()
	cfg.Endpoints = endpoints(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := fairlock.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
