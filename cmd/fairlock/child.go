package main

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// groupPoll is how often a stop checks whether the command's process group
// is empty once its first process has exited.
const groupPoll = 20 * time.Millisecond

// outcome is how a supervised command ended.
type outcome struct {
	state   *os.ProcessState
	lost    bool // the hold was lost, and the command stopped for it
	stopped bool // the command was stopped on request (elect's --rotate)
	killed  bool // stopping it took SIGKILL, after the grace period
}

// runChild starts argv in a process group of its own with env and the
// standard streams of fairlock, then supervises it until it exits:
// signals from sigs are forwarded to the group; when lost closes or stop
// fires (a nil stop never does), the group gets SIGTERM, and SIGKILL once
// grace has passed (the group's other processes too, when the first one
// exits in the meantime). An error means the command did not start.
func runChild(argv, env []string, sigs <-chan os.Signal, lost <-chan struct{}, stop <-chan time.Time, grace time.Duration) (outcome, error) {
	// The parent-death signal (Linux) is tied to the thread that started
	// the command: keep that thread for as long as the command runs.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return outcome{}, err
	}
	pgid := cmd.Process.Pid // Setpgid: the group is named after its first process
	done := make(chan struct{})
	go func() {
		cmd.Wait() // its error is in ProcessState
		close(done)
	}()

	var o outcome
	var graceTimer *time.Timer
	var graceC <-chan time.Time
	var deadline time.Time
	defer func() {
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	terminate := func() {
		if graceTimer != nil {
			return // already under way
		}
		deadline = time.Now().Add(grace)
		signalGroup(pgid, syscall.SIGTERM)
		graceTimer = time.NewTimer(grace)
		graceC = graceTimer.C
	}
	for {
		select {
		case <-done:
			o.state = cmd.ProcessState
			if o.lost || o.stopped {
				// Whatever the command left running in its group must not
				// outlive the hold by more than the grace period either.
				o.killed = stopGroup(pgid, deadline) || o.killed
			}
			return o, nil
		case sig := <-sigs:
			signalGroup(pgid, sig.(syscall.Signal))
		case <-lost:
			lost = nil
			o.lost = true
			terminate()
		case <-stop:
			stop = nil
			o.stopped = true
			terminate()
		case <-graceC:
			graceC = nil
			o.killed = true
			signalGroup(pgid, syscall.SIGKILL)
		}
	}
}

// stopGroup waits until the process group is empty or deadline passes,
// then kills what is left. It reports whether anything had to be killed.
func stopGroup(pgid int, deadline time.Time) bool {
	for groupAlive(pgid) {
		if !time.Now().Before(deadline) {
			signalGroup(pgid, syscall.SIGKILL)
			return true
		}
		time.Sleep(groupPoll)
	}
	return false
}

func signalGroup(pgid int, sig syscall.Signal) {
	// ESRCH: the group is empty already.
	_ = syscall.Kill(-pgid, sig)
}

func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

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
