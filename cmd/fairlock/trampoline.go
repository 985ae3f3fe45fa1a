package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// trampolineArg, as fairlock's first argument, runs the start trampoline
// instead of the command line (a hidden mode: it is not a command for
// users).
//
// Why a trampoline: the guard must know the command's process group before
// anything of the command runs. The group is named after the command's
// first process, known only once it exists; a command started directly
// could fork (sh -c 'sleep 1000 &') before fairlock told the guard, and a
// SIGKILL of fairlock in that window left the fork running. So fairlock
// starts itself as the first process, in the new group, tells the guard,
// then lets the trampoline exec the command (same process, same group).
const trampolineArg = "__fairlock-start"

// goFD is the trampoline's go-ahead pipe: fairlock writes one byte once
// the guard knows the group, or closes it without (the trampoline then
// exits without running the command).
const goFD = 3

// trampolineCmd returns an exec.Cmd that starts path with argv (argv[0]
// as the command's name) through the trampoline, and the write end of its
// go-ahead pipe. path must be resolved already (exec.LookPath). When
// fairlock cannot start itself or make a pipe (the guard then cannot
// start either), the command starts directly and w is nil.
func trampolineCmd(path string, argv []string) (cmd *exec.Cmd, w *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		return &exec.Cmd{Path: path, Args: argv}, nil
	}
	cmd, err = selfCmd(append([]string{trampolineArg, path}, argv...)...)
	if err != nil {
		r.Close()
		w.Close()
		return &exec.Cmd{Path: path, Args: argv}, nil
	}
	cmd.ExtraFiles = []*os.File{r} // goFD
	return cmd, w
}

// goAhead lets the trampoline exec the command (ok) or exit (not ok), and
// closes the pipe's write end and read end (the child has its own copy).
// With w nil (no trampoline) it does nothing.
func goAhead(w *os.File, cmd *exec.Cmd, ok bool) {
	if w == nil {
		return
	}
	if ok {
		w.Write([]byte{1})
	}
	w.Close()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
}

// runTrampoline is the trampoline's process: args are the command's path,
// then its argv. It waits for the go-ahead on goFD, then replaces itself
// with the command; it returns only when it does not (exit 126, as a
// shell does for a command it found and could not run).
func runTrampoline(args []string) int {
	if len(args) < 2 {
		return exitUsage
	}
	ahead := os.NewFile(goFD, "go-ahead")
	var b [1]byte
	n, _ := ahead.Read(b[:])
	ahead.Close()
	if n != 1 {
		return exitFailure // fairlock died, or gave up, before the go-ahead
	}
	err := syscall.Exec(args[0], args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "fairlock: %s: %v\n", args[1], err)
	return exitCannot
}

// selfCmd returns an exec.Cmd that runs this fairlock again with args (a
// hidden mode: the guard, the trampoline). It starts the running binary
// (selfPath), not whatever the path names by then: fairlock exec may wait
// hours for its turn, and the file may have been upgraded or removed since.
func selfCmd(args ...string) (*exec.Cmd, error) {
	self, err := selfPath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Args[0] = "fairlock"
	return cmd, nil
}
