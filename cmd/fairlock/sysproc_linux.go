package main

import "syscall"

// sysProcAttr puts the command in a process group of its own, and has the
// kernel kill it if fairlock dies first (SIGKILL leaves fairlock no chance
// to stop it, and its hold ends within the session TTL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
