package cmd_test

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Bad flags, names and arguments exit 2 with one line naming what to fix,
// before any connection is made, and without a usage dump.
func TestBadInputExits2WithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the message
	}{
		{[]string{}, "name a command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"exce", "/a", "--", "true"}, "did you mean exec"},
		{[]string{"exec"}, "missing NAME"},
		{[]string{"exec", "/a", "true"}, `put "--" between NAME and COMMAND`},
		{[]string{"exec", "/a", "--"}, "missing COMMAND"},
		{[]string{"exec", "/a", "/b", "--", "true"}, "one NAME"},
		{[]string{"exec", "a", "--", "true"}, "relative"},
		{[]string{"exec", "/a/", "--", "true"}, "trailing slash"},
		{[]string{"exec", "/a/.x", "--", "true"}, "reserved"},
		{[]string{"exec", "--bogus", "/a", "--", "true"}, "unknown flag: --bogus"},
		{[]string{"exec", "--timeout", "soon", "/a", "--", "true"}, "--timeout"},
		{[]string{"exec", "--ttl", "1500ms", "/a", "--", "true"}, "--ttl"},
		{[]string{"exec", "--ttl", "-1s", "/a", "--", "true"}, "--ttl"},
		{[]string{"exec", "--grace", "-1s", "/a", "--", "true"}, "--grace"},
		{[]string{"exec", "--grace", "10s", "/a", "--", "true"}, "--grace 10s does not fit in --ttl 10s"},
		{[]string{"exec", "--ttl", "3s", "--grace", "2s", "/a", "--", "true"}, "--grace 2s does not fit in --ttl 3s"},
		{[]string{"elect", "--ttl", "2s", "--grace", "1500ms", "/a", "--", "true"}, "does not fit"},
		{[]string{"exec", "--quiet", "--verbose", "/a", "--", "true"}, "exclude each other"},
		{[]string{"rm", "--token", "0", "/a", "/a/.x/k"}, "--token"},
		{[]string{"rm", "--token", "5", "--force", "/a", "/a/.x/k"}, "exclude each other"},
		{[]string{"exec", "--shared", "--limit", "2", "/a", "--", "true"}, "exclude each other"},
		{[]string{"exec", "--limit", "0", "/a", "--", "true"}, "--limit"},
		{[]string{"exec", "--limit", "4", "--weight", "5", "/a", "--", "true"}, "--weight must be from 1 to the limit"},
		{[]string{"exec", "--weight", "2", "/a", "--", "true"}, "--weight goes with --limit"},
		{[]string{"exec", "--share", "2", "/a", "--", "true"}, "--share goes with --tenant"},
		{[]string{"exec", "--tenant", "a/b", "/a", "--", "true"}, "--tenant"},
		{[]string{"exec", "--tenant", "", "/a", "--", "true"}, "--tenant"},
		{[]string{"exec", "--tenant", "t", "--share", "0", "/a", "--", "true"}, "--share must be at least 1"},
		{[]string{"exec", "--tenant", "t", "--shared", "/a", "--", "true"}, "not --shared"},
		{[]string{"exec", "--user", "alice", "/a", "--", "true"}, "name:password"},
		{[]string{"exec", "--cert", "c.pem", "/a", "--", "true"}, "--cert and --key"},
		{[]string{"exec", "--cacert", "/no/such/ca.pem", "/a", "--", "true"}, "--cacert"},
		{[]string{"exec", "--endpoints", ",", "/a", "--", "true"}, "--endpoints"},
		{[]string{"ls"}, "want one NAME, got no arguments"},
		{[]string{"ls", "--prefix", "jobs"}, "relative"},
		{[]string{"ls", "a"}, "relative"},
		{[]string{"ls", "--json", "/a", "/b"}, "one NAME"},
		{[]string{"rm", "/a"}, "want NAME and KEY, got 1 argument ("},
		{[]string{"rm", "/a", "/b/.x/k"}, "not under /a/"},
		{[]string{"rm", "/a", "/a/b/.x/k"}, "lock below"},
		{[]string{"elect", "/a", "true"}, `put "--"`},
		{[]string{"elect", "--rotate", "-1s", "/a", "--", "true"}, "--rotate"},
	} {
		p, code := run(t, nil, tc.args...)
		stderr := p.Stderr()
		if code != 2 {
			t.Errorf("fairlock %q: exit %d, want 2; stderr: %s", tc.args, code, stderr)
			continue
		}
		oneLine(t, strings.Join(tc.args, " "), stderr)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("fairlock %q: stderr %q does not contain %q", tc.args, stderr, tc.want)
		}
		if strings.Contains(stderr, "Usage:") || p.Stdout() != "" {
			t.Errorf("fairlock %q: usage printed for bad input; stdout %q, stderr %q", tc.args, p.Stdout(), stderr)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"exec", "ls", "rm", "elect"} {
		p, code := run(t, nil, cmd, "-h")
		if code != 0 || !strings.Contains(p.Stdout(), "Examples:") || !strings.Contains(p.Stdout(), "fairlock "+cmd) {
			t.Errorf("fairlock %s -h: exit %d, output:\n%s", cmd, code, p.Stdout())
		}
	}
}

// The message names the endpoint, the flag to fix and why the connection
// failed, as gRPC last saw it.
func TestUnreachableEtcdExits1NamingTheEndpoint(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	p, code := run(t, nil, "--endpoints", "127.0.0.1:1", "--dial-timeout", "1s", "ls", "/a")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, p.Stderr())
	}
	oneLine(t, "stderr", p.Stderr())
	for _, want := range []string{"127.0.0.1:1", "--endpoints", "last connection error: dial tcp 127.0.0.1:1: connect: connection refused"} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("stderr %q does not contain %q", p.Stderr(), want)
		}
	}
}

// silentEndpoint is an etcd endpoint that never answers: connections are
// accepted (by the kernel) and never served, so a dial waits out its
// timeout.
func silentEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// A bad lock name is bad input, known before any connection: behind an
// endpoint that never answers, every command fails at once with exit 2 and
// one line, not after its dial timeout.
func TestBadNameFailsBeforeConnecting(t *testing.T) {
	ep := silentEndpoint(t)
	// The endpoint does hold a dial up: a good name waits out the timeout.
	begin := time.Now()
	p, code := run(t, nil, "--endpoints", ep, "--dial-timeout", "1s", "ls", "/a")
	if code != 1 || time.Since(begin) < time.Second {
		t.Fatalf("ls /a behind a silent endpoint: exit %d after %v, want 1 after the 1s dial timeout; stderr: %s",
			code, time.Since(begin), p.Stderr())
	}
	// A dial timeout far beyond exitTimeout: a command that dialed first
	// would fail the test in p.wait.
	const dialTimeout = "10m"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", "/a/.x", "--", "true"}, "reserved"},
		{[]string{"exec", "--limit", "3", "a", "--", "true"}, "relative"},
		{[]string{"elect", "/a/", "--", "true"}, "trailing slash"},
		{[]string{"ls", "/a//b"}, "empty path segment"},
		{[]string{"ls", "--watch", "a"}, "relative"},
		{[]string{"ls", "--prefix", "/a/.s"}, "reserved"},
		{[]string{"rm", "/.a", "/.a/.x/k"}, "reserved"},
		{[]string{"yield", "/a\x01"}, "control character"},
		{[]string{"observe", "/"}, "root"},
	} {
		args := append([]string{"--endpoints", ep, "--dial-timeout", dialTimeout}, tc.args...)
		begin := time.Now()
		p, code := run(t, nil, args...)
		took := time.Since(begin)
		stderr := p.Stderr()
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("fairlock %q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
			continue
		}
		oneLine(t, strings.Join(tc.args, " "), stderr)
		t.Logf("fairlock %q: exit 2 after %v", tc.args, took)
	}
}
