//go:build linux

package cmd_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// ptyProc is a fairlock run on a pseudo-terminal of a given size, as its
// session leader: what it writes is the screen, and a Ctrl-C typed at the
// terminal sends it SIGINT.
type ptyProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	screen strings.Builder
	done   chan struct{} // the process exited
	copied chan struct{} // all it wrote was read
}

// startInPTY starts fairlock with args on a terminal cols wide and rows
// high. It is killed when the test ends, if still running.
func startInPTY(t *testing.T, cols, rows int, args ...string) *ptyProc {
	t.Helper()
	master, slave := openPTY(t)
	ws := &unix.Winsize{Col: uint16(cols), Row: uint16(rows)}
	if err := control(master, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) }); err != nil {
		master.Close()
		slave.Close()
		t.Fatalf("set the terminal's size: %v", err)
	}
	p := &ptyProc{t: t, master: master, done: make(chan struct{}), copied: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=", "COLUMNS=", "TERM=xterm")
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err := p.cmd.Start()
	slave.Close()
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	go func() {
		defer close(p.copied)
		io.Copy(p, master) // ends with an error once the process has closed the terminal
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		master.Close()
		<-p.copied
	})
	return p
}

// Write takes what the process wrote to the terminal.
func (p *ptyProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.screen.Write(b)
}

// output is all the process wrote so far, with the terminal's CR LF as LF.
func (p *ptyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.screen.String(), "\r\n", "\n")
}

// wait waits for the exit and for all the process wrote, and returns the
// exit code.
func (p *ptyProc) wait() int {
	p.t.Helper()
	for _, ch := range []chan struct{}{p.done, p.copied} {
		select {
		case <-ch:
		case <-time.After(exitTimeout):
			p.t.Fatalf("fairlock %s still running after %v; screen: %q",
				strings.Join(p.cmd.Args[1:], " "), exitTimeout, p.output())
		}
	}
	return p.cmd.ProcessState.ExitCode()
}

// lastFrame returns the lines of the last whole frame that ls --watch drew:
// each starts at the cursor's home and ends with the rest of the screen
// cleared.
func lastFrame(out string) []string {
	end := strings.LastIndex(out, "\x1b[J")
	if end < 0 {
		return nil
	}
	frame := out[strings.LastIndex(out[:end], "\x1b[H")+len("\x1b[H") : end]
	frame = strings.NewReplacer("\x1b[K", "", "\x1b[2J", "", "\x1b[H", "").Replace(frame)
	return strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
}

// row returns the fields of the frame's row for token (PLACE STATE FOR
// MODE TOKEN ...), nil when there is none.
func row(frame []string, token int64) []string {
	for _, l := range frame {
		if f := strings.Fields(l); len(f) > 4 && f[4] == strconv.FormatInt(token, 10) {
			return f
		}
	}
	return nil
}

// On a terminal, ls --watch redraws the line in place as it changes: the
// holder leaves, the waiter is granted. Each frame fits the terminal; the
// holder's time is marked as a bound (it began before the watch), the
// waiter's hold is timed exactly. Ctrl-C ends it with exit 0.
func TestLsWatchRedrawsInATerminal(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release, release2 := filepath.Join(dir, "log"), filepath.Join(dir, "release"), filepath.Join(dir, "release2")
	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	th := startToken(t, log, "holder")
	waiter := start(t, nil, execArgs(nil, name, holdUntil(log, release2, "waiter")...)...)
	waitEntries(t, cli, name, 2)
	tw := lineTokens(t, cli, name)[1]

	const cols, rows = 90, 20
	w := startInPTY(t, cols, rows, "ls", "--watch", name)
	var frame []string
	eventually(t, "a frame with the holder and the waiter", func() bool {
		frame = lastFrame(w.output())
		h, wt := row(frame, th), row(frame, tw)
		return h != nil && wt != nil && h[0] == "1" && h[1] == "holding" && wt[0] == "2" && wt[1] == "waiting"
	})
	if h := row(frame, th); !strings.HasPrefix(h[2], "≥") {
		t.Errorf("the holder's FOR is %q, want a bound (≥): it held before the watch began; frame:\n%s",
			h[2], strings.Join(frame, "\n"))
	}
	if !strings.HasPrefix(frame[0], name+": 1 holding, 1 waiting") {
		t.Errorf("title %q", frame[0])
	}

	writeFile(t, release, "")
	holder.wantExit(0)
	eventually(t, "a frame with the waiter holding", func() bool {
		frame = lastFrame(w.output())
		wt := row(frame, tw)
		return row(frame, th) == nil && wt != nil && wt[0] == "1" && wt[1] == "holding"
	})
	if f := row(frame, tw); strings.HasPrefix(f[2], "≥") {
		t.Errorf("the waiter's FOR is %q, want an exact time: the watch saw the grant", f[2])
	}

	if _, err := w.master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if code := w.wait(); code != 0 {
		t.Fatalf("ls --watch: exit %d after Ctrl-C, want 0; screen:\n%s", code, w.output())
	}
	for _, frame := range strings.Split(w.output(), "\x1b[H") {
		for _, l := range strings.Split(strings.NewReplacer("\x1b[K", "", "\x1b[J", "", "\x1b[2J", "").Replace(frame), "\n") {
			if n := utf8.RuneCountInString(l); n > cols {
				t.Errorf("a line %d wide on a terminal %d wide: %q", n, cols, l)
			}
		}
	}
	writeFile(t, release2, "")
	waiter.wantExit(0)
}

// ls fits a terminal's width: a long VALUE is cut, KEY left out; --wide
// shows them whole, and so does ls into a file.
func TestLsFitsTheTerminal(t *testing.T) {
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	long := append(holdUntil(log, release, "holder"), strings.Repeat("long-argument-", 8))
	holder := start(t, nil, execArgs(nil, name, long...)...)
	startToken(t, log, "holder")
	defer func() {
		writeFile(t, release, "")
		holder.wantExit(0)
	}()
	p, code := run(t, nil, "ls", "--json", name)
	var out lsJSON
	if err := json.Unmarshal([]byte(p.Stdout()), &out); code != 0 || err != nil || len(out.Entries) != 1 {
		t.Fatalf("ls --json: exit %d, %v: %s", code, err, p.Stdout())
	}
	value, key := out.Entries[0].Value, out.Entries[0].Key
	if len(value) < 150 {
		t.Fatalf("value %q: want a long one for this test", value)
	}
	if strings.ContainsAny(value, "\n\t") {
		value = strconv.Quote(value) // as a table shows it: the script has newlines
	}

	const cols = 80
	tty := startInPTY(t, cols, 24, "ls", name)
	if code := tty.wait(); code != 0 {
		t.Fatalf("ls on a terminal: exit %d: %s", code, tty.output())
	}
	lines := strings.Split(strings.TrimSuffix(tty.output(), "\n"), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], "KEY") || !strings.Contains(lines[0], "VALUE") {
		t.Fatalf("ls on a terminal %d wide: want a header without KEY and one row:\n%s", cols, tty.output())
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > cols {
			t.Errorf("%q is %d wide, the terminal %d", l, n, cols)
		}
	}
	if !strings.HasSuffix(lines[1], "…") || !strings.Contains(lines[1], value[:20]) {
		t.Errorf("row %q: want the value's start, cut with …", lines[1])
	}

	tty = startInPTY(t, cols, 24, "ls", "--wide", name)
	if code := tty.wait(); code != 0 {
		t.Fatalf("ls --wide: exit %d: %s", code, tty.output())
	}
	if o := tty.output(); !strings.Contains(o, "KEY") || !strings.Contains(o, key) || !strings.Contains(o, value) {
		t.Errorf("ls --wide on a terminal: want the whole key and value:\n%s", o)
	}
	p, code = run(t, nil, "ls", name)
	if o := p.Stdout(); code != 0 || !strings.Contains(o, key) || !strings.Contains(o, value) {
		t.Errorf("ls into a file: exit %d; want the whole key and value:\n%s", code, o)
	}
}
