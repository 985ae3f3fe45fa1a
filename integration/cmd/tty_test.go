//go:build linux

package cmd_test

import (
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
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
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
	pgrp, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	sid, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGSID)
	return err == nil && pgrp != sid
}
