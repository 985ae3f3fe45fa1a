// Package cmd_test tests the fairlock command as its users run it: the
// binary, built once, run as separate processes against a real etcd (the
// embedded one, started in this test process: a real server on a loopback
// port).
//
// These tests live in the integration module, not in cmd/fairlock: the
// command's go.mod is what `go install .../cmd/fairlock@latest` resolves,
// and test dependencies of a module are listed in its go.mod; the embedded
// etcd would add etcd's server, raft, bbolt and the rest to every user's
// install.
package cmd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fairlock/fairlock/etcdtest"
)

var (
	// binary is the fairlock command built for the tests.
	binary string
	// endpoints are the embedded etcd's client URLs, comma-separated.
	endpoints string
)

// buildTimeout bounds the build of the command: a -race build of etcd's
// client on a loaded 2-core machine takes a while the first time.
const buildTimeout = 10 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fairlock-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd:", err)
		return 1
	}
	endpoints = e.Endpoints()[0]
	code := m.Run()
	e.Close()
	// Every goroutine of the tests must be gone: a helper that leaves a
	// process waiter behind would hide a hang.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

// build builds the command into dir, with the race detector when the tests
// run with it, so that a race in the command fails them too (exit 66).
func build(dir string) (string, error) {
	src, err := filepath.Abs(filepath.Join("..", "..", "cmd", "fairlock"))
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "fairlock")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append([]string{"build", "-o", out}, raceFlags...)
	cmd := exec.CommandContext(ctx, goBin, append(args, ".")...)
	cmd.Dir = src
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", src, err, msg)
	}
	return out, nil
}
