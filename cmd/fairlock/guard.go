package main

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// guardArg, as fairlock's first argument, runs the group guard instead of
// the command line (a hidden mode: it is not a command for users).
const guardArg = "__fairlock-group-guard"

// guardDone is what fairlock writes to its guard once the command's group
// is empty: the guard then exits without doing anything.
const guardDone = "done\n"

// guard is a small process of fairlock's own that outlives it: if fairlock
// dies without a chance to stop the command (SIGKILL, the OOM killer), the
// kernel kills the command's first process (the parent-death signal), and
// the guard kills the rest of its process group. It learns of fairlock's
// death from its stdin, a pipe from fairlock that closes when fairlock
// dies.
type guard struct {
	cmd *exec.Cmd
	w   *os.File
}

// startGuard starts a guard, before the command starts, so that no moment
// of the command's run is unguarded; watch names the group to guard. Nil
// if it cannot be started (the command then runs without one).
func startGuard() *guard {
	cmd, err := selfCmd(guardArg)
	if err != nil {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	defer r.Close()
	cmd.Stdin = r
	// A group of its own: neither the signals fairlock passes on to the
	// command's group nor a Ctrl-C at the terminal reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil
	}
	g := &guard{cmd: cmd, w: w}
	pid := cmd.Process.Pid
	guards.add(pid)
	go func() {
		cmd.Wait()
		guards.remove(pid)
	}()
	return g
}

// guards are the guard processes not reaped yet: fairlock's children, but
// not orphans of a command tree (see child.exclude).
var guards = &pidSet{m: map[int]bool{}}

// pidSet is a set of process ids, safe for concurrent use.
type pidSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func (s *pidSet) add(pid int) {
	s.mu.Lock()
	s.m[pid] = true
	s.mu.Unlock()
}

func (s *pidSet) remove(pid int) {
	s.mu.Lock()
	delete(s.m, pid)
	s.mu.Unlock()
}

// list returns the set's pids.
func (s *pidSet) list() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.m))
	for pid := range s.m {
		out = append(out, pid)
	}
	return out
}

// watch tells the guard the process group to kill if fairlock dies.
func (g *guard) watch(pgid int) {
	if g != nil {
		g.w.WriteString(strconv.Itoa(pgid) + "\n")
	}
}

// release tells the guard that the group is empty; the guard then exits
// by itself, and is reaped in the background. Nil does nothing.
func (g *guard) release() {
	if g == nil {
		return
	}
	g.w.WriteString(guardDone)
	g.w.Close()
}

// runGuard is the guard's process. Its stdin names the process group to
// guard, then says "done" (the group is empty), or closes without (fairlock
// died): then it kills the group, again until it is empty, for at most a
// few seconds.
func runGuard(args []string) int {
	if len(args) != 0 {
		return exitUsage
	}
	// The terminal's signals are fairlock's and the command's business.
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	in := bufio.NewReader(os.Stdin)
	first, _ := in.ReadString('\n')
	pgid, err := strconv.Atoi(strings.TrimSuffix(first, "\n"))
	if err != nil || pgid <= 1 {
		return 0 // fairlock died, or gave up, before the command started
	}
	if line, _ := in.ReadString('\n'); line == guardDone {
		return 0
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err == syscall.ESRCH {
			return 0
		}
		time.Sleep(groupPoll)
	}
	return exitFailure
}
