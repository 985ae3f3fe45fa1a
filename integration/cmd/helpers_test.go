package cmd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// raceFlags are the build flags that match the test binary's (race_test.go).
var raceFlags []string

// Bounds for "eventually": generous, since the tests must pass on a loaded
// 2-core machine under -race. They bound hangs, they do not measure speed.
const (
	exitTimeout  = 30 * time.Second // a fairlock that should exit
	stateTimeout = 30 * time.Second // a state that should come about in etcd or a file
)

var procSeq atomic.Int64

// proc is a fairlock process started by a test.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout string // files: a pipe would keep Wait waiting for the command's children
	stderr string
	done   chan struct{}
}

// start starts fairlock with args, against the test etcd, with the extra
// environment env. The process is killed when the test ends, if still
// running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startProg(t, env, binary, args...)
}

// startProg is start for a program that runs fairlock (such as unshare),
// with prog's own args.
func startProg(t *testing.T, env []string, prog string, args ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	n := procSeq.Add(1)
	p := &proc{
		t:      t,
		name:   fmt.Sprintf("fairlock#%d %s", n, strings.Join(args, " ")),
		stdout: filepath.Join(dir, fmt.Sprintf("stdout.%d", n)),
		stderr: filepath.Join(dir, fmt.Sprintf("stderr.%d", n)),
		done:   make(chan struct{}),
	}
	stdout, err := os.Create(p.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	p.cmd = exec.Command(prog, args...)
	p.cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(exitTimeout):
			t.Errorf("%s: not gone %v after SIGKILL", p.name, exitTimeout)
		}
	})
	return p
}

// run runs fairlock with args to the end and returns its exit code.
func run(t *testing.T, env []string, args ...string) (*proc, int) {
	t.Helper()
	p := start(t, env, args...)
	return p, p.wait()
}

// wait waits for the process to exit and returns its exit code, failing
// the test if it has not exited within exitTimeout.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.t.Fatalf("%s: still running after %v; stderr: %s", p.name, exitTimeout, p.Stderr())
	}
	return p.cmd.ProcessState.ExitCode()
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the fairlock process.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

func (p *proc) Stdout() string { return readFile(p.t, p.stdout) }
func (p *proc) Stderr() string { return readFile(p.t, p.stderr) }

// wantExit waits for the process and fails the test unless it exits with
// code.
func (p *proc) wantExit(code int) {
	p.t.Helper()
	if got := p.wait(); got != code {
		p.t.Fatalf("%s: exit %d, want %d; stderr: %s", p.name, got, code, p.Stderr())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns the non-empty lines of the file at path.
func lines(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(readFile(t, path), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// eventually polls cond every 20 ms until it holds, failing the test after
// stateTimeout. It waits for a state in etcd or in a file, never stands in
// for one.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", stateTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// etcd returns a client of the test etcd, closed when the test ends.
func etcd(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoints}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// keysUnder returns the keys under prefix, oldest first.
func keysUnder(t *testing.T, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatalf("get %s: %v", prefix, err)
	}
	out := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = string(kv.Key)
	}
	return out
}

// waitEntries waits until the line of lock name has n entries.
func waitEntries(t *testing.T, cli *clientv3.Client, name string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d entries in %s", n, name), func() bool {
		return len(keysUnder(t, cli, name+"/.")) == n
	})
}

// lockName returns a lock name of the test's own.
func lockName(t *testing.T) string {
	return "/cmdtest/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// oneLine fails the test unless s is exactly one line.
func oneLine(t *testing.T, what, s string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s: want one line, got %q", what, s)
	}
}

// writeFile writes s to path.
func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
