//go:build linux

package cmd_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the master, and the slave a
// process takes as its controlling terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := control(m, func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0) }); err != nil {
		m.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	var n int
	err = control(m, func(fd int) (err error) { n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN); return err })
	if err != nil {
		m.Close()
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open slave: %v", err)
	}
	return m, s
}

// control runs op on f's descriptor without f.Fd, which would make f
// blocking: a blocked read of it could then not be ended by Close.
func control(f *os.File, op func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = op(int(fd)) }); err != nil {
		return err
	}
	return opErr
}

// Run in a terminal as its foreground job, fairlock hands the terminal to
// the command's process group: a command that reads the terminal gets
// what is typed, rather than SIGTTIN that would stop it, holding the lock.
func TestExecCommandReadsTheTerminal(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(binary, execArgs(nil, lockName(t), "sh", "-c", `read x; echo "got $x" > `+out)...)
	cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	var screen strings.Builder
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&screen, master) // ends with an error once the slave side is closed
	}()
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		master.Close()
		<-copied
	}()

	eventually(t, "the command to run", func() bool { return commandHasTerminal(t, master) })
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			master.Close()
			<-copied
			t.Fatalf("fairlock: %v; screen: %q", waitErr, screen.String())
		}
	case <-time.After(exitTimeout):
		t.Fatalf("fairlock still running after %v: the command could not read the terminal (out: %q)", exitTimeout, readFile(t, out))
	}
	if got := readFile(t, out); got != "got hello\n" {
		t.Fatalf("the command read %q from the terminal, want %q", got, "got hello\n")
	}
}

// commandHasTerminal reports whether a process in the terminal's foreground group
// other than its session leader runs: the command, given the terminal.
func commandHasTerminal(t *testing.T, master *os.File) bool {
	t.Helper()
	var pgrp, sid int
	err := control(master, func(fd int) (err error) {
		if pgrp, err = unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil {
			return err
		}
		sid, err = unix.IoctlGetInt(fd, unix.TIOCGSID)
		return err
	})
	return err == nil && pgrp != sid
}

// A fairlock run in the background of a terminal leaves it to the
// foreground job: its command, reading the terminal, gets SIGTTIN and
// stops, holding the lock. A SIGTERM to fairlock still ends it, as with
// timeout(1): the forwarded signal is followed by a SIGCONT, which a
// stopped group needs to see it.
func TestExecForwardedSignalReachesAStoppedCommand(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	dir := t.TempDir()
	pidFile, codeFile := filepath.Join(dir, "pid"), filepath.Join(dir, "code")
	// An interactive-like shell on the terminal (job control on) starts
	// fairlock in the background and records its pid and exit code.
	script := `set -m
"$0" exec "$1" -- sh -c 'read x' &
echo $! > "$2"
wait $!
echo $? > "$3"`
	cmd := exec.Command("sh", "-c", script, binary, lockName(t), pidFile, codeFile)
	cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(io.Discard, master)
	}()
	var pid int
	defer func() {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL) // on failure: fairlock, with its command
		}
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		master.Close()
		<-copied
	}()

	eventually(t, "fairlock to start", func() bool {
		n, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
		pid = n
		return err == nil
	})
	// The command stops on SIGTTIN: a process of fairlock's that is in the
	// stopped state (T).
	eventually(t, "the command to stop on SIGTTIN", func() bool { return childStopped(t, pid) })
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fairlock to exit", func() bool { return exists(codeFile) && strings.HasSuffix(readFile(t, codeFile), "\n") })
	if got := strings.TrimSpace(readFile(t, codeFile)); got != "143" {
		t.Fatalf("fairlock exited %s, want 143 (its command ended by the SIGTERM passed on)", got)
	}
}

// childStopped reports whether a child of pid is stopped (state T).
func childStopped(t *testing.T, pid int) bool {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[0] == "T" && f[1] == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

// COMMAND reads fairlock's standard input (consul lock's -pass-stdin is
// fairlock's default).
func TestExecPassesStdin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, execArgs(nil, lockName(t), "sh", "-c", `read x; echo "got $x" > `+out)...)
	cmd.Env = append(os.Environ(), "FAIRLOCK_ENDPOINTS="+endpoints, "ETCDCTL_ENDPOINTS=")
	cmd.Stdin = strings.NewReader("hello\n")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fairlock: %v: %s", err, msg)
	}
	if got := readFile(t, out); got != "got hello\n" {
		t.Fatalf("the command read %q, want %q", got, "got hello\n")
	}
}
