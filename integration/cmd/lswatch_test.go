package cmd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// piped is a fairlock whose standard output is a pipe, read a line at a
// time as it comes, as a log shipper reads it.
type piped struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr string // a file: see proc
	mu     sync.Mutex
	out    []string
	done   chan struct{} // the process exited and its output was read
}

// startPiped starts fairlock with args, its standard output a pipe; the
// process is killed when the test ends, if still running.
func startPiped(t *testing.T, args ...string) *piped {
	t.Helper()
	p := &piped{t: t, stderr: filepath.Join(t.TempDir(), "stderr"), done: make(chan struct{})}
	stderr, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=")
	p.cmd.Stdout, p.cmd.Stderr = w, stderr
	err = p.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("start fairlock %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
		}
		r.Close()
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// lines returns the lines read so far.
func (p *piped) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// waitLine waits for a line that matches re and returns its submatches.
func (p *piped) waitLine(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	var m []string
	eventually(p.t, fmt.Sprintf("a line matching %s; stderr: %s", re, readFile(p.t, p.stderr)), func() bool {
		for _, l := range p.lines() {
			if m = rx.FindStringSubmatch(l); m != nil {
				return true
			}
		}
		return false
	})
	return m
}

// stop sends sig and waits for the exit; it fails the test unless the
// exit code is 0.
func (p *piped) stop(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.t.Fatalf("ls --watch still running %v after %v", exitTimeout, sig)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("ls --watch: exit %d after %v, want 0; stderr: %s", code, sig, readFile(p.t, p.stderr))
	}
}

// startToken is the token of who's hold, once holdUntil's command logged
// its start.
func startToken(t *testing.T, log, who string) int64 {
	t.Helper()
	var token int64
	eventually(t, who+" to start", func() bool {
		for _, l := range lines(t, log) {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "start" && f[1] == who {
				token, _ = strconv.ParseInt(f[2], 10, 64)
				return true
			}
		}
		return false
	})
	return token
}

// lineTokens returns the tokens of the entries of name's line, oldest
// first.
func lineTokens(t *testing.T, cli *clientv3.Client, name string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, name+"/.", clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, kv := range resp.Kvs {
		out = append(out, kv.CreateRevision)
	}
	return out
}

// Not on a terminal, ls --watch prints one line per event, as it happens:
// the line as the watch began, a waiter joining, the holder leaving (its
// time a bound: it held before the watch began), the waiter granted (its
// wait timed exactly: the watch saw it all), and leaving. SIGTERM ends it
// with exit 0.
func TestLsWatchPrintsOneLinePerEventToAPipe(t *testing.T) {
	name := lockName(t)
	dir := t.TempDir()
	log, release, release2 := filepath.Join(dir, "log"), filepath.Join(dir, "release"), filepath.Join(dir, "release2")
	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	th := startToken(t, log, "holder")

	w := startPiped(t, "ls", "--watch", name)
	w.waitLine(`^\S+ watching name=` + regexp.QuoteMeta(name) + ` entries=1$`)
	w.waitLine(fmt.Sprintf(`^\S+ holding place=1 mode=exclusive token=%d key=\S+ value=`, th))

	waiter := start(t, nil, execArgs(nil, name, holdUntil(log, release2, "waiter")...)...)
	m := w.waitLine(`^\S+ joined place=2 mode=exclusive token=(\d+) key=`)
	tw, _ := strconv.ParseInt(m[1], 10, 64)
	if tw <= th {
		t.Fatalf("waiter's token %d not above the holder's %d", tw, th)
	}

	writeFile(t, release, "")
	holder.wantExit(0)
	w.waitLine(fmt.Sprintf(`^\S+ left place=1 mode=exclusive token=%d held=≥[0-9.]+s key=`, th))
	w.waitLine(fmt.Sprintf(`^\S+ granted place=1 mode=exclusive token=%d waited=[0-9.]+s key=`, tw))
	if got := startToken(t, log, "waiter"); got != tw {
		t.Fatalf("the waiter ran with token %d, ls said %d was granted", got, tw)
	}
	writeFile(t, release2, "")
	waiter.wantExit(0)
	w.waitLine(fmt.Sprintf(`^\S+ left place=1 mode=exclusive token=%d held=[0-9.]+s key=`, tw))
	w.stop(syscall.SIGTERM)

	var events []string
	for _, l := range w.lines() {
		f := strings.Fields(l)
		if _, err := time.Parse("2006-01-02T15:04:05.000Z07:00", f[0]); err != nil {
			t.Errorf("line %q does not start with its time: %v", l, err)
		}
		events = append(events, f[1])
	}
	if got, want := strings.Join(events, " "), "watching holding joined left granted left"; got != want {
		t.Errorf("events %q, want %q; lines:\n%s", got, want, strings.Join(w.lines(), "\n"))
	}
	if s := readFile(t, w.stderr); s != "" {
		t.Errorf("stderr: %s", s)
	}
}

// watchJSON is one line of ls --watch --json, as a script reads it.
type watchJSON struct {
	Event  string   `json:"event"`
	Name   string   `json:"name"`
	State  string   `json:"state"`
	Token  int64    `json:"token"`
	Waited *float64 `json:"waited"`
	Held   *float64 `json:"held"`
	Exact  bool     `json:"exact"`
	Reason string   `json:"reason"`
}

// Cut off from etcd, ls --watch cannot know when what changed meanwhile
// happened (and once etcd has compacted that history, cannot even replay
// it): it reads the line again, says so (resync), and reports the changes
// with times that are only bounds. It says on stderr why it watches again.
func TestLsWatchReadsAgainAfterAnOutage(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release, release2 := filepath.Join(dir, "log"), filepath.Join(dir, "release"), filepath.Join(dir, "release2")
	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	th := startToken(t, log, "holder")

	px := startProxy(t)
	w := startPiped(t, "--endpoints", px.endpoint(), "ls", "--watch", "--json", name)
	w.waitLine(fmt.Sprintf(`"event":"holding".*"token":%d,`, th))

	px.pause()
	waiter := start(t, nil, execArgs(nil, name, holdUntil(log, release2, "waiter")...)...)
	waitEntries(t, cli, name, 2)
	writeFile(t, release, "")
	holder.wantExit(0)
	tw := startToken(t, log, "waiter")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	px.resume()

	w.waitLine(`"event":"resync".*"reason":"`)
	w.waitLine(fmt.Sprintf(`"event":"granted".*"token":%d,`, tw))
	writeFile(t, release2, "")
	waiter.wantExit(0)
	w.waitLine(fmt.Sprintf(`"event":"left".*"token":%d,`, tw))
	// Cut off again, ls still ends at once: it does not wait out its
	// session's TTL (10s) to revoke a lease that holds nothing.
	px.pause()
	begin := time.Now()
	w.stop(syscall.SIGINT)
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("ls --watch cut off from etcd took %v to end after SIGINT", took)
	}
	if s := readFile(t, w.stderr); !strings.Contains(s, "watching again") {
		t.Errorf("stderr %q: want why ls watches again", s)
	}

	var evs []watchJSON
	for _, l := range w.lines() {
		var ev watchJSON
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if ev.Name != name {
			t.Errorf("line %q: name %q, want %s", l, ev.Name, name)
		}
		evs = append(evs, ev)
	}
	var got []string
	for _, ev := range evs[1:] { // after "watching"
		s := ev.Event
		if ev.Token != 0 {
			s += " " + strconv.FormatInt(ev.Token, 10)
		}
		if ev.Waited != nil || ev.Held != nil {
			s += " exact=" + strconv.FormatBool(ev.Exact)
		}
		got = append(got, s)
	}
	want := []string{
		fmt.Sprintf("holding %d", th),
		"resync",
		fmt.Sprintf("left %d exact=false", th),
		fmt.Sprintf("joined %d", tw),
		fmt.Sprintf("granted %d exact=false", tw),
		fmt.Sprintf("left %d exact=false", tw),
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
}
