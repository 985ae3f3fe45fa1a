//go:build !linux

package main

import (
	"os"
	"syscall"
)

// sysProcAttr puts the command in a process group of its own.
func sysProcAttr(*terminal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// becomeSubreaper does nothing outside Linux.
func becomeSubreaper() {}

// treeState reports whether the group pgid has any process (zombies
// included: without /proc they cannot be told apart).
func treeState(pgid int, _ []int) (alive bool, adopted []int) {
	err := syscall.Kill(-pgid, 0)
	return err == nil || err == syscall.EPERM, nil
}

// terminal is not handed to the command outside Linux.
type terminal struct{}

func foregroundTerminal() *terminal { return nil }

func (*terminal) restore() {}

// selfPath is the running fairlock's executable.
func selfPath() (string, error) { return os.Executable() }
