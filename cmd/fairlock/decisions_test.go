package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fairlock/fairlock/internal/keys"
)

func TestSelectEndpoints(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name    string
		flag    string
		flagSet bool
		getenv  func(string) string
		want    []string
		wantErr bool
	}{
		{"nothing: etcd's default", "", false, env(), []string{"127.0.0.1:2379"}, false},
		{"flag wins", "a:1, b:2", true, env(envEndpoints, "c:3", envEtcdctlEndpoints, "d:4"), []string{"a:1", "b:2"}, false},
		{"fairlock env before etcdctl's", "", false, env(envEndpoints, "c:3", envEtcdctlEndpoints, "d:4"), []string{"c:3"}, false},
		{"etcdctl env", "", false, env(envEtcdctlEndpoints, "https://d:4,https://e:5"), []string{"https://d:4", "https://e:5"}, false},
		{"blank fairlock env falls through", "", false, env(envEndpoints, " , ", envEtcdctlEndpoints, "d:4"), []string{"d:4"}, false},
		{"blanks dropped", "", false, env(envEndpoints, ",a:1,,b:2,"), []string{"a:1", "b:2"}, false},
		{"flag given empty", "", true, env(envEndpoints, "c:3"), nil, true},
		{"flag given blank list", " , ", true, env(), nil, true},
	} {
		got, err := selectEndpoints(tc.flag, tc.flagSet, tc.getenv)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("%s: selectEndpoints = %q, %v; want %q, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in, name, pass string
		wantErr        bool
	}{
		{"", "", "", false},
		{"alice:secret", "alice", "secret", false},
		{"alice:se:cret", "alice", "se:cret", false},
		{"alice:", "alice", "", false},
		{"alice", "", "", true},
		{":secret", "", "", true},
	} {
		name, pass, err := parseUser(tc.in)
		if name != tc.name || pass != tc.pass || (err != nil) != tc.wantErr {
			t.Errorf("parseUser(%q) = %q, %q, %v; want %q, %q, error %v", tc.in, name, pass, err, tc.name, tc.pass, tc.wantErr)
		}
	}
}

func TestTLSConfigFlags(t *testing.T) {
	for _, tc := range []struct {
		cacert, cert, key string
		wantNil, wantErr  bool
	}{
		{"", "", "", true, false},
		{"", "c.pem", "", true, true},
		{"", "", "k.pem", true, true},
		{"/no/such/ca.pem", "", "", true, true},
		{"", "/no/such/c.pem", "/no/such/k.pem", true, true},
	} {
		tc0, err := tlsConfig(tc.cacert, tc.cert, tc.key)
		if (tc0 == nil) != tc.wantNil || (err != nil) != tc.wantErr {
			t.Errorf("tlsConfig(%q, %q, %q) = %v, %v", tc.cacert, tc.cert, tc.key, tc0, err)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		atDash  int
		name    string
		argv    []string
		wantErr string
	}{
		{[]string{"/a", "ls", "-l"}, 1, "/a", []string{"ls", "-l"}, ""},
		{[]string{"/a", "--", "x"}, 1, "/a", []string{"--", "x"}, ""}, // a "--" after the first is the command's
		{nil, -1, "", nil, "missing NAME and COMMAND"},
		{[]string{"/a", "ls"}, -1, "", nil, `put "--"`},
		{[]string{"ls"}, 0, "", nil, "missing NAME"},
		{[]string{"/a", "/b", "ls"}, 2, "", nil, "one NAME"},
		{[]string{"/a"}, 1, "", nil, "missing COMMAND"},
	} {
		name, argv, err := splitCommand(tc.args, tc.atDash)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("splitCommand(%q, %d) error = %v, want %q", tc.args, tc.atDash, err, tc.wantErr)
			}
			continue
		}
		if err != nil || name != tc.name || !slices.Equal(argv, tc.argv) {
			t.Errorf("splitCommand(%q, %d) = %q, %q, %v; want %q, %q", tc.args, tc.atDash, name, argv, err, tc.name, tc.argv)
		}
	}
}

func TestValidateExec(t *testing.T) {
	for _, tc := range []struct {
		f    execFlags
		want string // mode, or "error"
	}{
		{execFlags{}, "exclusive"},
		{execFlags{shared: true, timeout: time.Second}, "shared"},
		{execFlags{limit: 3, limitSet: true}, "permit(3)"},
		{execFlags{limit: 8, limitSet: true, weight: 3, weightSet: true}, "permit(8, weight 3)"},
		{execFlags{limit: 8, limitSet: true, weight: 8, weightSet: true}, "permit(8, weight 8)"},
		{execFlags{limit: 8, limitSet: true, weight: 9, weightSet: true}, "error"},
		{execFlags{limit: 8, limitSet: true, weight: 0, weightSet: true}, "error"},
		{execFlags{weight: 2, weightSet: true}, "error"}, // --weight without --limit
		{execFlags{shared: true, limit: 3, limitSet: true}, "error"},
		{execFlags{limit: 0, limitSet: true}, "error"},
		{execFlags{limit: -1, limitSet: true}, "error"},
		{execFlags{timeout: -time.Second}, "error"},
		{execFlags{tenant: "team-a", tenantSet: true}, `exclusive of tenant "team-a", share 1`},
		{execFlags{tenant: "team-a", tenantSet: true, share: 3, shareSet: true}, `exclusive of tenant "team-a", share 3`},
		{execFlags{limit: 4, limitSet: true, weight: 2, weightSet: true, tenant: "b", tenantSet: true, share: 2, shareSet: true},
			`permit(4, weight 2) of tenant "b", share 2`},
		{execFlags{share: 2, shareSet: true}, "error"},                               // --share without --tenant
		{execFlags{tenant: "a", tenantSet: true, share: 0, shareSet: true}, "error"}, // share below 1
		{execFlags{tenant: "a", tenantSet: true, shared: true}, "error"},             // no tenants for an RWMutex
		{execFlags{tenant: "", tenantSet: true}, "error"},
		{execFlags{tenant: "a/b", tenantSet: true}, "error"},
		{execFlags{tenant: ".a", tenantSet: true}, "error"},
	} {
		m, err := tc.f.validate()
		got := m.String()
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%+v.validate() = %s (%v), want %s", tc.f, got, err, tc.want)
		}
	}
}

func TestHoldGrace(t *testing.T) {
	for _, tc := range []struct {
		ttl, grace time.Duration
		set        bool
		want       time.Duration
		ok         bool
	}{
		{10 * time.Second, 0, false, 3300 * time.Millisecond, true},
		{3 * time.Second, 0, false, time.Second, true},
		{time.Second, 0, false, 300 * time.Millisecond, true},
		{10 * time.Second, 5 * time.Second, true, 5 * time.Second, true},
		{10 * time.Second, 0, true, 0, true},
		{time.Second, 0, true, 0, true},
		{10 * time.Second, 10 * time.Second, true, 0, false},
		{3 * time.Second, 1501 * time.Millisecond, true, 0, false},
		{0, 0, false, 3300 * time.Millisecond, true}, // 0 is the default TTL, as in fairlock.Config
		{500 * time.Millisecond, 0, false, 0, false},
		{1500 * time.Millisecond, 0, false, 0, false},
		{2 * time.Second, -time.Second, true, 0, false},
	} {
		got, err := holdGrace(tc.ttl, tc.grace, tc.set)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("holdGrace(%v, %v, %v) = %v, %v; want %v, ok %v", tc.ttl, tc.grace, tc.set, got, err, tc.want, tc.ok)
		}
	}
}

func TestStopAction(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := time.Second
	for _, tc := range []struct {
		name             string
		now, until       time.Time
		grace            time.Duration
		terminated       bool
		termAt           time.Time
		killed           bool
		wantTerm, wantKl bool
	}{
		{"unknown deadline asks nothing", t0, time.Time{}, s, false, time.Time{}, false, false, false},
		{"renewed in time", t0, t0.Add(2 * s), s, false, time.Time{}, false, false, false},
		{"grace away: SIGTERM", t0, t0.Add(s), s, false, time.Time{}, false, true, false},
		{"past the deadline: both at once", t0, t0.Add(-s), s, false, time.Time{}, false, true, true},
		{"grace 0 at the deadline: both", t0, t0, 0, false, time.Time{}, false, true, true},
		{"terminated, grace not over", t0, t0.Add(10 * s), s, true, t0.Add(-s / 2), false, false, false},
		{"terminated, grace over", t0, t0.Add(10 * s), s, true, t0.Add(-s), false, false, true},
		{"terminated, deadline first", t0, t0, 5 * s, true, t0.Add(-s), false, false, true},
		{"terminated without deadline, grace over", t0, time.Time{}, s, true, t0.Add(-2 * s), false, false, true},
		{"killed already", t0, t0.Add(-s), s, true, t0.Add(-2 * s), true, false, false},
	} {
		term, kill := stopAction(tc.now, tc.until, tc.grace, tc.terminated, tc.termAt, tc.killed)
		if term != tc.wantTerm || kill != tc.wantKl {
			t.Errorf("%s: stopAction = %v, %v; want %v, %v", tc.name, term, kill, tc.wantTerm, tc.wantKl)
		}
	}
}

func TestChildExitCode(t *testing.T) {
	for _, tc := range []struct {
		exited   bool
		status   int
		signaled bool
		sig      syscall.Signal
		want     int
	}{
		{true, 0, false, 0, 0},
		{true, 3, false, 0, 3},
		{true, 255, false, 0, 255},
		{false, 0, true, syscall.SIGINT, 130},
		{false, 0, true, syscall.SIGTERM, 143},
		{false, 0, true, syscall.SIGKILL, 137},
		{false, 0, false, 0, exitFailure}, // neither: cannot happen for a waited process
	} {
		if got := childExitCode(tc.exited, tc.status, tc.signaled, tc.sig); got != tc.want {
			t.Errorf("childExitCode(%v, %d, %v, %v) = %d, want %d", tc.exited, tc.status, tc.signaled, tc.sig, got, tc.want)
		}
	}
	if got := signalExitCode(syscall.SIGHUP); got != 129 {
		t.Errorf("signalExitCode(SIGHUP) = %d, want 129", got)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, 0, ""},
		{&exitError{code: 3}, 3, ""},
		{fail(exitBusy, "%s is busy", "/a"), 75, "fairlock: /a is busy"},
		{fmt.Errorf("wrapped: %w", fail(exitTimeout, "gave up")), 124, "fairlock: gave up"},
		{errors.New("unknown command \"x\" for \"fairlock\"\nRun 'fairlock --help' for usage."), 2,
			`fairlock: unknown command "x" for "fairlock"; Run 'fairlock --help' for usage. (see fairlock -h)`},
		{&exitError{code: 1, err: errors.New("a\n  b\r\nc")}, 1, "a; b; c"},
	} {
		code, msg := exitCode(tc.err)
		if code != tc.code || msg != tc.msg {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}

func TestStartExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&exec.Error{Name: "x", Err: exec.ErrNotFound}, exitNotFound},
		{&os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.ENOENT}, exitNotFound},
		{&os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.EACCES}, exitCannot},
		{&os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.ENOEXEC}, exitCannot},
	} {
		if got := startExitCode(tc.err); got != tc.want {
			t.Errorf("startExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"backup", "--full"}, "h/1 backup --full"},
		{[]string{"sh", "-c", "echo hi; exit 3"}, "h/1 sh -c 'echo hi; exit 3'"},
		{[]string{"echo", "it's"}, `h/1 echo 'it'\''s'`},
		{[]string{"echo", ""}, "h/1 echo ''"},
		{[]string{"/usr/bin/x", "a=b,c:d@e%f+g"}, "h/1 /usr/bin/x a=b,c:d@e%f+g"},
	} {
		if got := identity("h/1", tc.argv); got != tc.want {
			t.Errorf("identity(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
	long := identity("h/1", []string{"x", strings.Repeat("é", 300)})
	if len(long) > maxValueLen || !strings.HasSuffix(long, "...") || !strings.HasPrefix(long, "h/1 x ") {
		t.Errorf("long identity: %d bytes, %q", len(long), long)
	}
	if !utf8.ValidString(long) {
		t.Errorf("long identity cut inside a rune: %q", long)
	}
}

func TestLossReason(t *testing.T) {
	for _, tc := range []struct {
		leaseGone bool
		key       keyState
		want      string
	}{
		{true, keyGone, "lease expired"},
		{true, keyUnknown, "lease expired"},
		{false, keyGone, "entry was deleted"},
		{false, keyReplaced, "entry was deleted"},
		{false, keyPresent, "could not be renewed"},
		{false, keyUnknown, "etcd stopped answering"},
	} {
		if got := lossReason(tc.leaseGone, tc.key); !strings.Contains(got, tc.want) {
			t.Errorf("lossReason(%v, %v) = %q, want it to say %q", tc.leaseGone, tc.key, got, tc.want)
		}
	}
}

func TestClassifyKey(t *testing.T) {
	layout, err := keys.New("/jobs/a")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want keyClass
	}{
		{"/jobs/a/.x/694d-1", keyInLine},
		{"/jobs/a/.s/694d-1", keyInLine},
		{"/jobs/a/.p/3/694d-1", keyInLine},
		{"/jobs/a/.junk", keyInLine},
		{"/jobs/a/694d7a1c5f0e2b11", keyForeign}, // etcd's concurrency.Mutex
		{"/jobs/a/", keyForeign},
		{"/jobs/a/b/.x/694d-1", keyBelow},
		{"/jobs/a/b/694d", keyBelow},
		{"/jobs/ab/.x/1", keyOutside},
		{"/jobs/a", keyOutside},
		{"/other", keyOutside},
	} {
		if got := classifyKey(layout, tc.key); got != tc.want {
			t.Errorf("classifyKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if err := checkRmKey(layout, "/jobs/a/.x/stray"); err != nil {
		t.Errorf("checkRmKey(a line key) = %v", err)
	}
	if err := checkRmKey(layout, "/jobs/a/694d"); err != nil {
		t.Errorf("checkRmKey(a foreign key) = %v", err)
	}
	for _, k := range []string{"/jobs/b/.x/1", "/jobs/a/b/.x/1", "/jobs/a"} {
		if checkRmKey(layout, k) == nil {
			t.Errorf("checkRmKey(%q) = nil, want a refusal", k)
		}
	}
}

func TestTTLText(t *testing.T) {
	sec := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		e    lsEntry
		want string
	}{
		{lsEntry{TTL: sec(7)}, "7s"},
		{lsEntry{TTL: sec(-1)}, "expired"},
		{lsEntry{}, "none"},
		{lsEntry{Wedges: true}, "none!"},
	} {
		if got := ttlText(tc.e); got != tc.want {
			t.Errorf("ttlText(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"host/1 sleep 5": "host/1 sleep 5",
		"a\nb":           `"a\nb"`,
		"a\tb":           `"a\tb"`,
		"ünï":            "ünï",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCapacity(t *testing.T) {
	entries := []lsEntry{
		{State: stateHolding, Mode: "exclusive"},
		{State: stateHolding, Limit: 8, Weight: 3},
		{State: stateHolding, Limit: 8, Weight: 1},
		{State: stateWaiting, Limit: 8, Weight: 4},
		{State: stateWaiting, Limit: 2, Weight: 1},
	}
	got := capacity(entries)
	want := []lsCapacity{{Limit: 8, InUse: 4}, {Limit: 2, InUse: 0}}
	if !slices.Equal(got, want) {
		t.Errorf("capacity = %+v, want %+v", got, want)
	}
}
