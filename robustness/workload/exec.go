package workload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fairlock/fairlock/robustness/history"
)

// runExec: runs fairlock exec on the lock, one after another, with this
// binary's job as COMMAND: the job stamps its start, stamps every 20 ms
// while it runs, and its end (or the SIGTERM that stopped it). The
// command's promise: no job of one holder runs after the next holder's job
// has started.
func runExec(ctx context.Context, w *Worker) error {
	lock := w.Spec.Locks[0]
	for ctx.Err() == nil {
		op := w.nextOp()
		// One job in three runs two to three TTLs and ignores SIGTERM: only
		// fairlock's SIGKILL, due at the hold's HeldUntil, stops it in time
		// when fairlock is cut off, wherever in the job the cut comes.
		run, stubborn := w.rnd(100*time.Millisecond, 600*time.Millisecond), w.pick(3) == 0
		if stubborn {
			run = 2*w.TTL + w.rnd(0, w.TTL)
		}
		cmd := exec.Command(w.Fairlock, "exec", "--endpoints", strings.Join(w.Endpoints, ","),
			"--ttl", w.TTL.String(), "--timeout", Patience.String(), lock, "--",
			w.Self, "job", "-stamps", w.Jobs, "-proc", fmt.Sprintf("%s/%d", w.Proc, op), "-run", run.String(),
			"-stubborn="+strconv.FormatBool(stubborn))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		w.Rec(history.Record{Kind: history.Call, Op: op, Lock: lock, Mode: "exec"})
		if err := cmd.Start(); err != nil {
			return err
		}
		w.Rec(history.Record{Kind: history.Start, Op: op, Lease: int64(cmd.Process.Pid)})
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		var err error
		select {
		case err = <-waited:
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM) // fairlock passes it on to the job
			err = <-waited
		}
		w.Rec(history.Record{Kind: history.Release, Op: op, Err: exitText(err)})
		Sleep(ctx, w.rnd(10*time.Millisecond, 100*time.Millisecond))
	}
	return nil
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "exit " + strconv.Itoa(ee.ExitCode())
	}
	return errText(err)
}

// Job is the exec workload's COMMAND: it stamps into the history at
// stamps, under proc, for run, and stops at SIGTERM unless stubborn (it
// stamps "term" either way).
func Job(stamps, proc string, run time.Duration, stubborn bool) error {
	h, err := history.Create(stamps)
	if err != nil {
		return err
	}
	token, err := strconv.ParseInt(os.Getenv("FAIRLOCK_TOKEN"), 10, 64)
	if err != nil {
		return fmt.Errorf("fairlock: robustness: job without FAIRLOCK_TOKEN: %w", err)
	}
	stamp := func(what string) {
		h.Write(history.Record{T: history.Now(), Proc: proc, Kind: history.Stamp, Token: token,
			Lock: os.Getenv("FAIRLOCK_NAME"), Value: what})
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	stamp("start")
	end := time.After(run)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-term:
			stamp("term")
			if !stubborn {
				if h.Close() != nil {
					os.Exit(1)
				}
				os.Exit(143)
			}
		case <-end:
			stamp("end")
			return h.Close()
		case <-tick.C:
			stamp("alive")
		}
	}
}
