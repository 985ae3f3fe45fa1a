package main

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Polling periods of the supervision.
const (
	// groupPoll is how often a stop checks whether the command's process
	// group is empty once its first process has exited.
	groupPoll = 20 * time.Millisecond
	// unknownPoll is how often HeldUntil is read again while it is not
	// known yet (the zero time, right after a session's first grant).
	unknownPoll = 100 * time.Millisecond
)

// childSpec is a command to run under a hold, and what it is tied to.
type childSpec struct {
	argv, env []string
	// sigs are forwarded to the command's process group (with a SIGCONT
	// after them, so that a stopped group sees them).
	sigs <-chan os.Signal
	// lost closes when the hold ends.
	lost <-chan struct{}
	// heldUntil is the hold's HeldUntil: the command's group gets SIGTERM
	// once it is less than grace away, and SIGKILL when it comes. The zero
	// time is "not known yet", never "expired". Nil: no deadline.
	heldUntil func() time.Time
	// grace is how long the group has between SIGTERM and SIGKILL.
	grace time.Duration
	// verbose, when set, is told of the stops.
	verbose func(format string, args ...any)
}

// outcome is how a supervised command ended.
type outcome struct {
	state    *os.ProcessState
	lost     bool // the hold ended, and the command was stopped for it
	expiring bool // no renewal came in time: stopped before the lease could expire
	stopped  bool // stopped on request (StopGracefully: elect's --rotate)
	killed   bool // stopping it took SIGKILL
	// killedAtEnd: the SIGKILL came when the hold's HeldUntil did, before
	// the grace period was over.
	killedAtEnd bool
	leftover    bool // the command exited leaving processes in its group, which were stopped
}

// child is a command running in a process group of its own under a hold.
type child struct {
	spec     childSpec
	cmd      *exec.Cmd
	pgid     int
	exited   chan struct{} // closed once the first process is reaped
	stopReq  chan struct{}
	stopOnce sync.Once
	tty      *terminal // non-nil: the group has the terminal
	guard    *guard    // kills the group if fairlock dies; nil if it could not start
}

// startChild starts spec.argv in a process group of its own, with spec.env
// and the standard streams of fairlock. When fairlock is the foreground job
// of the terminal on its stdin, the command's group is made the foreground
// job instead, so that it can read the terminal. An error means the
// command did not start; nothing is left running.
//
// The caller must call wait, on the same goroutine (the parent-death
// signal is tied to the thread that started the command).
func startChild(spec childSpec) (*child, error) {
	path, err := exec.LookPath(spec.argv[0])
	if err != nil {
		return nil, err
	}
	// The command starts as fairlock's trampoline, which execs it once the
	// guard knows its group (trampoline.go says why).
	cmd, ahead := trampolineCmd(path, spec.argv)
	runtime.LockOSThread()
	cmd.Env = spec.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	tty := foregroundTerminal()
	cmd.SysProcAttr = sysProcAttr(tty)
	g := startGuard()
	if err := cmd.Start(); err != nil {
		goAhead(ahead, cmd, false)
		g.release()
		runtime.UnlockOSThread()
		return nil, err
	}
	c := &child{
		spec:    spec,
		cmd:     cmd,
		pgid:    cmd.Process.Pid, // Setpgid: the group is named after its first process
		exited:  make(chan struct{}),
		stopReq: make(chan struct{}),
		tty:     tty,
	}
	c.guard = g
	g.watch(c.pgid)
	goAhead(ahead, cmd, true)
	go func() {
		cmd.Wait() // its error is in ProcessState
		close(c.exited)
	}()
	return c, nil
}

// StopGracefully asks the supervision to stop the command's whole process
// group: SIGTERM now, SIGKILL after the grace period (or when the hold's
// HeldUntil comes, if sooner). It returns at once; wait returns once the
// group is empty, with outcome.stopped set. Safe to call from any
// goroutine, any number of times; after wait has returned it does nothing.
// A yield request, or elect's --rotate, stops the command through it.
func (c *child) StopGracefully() {
	c.stopOnce.Do(func() { close(c.stopReq) })
}

// wait supervises the command until nothing of its process group is left
// alive (zombies do not count), and returns how it ended:
//
//   - signals from spec.sigs are passed on to the group, followed by a
//     SIGCONT;
//   - once no renewal has moved HeldUntil past now+grace, the group gets
//     SIGTERM, and SIGKILL at HeldUntil at the latest;
//   - when the hold is lost or StopGracefully is called, the group gets
//     SIGTERM, and SIGKILL after the grace period (or at HeldUntil);
//   - when the command's first process exits, whatever is left in its
//     group gets SIGTERM, and SIGKILL after the grace period (or at
//     HeldUntil): wait returns only once the group is empty, so that the
//     hold is released only then.
func (c *child) wait() outcome {
	defer runtime.UnlockOSThread()
	defer c.guard.release() // the group is empty by then
	defer c.tty.restore()

	var (
		o          outcome
		exited     = c.exited
		firstGone  bool
		terminated bool
		termAt     time.Time // SIGTERM sent then
		until      time.Time // the last HeldUntil known (non-zero)
		stopReq    = c.stopReq
		lost       = c.spec.lost
		timer      = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	readUntil := func() {
		if c.spec.heldUntil == nil {
			return
		}
		if u := c.spec.heldUntil(); !u.IsZero() && u.After(until) {
			until = u
		}
	}
	terminate := func(now time.Time, why string) {
		if terminated {
			return
		}
		terminated, termAt = true, now
		if c.spec.verbose != nil {
			c.spec.verbose("%s: SIGTERM to the command's process group", why)
		}
		c.signalTree(syscall.SIGTERM)
		c.signalTree(syscall.SIGCONT)
	}
	for {
		now := time.Now()
		readUntil()
		if firstGone && !c.treeAlive() {
			return o
		}
		term, kill := stopAction(now, until, c.spec.grace, terminated, termAt, o.killed)
		if term {
			o.expiring = true
			terminate(now, "no renewal of the session's lease in time")
		}
		if o.killed && firstGone {
			// Orphans adopted since (a daemon whose parent just died)
			// get the same.
			c.signalTree(syscall.SIGKILL)
		}
		if kill {
			o.killed = true
			o.killedAtEnd = !until.IsZero() && !now.Before(until) && now.Before(termAt.Add(c.spec.grace))
			if c.spec.verbose != nil {
				c.spec.verbose("SIGKILL to the command's process group")
			}
			c.signalTree(syscall.SIGKILL)
		}
		timer.Reset(c.nextWake(now, firstGone, terminated, o.killed, termAt, until))

		select {
		case <-exited:
			exited = nil
			firstGone = true
			o.state = c.cmd.ProcessState
			c.tty.restore() // fairlock takes the terminal back at once
			if c.treeAlive() {
				// Nothing of this hold may run on after its release.
				if !terminated && !o.stopped && !o.lost {
					o.leftover = true
				}
				terminate(time.Now(), "the command exited, leaving processes in its group")
			}
		case sig := <-c.spec.sigs:
			s := sig.(syscall.Signal)
			c.signalTree(s)
			if s != syscall.SIGCONT {
				c.signalTree(syscall.SIGCONT) // as timeout(1): a stopped group sees it
			}
		case <-lost:
			lost = nil
			o.lost = true
			terminate(time.Now(), "the hold ended")
		case <-stopReq:
			stopReq = nil
			o.stopped = true
			terminate(time.Now(), "stopping the command")
		case <-timer.C:
		}
	}
}

// stopAction decides, at now, what the hold's deadline and a stop under
// way ask for: term, SIGTERM to the group (no renewal has moved until, the
// last HeldUntil known, past now+grace); kill, SIGKILL (grace has passed
// since the SIGTERM at termAt, or until has come). A zero until is not
// known yet, and asks for nothing.
func stopAction(now, until time.Time, grace time.Duration, terminated bool, termAt time.Time, killed bool) (term, kill bool) {
	if !terminated && !until.IsZero() && !now.Before(until.Add(-grace)) {
		term, terminated, termAt = true, true, now
	}
	if terminated && !killed {
		killAt := termAt.Add(grace)
		if !until.IsZero() && until.Before(killAt) {
			killAt = until
		}
		kill = !now.Before(killAt)
	}
	return term, kill
}

// nextWake is how long the supervision may sleep before it must look
// again at the hold's deadline or the group.
func (c *child) nextWake(now time.Time, firstGone, terminated, killed bool, termAt, until time.Time) time.Duration {
	next := time.Hour
	consider := func(d time.Duration) {
		if d < next {
			next = d
		}
	}
	if firstGone || (terminated && killed) {
		consider(groupPoll)
	}
	if c.spec.heldUntil != nil && until.IsZero() {
		consider(unknownPoll)
	}
	if !until.IsZero() {
		if !terminated {
			consider(until.Add(-c.spec.grace).Sub(now))
		}
		consider(until.Sub(now))
	}
	if terminated && !killed {
		consider(termAt.Add(c.spec.grace).Sub(now))
	}
	return max(next, time.Millisecond)
}

// signalTree sends sig to the command's process group, and to the
// processes of the command tree that left it and were adopted by fairlock
// (see becomeSubreaper).
func (c *child) signalTree(sig syscall.Signal) {
	// ESRCH: the group is empty already.
	_ = syscall.Kill(-c.pgid, sig)
	_, adopted := treeState(c.pgid, c.exclude())
	for _, pid := range adopted {
		_ = syscall.Kill(pid, sig)
	}
}

// treeAlive reports whether any process of the command's group, or any
// process fairlock adopted from it, is alive. Zombies do not count; those
// that are fairlock's children are reaped on the way.
func (c *child) treeAlive() bool {
	alive, _ := treeState(c.pgid, c.exclude())
	return alive
}

// exclude are fairlock's children that are not the command tree's orphans.
func (c *child) exclude() []int { return append(guards.list(), c.cmd.Process.Pid) }

// startExitCode maps a failure to start the command to 127 (not found) or
// 126 (found, not runnable), as shells do.
func startExitCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return exitNotFound
	}
	return exitCannot
}

// stateExitCode is childExitCode for a finished process.
func stateExitCode(ps *os.ProcessState) int {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	return childExitCode(ws.Exited(), ws.ExitStatus(), ws.Signaled(), ws.Signal())
}
