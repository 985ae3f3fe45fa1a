package cmd_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
)

// proxy is a TCP proxy on loopback to the test etcd: a fairlock that talks
// to etcd through it is cut off from etcd, as by a network partition, when
// it is cut (not paused: fairlock runs on), or for a while when it is
// paused.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	paused bool
	wg     sync.WaitGroup
}

// startProxy starts a proxy to the test etcd; it is cut when the test ends.
func startProxy(t *testing.T) *proxy {
	t.Helper()
	u, err := url.Parse(endpoints)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			piped, open := p.track(c, up)
			if !open {
				return
			}
			if !piped {
				continue
			}
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	t.Cleanup(p.cutOff)
	return p
}

// track records a proxied connection to be piped; while cut or paused it
// closes it instead. open is false once cut.
func (p *proxy) track(conns ...net.Conn) (piped, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.paused {
		for _, c := range conns {
			c.Close()
		}
		return false, !p.cut
	}
	p.conns = append(p.conns, conns...)
	return true, true
}

// pause closes every connection through the proxy and refuses new ones
// until resume: its fairlock is cut off from etcd, and reconnects once the
// proxy is resumed.
func (p *proxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// resume lets connections through again after pause.
func (p *proxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// endpoint is the proxy's address, as an etcd endpoint.
func (p *proxy) endpoint() string { return "http://" + p.ln.Addr().String() }

// cutOff closes the proxy and every connection through it, and waits for
// its goroutines.
func (p *proxy) cutOff() {
	p.mu.Lock()
	p.cut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// ignoringTree is a command whose tree ignores SIGTERM (as jobs that flush
// do) and shows signs of life in log: the command writes "<who>" lines, a
// child it started writes "<who> child" lines, every 20 ms.
func ignoringTree(log, who string) []string {
	script := fmt.Sprintf(`exec 2>/dev/null
trap '' TERM
(while :; do echo "%[2]s child" >> %[1]s; sleep 0.02; done) &
while :; do echo "%[2]s" >> %[1]s; sleep 0.02; done`, log, who)
	return []string{"sh", "-c", script}
}

// afterStart returns the lines of log after the first line equal to
// marker, failing the test if there is none.
func afterStart(t *testing.T, log, marker string) (before, after []string) {
	t.Helper()
	got := lines(t, log)
	for i, l := range got {
		if l == marker {
			return got[:i], got[i+1:]
		}
	}
	t.Fatalf("log has no %q line; log: %q", marker, got)
	return nil, nil
}

// A holder cut off from etcd, whose command tree ignores SIGTERM: the tree
// is killed before etcd can expire the lease, so its last sign of life
// comes before the next holder's command starts. Default flags but --ttl,
// several rounds.
func TestExecCutOffHolderStopsBeforeNextHolderStarts(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	for round := 1; round <= 3; round++ {
		log := filepath.Join(t.TempDir(), "log")
		px := startProxy(t)
		a := start(t, nil, append([]string{"--endpoints", px.endpoint()},
			execArgs([]string{"--ttl", "3s"}, name, ignoringTree(log, "a")...)...)...)
		eventually(t, "the holder's tree to run", func() bool {
			return strings.Contains(readFile(t, log), "a child\n")
		})
		b := start(t, nil, execArgs([]string{"--ttl", "3s"}, name, "sh", "-c", `echo "b start" >> `+log)...)
		waitEntries(t, cli, name, 2)
		cut := time.Now()
		px.cutOff()
		b.wantExit(0)
		bDone := time.Since(cut)
		a.wantExit(1)
		t.Logf("round %d: the next holder ran and exited %v after the cut; the cut-off holder exited %v after it",
			round, bDone.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
		if msg := a.Stderr(); !strings.Contains(msg, "lost the lock on "+name) || !strings.Contains(msg, "SIGKILL") {
			t.Errorf("round %d: holder's stderr %q, want a lost lock and a SIGKILL", round, msg)
		}
		before, after := afterStart(t, log, "b start")
		if len(after) > 0 {
			t.Fatalf("round %d: the cut-off holder's tree ran on into the next turn: %d lines after b start, first %q",
				round, len(after), after[0])
		}
		if !strings.Contains(strings.Join(before, "\n"), "a child") {
			t.Fatalf("round %d: no sign of the holder's child before b start", round)
		}
	}
	waitEntries(t, cli, name, 0)
}

// A command that exits leaving a child behind (job &), a child that ignores
// SIGTERM: the child is stopped before the lock is released, so it is gone
// before the next holder's command starts.
func TestExecBackgroundChildIsGoneBeforeNextHolderStarts(t *testing.T) {
	name := lockName(t)
	log := filepath.Join(t.TempDir(), "log")
	script := fmt.Sprintf(`(exec 2>/dev/null; trap '' TERM; while :; do echo "a child" >> %[1]s; sleep 0.02; done) &
while ! grep -q "a child" %[1]s 2>/dev/null; do sleep 0.02; done
echo "a done" >> %[1]s`, log)
	a := start(t, nil, execArgs([]string{"--ttl", "3s"}, name, "sh", "-c", script)...)
	eventually(t, "the holder's child to run", func() bool { return strings.Contains(readFile(t, log), "a done\n") })
	b := start(t, nil, execArgs([]string{"--ttl", "3s"}, name, "sh", "-c", `echo "b start" >> `+log)...)
	a.wantExit(0)
	b.wantExit(0)
	if _, after := afterStart(t, log, "b start"); len(after) > 0 {
		t.Fatalf("the finished command's child ran on into the next turn: %q", after)
	}
	// A child that heeds SIGTERM goes at once, without the grace period.
	log2 := filepath.Join(t.TempDir(), "log")
	began := time.Now()
	p, code := run(t, nil, execArgs([]string{"--grace", "5s"}, name, "sh", "-c", `sleep 60 & echo started >> `+log2)...)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, p.Stderr())
	}
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("a background child that heeds SIGTERM took %v to stop", took)
	}
}

// elect --rotate: each term's command tree, which ignores SIGTERM and
// leaves a child, is gone before the next leader's command starts.
func TestElectRotateStopsTheTreeBeforeTheLeadPasses(t *testing.T) {
	name := lockName(t)
	dir := t.TempDir()
	log, stop := filepath.Join(dir, "log"), filepath.Join(dir, "stop")
	candidate := func(who string) *proc {
		// Both loops end once the file stop exists, so that the test can
		// end the candidates: they ignore the SIGTERM fairlock passes on.
		script := fmt.Sprintf(`exec 2>/dev/null
echo "start %[2]s" >> %[1]s
trap '' TERM
(while [ ! -e %[3]s ]; do echo "%[2]s" >> %[1]s; sleep 0.02; done) &
while [ ! -e %[3]s ]; do echo "%[2]s" >> %[1]s; sleep 0.02; done`, log, who, stop)
		return start(t, nil, "elect", "--ttl", "3s", "--rotate", "1s", name, "--", "sh", "-c", script)
	}
	a := candidate("a")
	eventually(t, "a to lead", func() bool { return strings.Contains(readFile(t, log), "start a\n") })
	b := candidate("b")
	eventually(t, "five terms", func() bool { return strings.Count(readFile(t, log), "start ") >= 5 })
	writeFile(t, stop, "")
	a.wantExit(0)
	b.wantExit(0)
	leader := ""
	terms := 0
	for i, l := range lines(t, log) {
		if who, ok := strings.CutPrefix(l, "start "); ok {
			leader = who
			terms++
			continue
		}
		if l != leader {
			t.Fatalf("line %d: %q ran in %q's term %d", i, l, leader, terms)
		}
	}
	if terms < 5 {
		t.Fatalf("%d terms, want at least 5", terms)
	}
}

// rm --token deletes only the hold it names: a reused key, now another
// hold's, is left alone; without a token, a live session's key is refused
// unless --force.
func TestRmIsFencedByToken(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := fairmutex.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	lock := func() (string, int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		return m.Key(), m.Token()
	}
	unlock := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	key1, token1 := lock()
	unlock()
	key2, token2 := lock()
	if key2 != key1 || token2 == token1 {
		t.Fatalf("second hold %s/%d, first %s/%d: want the key reused under a new token", key2, token2, key1, token1)
	}

	p, code := run(t, nil, "rm", name, key1, "--token", fmt.Sprint(token1))
	if code != 1 {
		t.Fatalf("rm with a stale token: exit %d, want 1; stdout %q", code, p.Stdout())
	}
	oneLine(t, "stderr", p.Stderr())
	if !strings.Contains(p.Stderr(), "deleted nothing") {
		t.Errorf("stderr %q does not say it deleted nothing", p.Stderr())
	}
	if got := keysUnder(t, cli, name+"/."); len(got) != 1 {
		t.Fatalf("line after a stale rm = %q, want the new hold's key", got)
	}
	select {
	case <-m.Done():
		t.Fatal("a stale rm ended the new hold")
	default:
	}

	p, code = run(t, nil, "rm", name, key2)
	if code != 1 || !strings.Contains(p.Stderr(), fmt.Sprintf("--token %d", token2)) {
		t.Fatalf("rm of a live key without a token: exit %d, stderr %q; want 1 and the --token to give", code, p.Stderr())
	}
	if got := keysUnder(t, cli, name+"/."); len(got) != 1 {
		t.Fatalf("line after a refused rm = %q, want the hold's key", got)
	}

	p, code = run(t, nil, "rm", name, key2, "--token", fmt.Sprint(token2))
	if code != 0 || !strings.Contains(p.Stdout(), "removed") {
		t.Fatalf("rm with the right token: exit %d, stdout %q, stderr %q", code, p.Stdout(), p.Stderr())
	}
	select {
	case <-m.Done():
	case <-time.After(stateTimeout):
		t.Fatal("the removed hold's Done did not close")
	}
	waitEntries(t, cli, name, 0)
}

// --try --quiet on a busy lock prints nothing (cron mails any output) and
// exits 75.
func TestExecTryQuietPrintsNothing(t *testing.T) {
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })
	p, code := run(t, nil, execArgs([]string{"--try", "--quiet"}, name, "true")...)
	if code != 75 || p.Stderr() != "" || p.Stdout() != "" {
		t.Fatalf("--try --quiet on a busy lock: exit %d, stdout %q, stderr %q; want 75 and nothing", code, p.Stdout(), p.Stderr())
	}
	writeFile(t, release, "")
	holder.wantExit(0)
}

// --verbose reports waiting, the grant with its token, and the release.
func TestExecVerboseReportsProgress(t *testing.T) {
	name := lockName(t)
	p, code := run(t, nil, execArgs([]string{"--verbose"}, name, "true")...)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, p.Stderr())
	}
	for _, want := range []string{"waiting for " + name, "granted " + name + " (token ", "released " + name} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("stderr %q does not contain %q", p.Stderr(), want)
		}
	}
}

func TestVersion(t *testing.T) {
	p, code := run(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(p.Stdout(), "fairlock version ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, p.Stdout(), p.Stderr())
	}
}

// With --etcd-mutex-interop, exec waits for a holder of etcd's own mutex
// (what etcdctl lock takes) on the same name; ls warns of such holders.
func TestExecEtcdMutexInteropWaitsForEtcdctlLock(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	ran := filepath.Join(t.TempDir(), "ran")
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	em := concurrency.NewMutex(s, name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := em.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	p, code := run(t, nil, "ls", name)
	if code != 0 || !strings.Contains(p.Stderr(), "--etcd-mutex-interop") {
		t.Errorf("ls with an etcd mutex holder: exit %d, stderr %q; want a warning naming --etcd-mutex-interop", code, p.Stderr())
	}

	w := start(t, nil, execArgs([]string{"--etcd-mutex-interop"}, name, "touch", ran)...)
	waitEntries(t, cli, name, 1) // its entry, in line behind the etcd mutex's key
	// Waiting: nothing runs while the etcd mutex is held. A --try says so
	// at once.
	p, code = run(t, nil, execArgs([]string{"--etcd-mutex-interop", "--try", "--quiet"}, name, "true")...)
	if code != 75 {
		t.Fatalf("--try behind an etcdctl lock holder: exit %d, want 75; stderr %q", code, p.Stderr())
	}
	if exists(ran) || w.exited() {
		t.Fatal("exec --etcd-mutex-interop ran while etcd's mutex was held")
	}
	if err := em.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	w.wantExit(0)
	if !exists(ran) {
		t.Fatal("exec exited 0 without running its command")
	}
}

// procAlive reports whether process pid runs: it exists and is not a
// zombie (an orphan's zombie waits for whatever reaps orphans here).
func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// If fairlock itself is killed (SIGKILL: no chance to stop anything), its
// command dies with it (the parent-death signal), and so does the rest of
// the command's process group (fairlock's guard process).
func TestExecKilledFairlockTakesTheGroupWithIt(t *testing.T) {
	name := lockName(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	a := start(t, nil, execArgs(nil, name, "sh", "-c", `sleep 1000 & echo $! > `+pidFile+`; wait`)...)
	var pid int
	eventually(t, "the command's child to start", func() bool {
		n, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
		pid = n
		return err == nil && n > 0
	})
	if !procAlive(pid) {
		t.Fatalf("the command's child (pid %d) is not running", pid)
	}
	a.signal(syscall.SIGKILL)
	a.wait()
	eventually(t, "the command's child to be gone", func() bool { return !procAlive(pid) })
}
