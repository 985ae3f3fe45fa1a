package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
)

func newElect(conn *connFlags) *cobra.Command {
	var (
		rotate time.Duration
		hf     holdFlags
	)
	cmd := &cobra.Command{
		Use:   "elect [--rotate D] [--ttl D] [--grace D] [--verbose] [--metrics-addr ADDR] NAME -- COMMAND [ARG...]",
		Short: "Run COMMAND while leader of the election NAME",
		Long: `elect campaigns in the election NAME (candidates lead in arrival order) and
runs COMMAND while it leads, with FAIRLOCK_NAME, FAIRLOCK_KEY and
FAIRLOCK_TOKEN (the term's fencing token) in its environment. When COMMAND
exits, elect resigns, handing the lead to the next candidate, and exits with
COMMAND's status.

With --rotate D, after D of leading COMMAND's process group is stopped
(SIGTERM, then SIGKILL after --grace), the lead passes to the next candidate and this one
rejoins at the tail; COMMAND starts again, under a new token, when this
candidate leads again. So candidates take turns, round-robin. A request
to yield (fairlock yield NAME) hands over early the same way, with or
without --rotate: COMMAND's group is stopped, the lead passes on, and this
candidate rejoins at the tail.

Signals, a lost lead and --metrics-addr are handled as by exec: signals are
passed on to COMMAND; a lead about to be lost stops COMMAND's whole group
before it can pass, and exits 1; a rotation and an exit stop what is left
of the group before the lead passes; the metrics
of every term are served at http://ADDR/metrics. Give an election a name of
its own: a fairlock exec on the same name would be one more candidate.`,
		Example: `  # one scheduler at a time; the others stand by
  fairlock elect /svc/scheduler -- ./scheduler

  # take turns: each candidate leads for an hour
  fairlock elect --rotate 1h /svc/compactor -- ./compactor`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, argv, err := commandArgs(cmd, args)
			if err != nil {
				return err
			}
			if rotate < 0 {
				return usageError(cmd, "--rotate must not be negative")
			}
			run, m, err := hf.setup(cmd, conn, name, argv)
			if err != nil {
				return err
			}
			defer m.close()
			r := &electRun{holdRun: run, rotate: rotate}
			return r.run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.DurationVar(&rotate, "rotate", 0, "hand the lead on after D, stopping COMMAND first (0: lead until COMMAND exits)")
	hf.register(fs, false)
	return cmd
}

// electRun is one run of elect.
type electRun struct {
	holdRun
	rotate time.Duration
}

func (r *electRun) run(ctx context.Context) error {
	sigs, stop := notifySignals()
	defer stop()

	var c *fairlock.Client
	var e *election.Election
	var err error
	sig := interruptible(ctx, sigs, func(ctx context.Context) {
		if c, err = connect(ctx, r.cfg); err != nil {
			return
		}
		if e, err = c.Election(r.name); err != nil {
			return
		}
		r.hf.progress("waiting to lead %s", r.name)
		err = e.Campaign(ctx, r.cfg.Identity)
	})
	if c != nil {
		defer c.Close()
	}
	if sig != 0 {
		resignBounded(e) // in case the lead came with the signal
		return fail(signalExitCode(sig), "%s while waiting to lead %s: left the line", signalName(sig), r.name)
	}
	if err != nil {
		return waitFailure(r.name, err)
	}

	for {
		// A term's key and token, read now: the Election forgets them when
		// the term ends.
		key, token, lost := e.Key(), e.Token(), e.Done()
		r.hf.progress("leading %s (token %d, key %s)", r.name, token, key)
		becomeSubreaper()
		ch, err := startChild(childSpec{
			argv: r.argv, env: commandEnv(r.name, key, token), sigs: sigs,
			lost: lost, heldUntil: e.HeldUntil, grace: r.grace, verbose: r.hf.progressFunc(),
		})
		if err != nil {
			resignBounded(e)
			return fail(startExitCode(err), "%s: %v", r.argv[0], err)
		}
		var timer *time.Timer
		if r.rotate > 0 {
			timer = time.AfterFunc(r.rotate, ch.StopGracefully)
		}
		// Asked to yield: hand over now, as a rotation does.
		stopYield := onYield(e, ch, r.name, false)
		o := ch.wait()
		stopYield()
		if timer != nil {
			timer.Stop()
		}
		if o.lost || o.expiring {
			err := lostError(c, r.name, key, token, o, r.grace)
			if !o.lost {
				resignBounded(e) // renewed after all: hand the lead on, the command is stopped
			}
			return err
		}
		if !o.stopped {
			// COMMAND ended by itself: hand the lead on, exit with its status.
			code := stateExitCode(o.state)
			if err := resignBounded(e); err != nil {
				if errors.Is(err, election.ErrLost) {
					return fail(exitFailure, "lost the lead on %s (token %d) before the command ended: %s",
						r.name, token, lossReason(lossFacts(c, key, token, releaseTimeout)))
				}
				fmt.Fprintf(os.Stderr, "fairlock: could not resign from %s (%s); the lead passes on when the session's lease expires, within %v\n",
					r.name, libMessage(err), r.cfg.TTL)
			}
			return &exitError{code: code}
		}
		sig := interruptible(ctx, sigs, func(ctx context.Context) { err = e.Rotate(ctx) })
		if sig != 0 {
			resignBounded(e) // Rotate may not have handed the lead on
			return fail(signalExitCode(sig), "%s while waiting to lead %s again: left the line", signalName(sig), r.name)
		}
		if errors.Is(err, election.ErrLost) {
			return fail(exitFailure, "lost the lead on %s (token %d) while handing it on: %s",
				r.name, token, lossReason(lossFacts(c, key, token, releaseTimeout)))
		}
		if err != nil {
			resignBounded(e)
			return waitFailure(r.name, err)
		}
	}
}

// resignBounded gives up the lead, if any, as releaseBounded gives a hold
// back.
func resignBounded(e *election.Election) error {
	if e == nil {
		return nil
	}
	return releaseBounded(func(ctx context.Context) error {
		if err := e.Resign(ctx); !errors.Is(err, election.ErrNotLeader) {
			return err
		}
		return nil
	})
}
