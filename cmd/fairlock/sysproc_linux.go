package main

import (
	"bytes"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// sysProcAttr puts the command in a process group of its own, and has the
// kernel kill it if fairlock dies first (SIGKILL leaves fairlock no chance
// to stop it, and its hold ends within the session TTL). With tty, the
// group is also made the terminal's foreground job.
func sysProcAttr(tty *terminal) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if tty != nil {
		a.Foreground, a.Ctty = true, tty.fd
	}
	return a
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

var subreaperOnce sync.Once

// becomeSubreaper makes fairlock the reaper of the orphans of the command
// tree: a process whose parent exits is adopted by fairlock rather than by
// init, so that fairlock still knows it (and stops it) when it left the
// command's process group (setsid, a daemon's double fork). As PID 1 of a
// PID namespace fairlock adopts them anyway.
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// procInfo is a process as /proc/PID/stat shows it.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte
}

// zombie reports whether the process has exited (and waits to be reaped).
func (p procInfo) zombie() bool { return p.state == 'Z' || p.state == 'X' || p.state == 'x' }

// parseStat parses the head of a /proc/PID/stat line: "pid (comm) S ppid
// pgrp ...", where comm may hold spaces and parentheses.
func parseStat(b []byte) (procInfo, bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return procInfo{}, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procInfo{}, false
	}
	f := bytes.Fields(b[end+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0][0]}, true
}

// procUsable reports whether /proc shows this process's PID namespace (it
// does not under "unshare --pid --fork" without --mount-proc).
func procUsable() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// scanProcs lists the processes in /proc; ok is false when /proc cannot
// be used.
func scanProcs() (procs []procInfo, ok bool) {
	if !procUsable() {
		return nil, false
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil, false
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, false
	}
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if p, ok := parseStat(b); ok {
			procs = append(procs, p)
		}
	}
	return procs, true
}

// treeOf sorts the processes of a command tree out of procs: alive is
// whether any process of the group pgid, or any child of self other than
// those in exclude (the command's first process, fairlock's own helpers),
// is alive; adopted are those children, alive; zombies are the children
// of self, other than exclude, that wait to be reaped.
func treeOf(procs []procInfo, self, pgid int, exclude []int) (alive bool, adopted, zombies []int) {
	excluded := func(pid int) bool {
		for _, e := range exclude {
			if e == pid {
				return true
			}
		}
		return false
	}
	for _, p := range procs {
		ours := p.ppid == self && !excluded(p.pid)
		switch {
		case p.zombie():
			if ours {
				zombies = append(zombies, p.pid)
			}
		case p.pgrp == pgid:
			alive = true
		case ours:
			alive = true
			adopted = append(adopted, p.pid)
		}
	}
	return alive, adopted, zombies
}

// treeState reaps the command tree's zombies that are fairlock's children
// and reports whether anything of it is alive, and which processes outside
// the group fairlock adopted. Without a usable /proc, zombies of the group
// count as alive, as kill(2) finds them.
func treeState(pgid int, exclude []int) (alive bool, adopted []int) {
	procs, ok := scanProcs()
	if !ok {
		err := syscall.Kill(-pgid, 0)
		return err == nil || err == syscall.EPERM, nil
	}
	alive, adopted, zombies := treeOf(procs, os.Getpid(), pgid, exclude)
	for _, pid := range zombies {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
	return alive, adopted
}

// terminal is the controlling terminal on fairlock's stdin, when fairlock
// is its foreground job: the command's group gets it while it runs.
type terminal struct {
	fd       int
	pgrp     int // fairlock's own process group, the foreground job before
	mu       sync.Mutex
	restored bool
}

// foregroundTerminal returns the terminal on stdin if fairlock's process
// group is its foreground job, else nil.
func foregroundTerminal() *terminal {
	var fg int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg))); errno != 0 {
		return nil // not a terminal
	}
	if int(fg) != syscall.Getpgrp() {
		return nil // a background job, or a terminal fairlock does not control
	}
	return &terminal{fd: 0, pgrp: syscall.Getpgrp()}
}

// restore makes fairlock's process group the terminal's foreground job
// again. Idempotent; nil does nothing.
func (t *terminal) restore() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.restored {
		return
	}
	t.restored = true
	// A background job that sets the foreground group gets SIGTTOU unless
	// it ignores it.
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	pgrp := int32(t.pgrp)
	_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, uintptr(t.fd), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&pgrp)))
}

// selfPath is the running fairlock's executable: /proc/self/exe, which
// names the running binary even once its file was replaced or removed;
// os.Executable when /proc is not there.
func selfPath() (string, error) {
	const exe = "/proc/self/exe"
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	return os.Executable()
}
