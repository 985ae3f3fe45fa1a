package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
)

// The test binary doubles as the command: run with this variable set, it
// runs main instead of the tests.
const runMain = "TESTETCD_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMain) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// start runs the command with a data directory under dir and returns it,
// the pipe to its standard input and the endpoints it printed.
func start(t *testing.T, ctx context.Context, dir string, args ...string) (*exec.Cmd, io.WriteCloser, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMain+"=1", "TMPDIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the endpoint line: %v", err)
	}
	return cmd, stdin, strings.TrimSpace(line)
}

// The printed endpoint serves clients, and the command stops, leaving no
// data behind, on either signal to stop.
func TestServesThenStops(t *testing.T) {
	for _, stop := range []struct {
		name string
		do   func(*exec.Cmd, io.WriteCloser) error
	}{
		{"stdin closed", func(_ *exec.Cmd, in io.WriteCloser) error { return in.Close() }},
		{"SIGTERM", func(c *exec.Cmd, _ io.WriteCloser) error { return c.Process.Signal(syscall.SIGTERM) }},
	} {
		t.Run(stop.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dir := t.TempDir()
			cmd, stdin, endpoints := start(t, ctx, dir)
			defer stdin.Close()

			cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(endpoints, ",")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cli.Put(ctx, "/k", "v")
			cli.Close()
			if err != nil {
				t.Fatalf("put to %s: %v", endpoints, err)
			}
			if err := stop.do(cmd, stdin); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v, want status 0", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("data left behind in %s: %v", dir, left)
			}
		})
	}
}

// -addr puts the client port where asked: the printed endpoint is there,
// and serves.
func TestAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd, stdin, endpoints := start(t, ctx, t.TempDir(), "-addr", addr)
	defer cmd.Wait() //nolint:errcheck // the stop below is what is checked
	defer stdin.Close()
	if endpoints != "http://"+addr {
		t.Fatalf("endpoints %q, want http://%s", endpoints, addr)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "/k", "v"); err != nil {
		t.Fatalf("put to %s: %v", addr, err)
	}
}

// Started without a standard input to keep (as by `&` or nohup), the
// command stops at once, cleanly, and says why on standard error, naming
// the flag that keeps it running.
func TestNoStdinSaysWhy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), runMain+"=1", "TMPDIR="+dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr // cmd.Stdin nil: /dev/null, at its end at once
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v, want status 0\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "http://") {
		t.Errorf("no endpoint printed before stopping: %q", stdout.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "standard input closed") || !strings.Contains(msg, "-ignore-stdin") {
		t.Errorf("stderr does not say why it stopped, nor how not to: %q", msg)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("data left behind in %s: %v", dir, left)
	}
}
