package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/etcderr"
)

// Exit codes other than the command's own status. The command's status
// passes through unchanged, so these overlap with what a command may
// return; scripts that must tell them apart use --try and --timeout only
// with commands that avoid 75 and 124, as with timeout(1).
const (
	exitFailure  = 1   // a lost hold, an etcd error
	exitUsage    = 2   // bad flags, names or arguments
	exitWedged   = 3   // ls: a key without a lease wedges a line it showed
	exitBusy     = 75  // --try found the lock busy (EX_TEMPFAIL)
	exitNoPerm   = 77  // etcd refused the --user access for good: permission denied, authentication failed (EX_NOPERM)
	exitMismatch = 78  // --limit differs from the limit in use on NAME (EX_CONFIG): the flags are right, the name is taken
	exitTimeout  = 124 // --timeout ended the wait (as timeout(1))
	exitCannot   = 126 // COMMAND found but not runnable
	exitNotFound = 127 // COMMAND not found
	exitSignal   = 128 // plus the signal's number
)

// exitError ends the program with code, printing err (if any) as one line.
type exitError struct {
	code int
	err  error // nil: exit silently (the command's own status)
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// fail returns an error that exits with code and prints "fairlock: " and
// the formatted message.
func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf("fairlock: "+format, args...)}
}

// etcdFailure is the one error for a call to etcd that failed, about what
// (fail's format and args): exit 1 with etcd's message; or, when etcd
// refused the --user access in a way no retry mends (permission denied,
// authentication failed: see package internal/etcderr), exitNoPerm, with
// a message that says which keys the user may not use.
func etcdFailure(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...) + ": " + libMessage(err)
	if !etcderr.IsRefused(err) {
		return fail(exitFailure, "%s", msg)
	}
	if !errors.Is(err, fairlock.ErrAccessDenied) && errors.Is(err, rpctypes.ErrPermissionDenied) {
		// Not a lock's error, which says what the user needs: the command's own read.
		msg += " (the --user's roles do not grant it)"
	}
	return &exitError{code: exitNoPerm, err: fmt.Errorf("fairlock: %s", msg)}
}

// exitCode returns the code to exit with after err, and the line to print
// ("" for none). Errors not made by this program (cobra's unknown command
// or argument errors) are usage errors.
func exitCode(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			return ee.code, ""
		}
		return ee.code, oneLine(ee.err.Error())
	}
	return exitUsage, oneLine("fairlock: " + err.Error() + " (see fairlock -h)")
}

// oneLine folds a message onto one line: etcd and cobra errors sometimes
// span several.
func oneLine(s string) string {
	fields := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '\n' || r == '\r' })
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	return strings.Join(fields, "; ")
}

// childExitCode maps how the command ended to fairlock's exit code: its
// own status when it exited, 128+N when signal N killed it (as shells
// report it).
func childExitCode(exited bool, status int, signaled bool, sig syscall.Signal) int {
	switch {
	case exited:
		return status
	case signaled:
		return exitSignal + int(sig)
	default:
		return exitFailure
	}
}

// argCount says how many arguments there were: "got no arguments", "got 1
// argument", "got 3 arguments".
func argCount(n int) string {
	switch n {
	case 0:
		return "got no arguments"
	case 1:
		return "got 1 argument"
	}
	return fmt.Sprintf("got %d arguments", n)
}

// signalExitCode is the code for fairlock interrupted by sig while it
// waited: 128+N, as if the signal had killed it.
func signalExitCode(sig syscall.Signal) int { return exitSignal + int(sig) }
