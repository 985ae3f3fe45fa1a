package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/queue"
)

// releaseTimeout bounds the release after the command exits; if etcd does
// not answer, the entry goes when the session's lease expires.
const releaseTimeout = 5 * time.Second

// expiringFactsTimeout bounds the questions to etcd about a hold whose
// renewals stopped coming: most likely etcd cannot be reached.
const expiringFactsTimeout = time.Second

func newExec(conn *connFlags) *cobra.Command {
	var (
		ef          execFlags
		try         bool
		ignoreYield bool
		interop     bool
		hf          holdFlags
	)
	cmd := &cobra.Command{
		Use:   "exec [--shared | --limit N [--weight W]] [--tenant T [--share W]] [--try] [--timeout D] [--ttl D] [--grace D] [--quiet | --verbose] [--ignore-yield] [--etcd-mutex-interop] [--metrics-addr ADDR] NAME -- COMMAND [ARG...]",
		Short: "Run COMMAND while holding the lock NAME",
		Long: `exec waits its turn in the line of the lock NAME (first come, first served,
across machines), runs COMMAND with FAIRLOCK_NAME, FAIRLOCK_KEY and
FAIRLOCK_TOKEN in its environment, releases the lock when COMMAND exits,
and exits with COMMAND's status (128+N when signal N ended it).

FAIRLOCK_TOKEN is the hold's fencing token: it rises with every hold of
NAME. Hand it to whatever COMMAND writes to, so that a store can refuse a
write from a holder that lost the lock without knowing it.

COMMAND runs in a process group of its own (as with timeout(1)), and
fairlock stops that whole group, so that nothing of this hold runs into the
next holder's turn:
  - once no renewal of the session's lease has moved the hold's end
    (HeldUntil) past now+--grace, the group gets SIGTERM, and SIGKILL at
    that end at the latest, before etcd can expire the lease; fairlock
    then exits 1 saying why. The same when the hold is lost otherwise (its
    entry deleted): SIGTERM, SIGKILL after --grace;
  - when COMMAND exits, whatever it left in its group gets SIGTERM, and
    SIGKILL after --grace; the lock is released once the group is empty.
    Orphans that left the group (setsid) are adopted by fairlock and
    stopped too; zombies do not count;
  - if fairlock itself is killed, the kernel kills COMMAND, and a guard
    process of fairlock's kills the rest of the group. Under systemd,
    KillMode=control-group (the default) leaves nothing behind.
  - when the hold is asked to yield (fairlock yield NAME), the reason is
    logged and the group gets SIGTERM, SIGKILL after --grace; the lock is
    released once the group is empty and the next in line runs. With
    --ignore-yield the request is only logged.
--grace defaults to a third of --ttl and may be at most half of it. A
machine or fairlock paused past the hold's end runs on until it resumes:
that is what FAIRLOCK_TOKEN is for.

SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to fairlock are
passed on to COMMAND's group, followed by SIGCONT. When fairlock is the
foreground job of a terminal, COMMAND's group gets the terminal while it
runs, and can read it. Interrupted while waiting, fairlock leaves the line
at once and exits 128+N.

With --tenant, the hold is one of tenant T's: callers of one tenant are
served among themselves in arrival order, and across tenants the lock goes
round-robin, weighted by --share (default 1), while several tenants wait;
so a team that queues forty jobs does not make a team that queues one wait
for all forty. Every caller of a tenant on NAME must give the same --share.
Callers without --tenant share the line with tenant callers.

--verbose reports progress on stderr; --quiet keeps a busy --try and an
ended --timeout silent. --etcd-mutex-interop also waits for holders of
etcd's own mutex on NAME (etcdctl lock).

With --metrics-addr, fairlock serves Prometheus metrics of its hold at
http://ADDR/metrics from before it joins the line until it exits: the wait
and hold times, grants, releases and losses (fairlock_wait_seconds,
fairlock_grants_total, ...), labelled with NAME.

Exit codes: COMMAND's status; 1 lost hold or etcd error; 2 bad flags or
name, or a --metrics-addr that cannot be listened on; 75 --try found NAME
busy; 78 --limit (or the tenant's --share) differs from the one in use on
NAME; 124 --timeout
ended the wait; 126 COMMAND not runnable; 127 COMMAND
not found; 128+N interrupted by signal N while waiting.`,
		Example: `  # one backup at a time across all machines, in arrival order
  fairlock exec /jobs/backup -- /usr/local/bin/backup --full

  # from cron: skip this run if the previous one still holds the lock
  */5 * * * * fairlock exec --try --quiet /jobs/sync -- /usr/local/bin/sync

  # readers together, writers alone; give up after a minute in line
  fairlock exec --shared --timeout 1m /db/schema -- ./report.sh
  fairlock exec /db/schema -- ./migrate.sh

  # at most 3 at once
  fairlock exec --limit 3 /pool/gpu -- ./train.sh

  # a budget: 8 GB of GPU memory, this job takes 3 (granted in arrival order)
  fairlock exec --limit 8 --weight 3 /pool/gpu-gb -- ./train.sh

  # a deploy lock shared by teams: while several teams wait, they take turns
  fairlock exec --tenant team-a /deploy/prod -- ./deploy.sh

  # let Prometheus scrape the wait and hold times on port 9464
  fairlock exec --metrics-addr :9464 /jobs/backup -- /usr/local/bin/backup`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, argv, err := commandArgs(cmd, args)
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			ef.limitSet, ef.weightSet = fl.Changed("limit"), fl.Changed("weight")
			ef.tenantSet, ef.shareSet = fl.Changed("tenant"), fl.Changed("share")
			mode, err := ef.validate()
			if err != nil {
				return usageError(cmd, err.Error())
			}
			run, m, err := hf.setup(cmd, conn, name, argv)
			if err != nil {
				return err
			}
			defer m.close()
			if interop {
				if mode.limit > 0 {
					return usageError(cmd, "--etcd-mutex-interop is for exclusive and --shared holds, not --limit")
				}
				run.cfg.Options = append(run.cfg.Options, queue.WithEtcdMutexInterop())
			}
			run.cfg.Options = append(run.cfg.Options, mode.options()...)
			x := &execRun{holdRun: run, mode: mode, try: try, timeout: ef.timeout, ignoreYield: ignoreYield}
			return x.run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.BoolVar(&ef.shared, "shared", false, "take a shared (read) hold: shared holders run together, exclusive ones alone")
	fs.IntVar(&ef.limit, "limit", 0, "take one of N permits: at most N holders at once (a semaphore)")
	fs.IntVar(&ef.weight, "weight", 1, "with --limit: take W of the N (a weighted permit; granted in arrival order while the weights fit)")
	fs.StringVar(&ef.tenant, "tenant", "", "hold as one of tenant T's callers: tenants that wait take turns (fair share)")
	fs.IntVar(&ef.share, "share", 1, "with --tenant: the tenant's share, W grants for every grant of a tenant of share 1")
	fs.BoolVar(&try, "try", false, "if NAME is busy, run nothing and exit 75")
	fs.DurationVar(&ef.timeout, "timeout", 0, "give up waiting after D and exit 124 (0: wait as long as it takes)")
	fs.BoolVar(&ignoreYield, "ignore-yield", false,
		"do not stop COMMAND when the hold is asked to yield (fairlock yield); the request is only logged")
	fs.BoolVar(&interop, "etcd-mutex-interop", false,
		"also wait for holders of etcd's own mutex on NAME (etcdctl lock), while a fleet moves from it; every key under NAME/ then blocks")
	hf.register(fs, true)
	return cmd
}

// execRun is one run of exec.
type execRun struct {
	holdRun
	mode    execMode
	try     bool
	timeout time.Duration
	// ignoreYield: a request to yield is logged, not passed on to COMMAND.
	ignoreYield bool
	// child is the command, once started: child.StopGracefully stops its
	// process group (SIGTERM, SIGKILL after the grace period) from any
	// goroutine, as a yield request would.
	child *child
}

func (x *execRun) run(ctx context.Context) error {
	sigs, stop := notifySignals()
	defer stop()

	var c *fairlock.Client
	var h hold
	var err error
	sig := interruptible(ctx, sigs, func(ctx context.Context) {
		c, err = connect(ctx, x.cfg)
		if err != nil {
			return
		}
		actx := ctx
		if x.timeout > 0 && !x.try {
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeout(ctx, x.timeout)
			defer cancel()
		}
		x.hf.progress("waiting for %s (%s)", x.name, x.mode)
		h, err = acquire(actx, c, x.name, x.mode, x.try)
	})
	if c != nil {
		defer c.Close()
	}
	if sig != 0 {
		if h != nil { // granted as the signal came: give it back
			releaseBounded(h.Release)
		}
		return fail(signalExitCode(sig), "%s while waiting for %s: left the line", signalName(sig), x.name)
	}
	if err != nil {
		return x.waitError(err)
	}

	x.hf.progress("granted %s (token %d, key %s)", x.name, h.Token(), h.Key())
	lost := h.Done() // starts the watch before the command does
	becomeSubreaper()
	ch, err := startChild(childSpec{
		argv: x.argv, env: commandEnv(x.name, h.Key(), h.Token()), sigs: sigs,
		lost: lost, heldUntil: h.HeldUntil, grace: x.grace, verbose: x.hf.progressFunc(),
	})
	if err != nil {
		releaseBounded(h.Release)
		return fail(startExitCode(err), "%s: %v", x.argv[0], err)
	}
	x.child = ch
	stopYield := onYield(h, ch, x.name, x.ignoreYield)
	o := ch.wait()
	stopYield()
	if o.lost || o.expiring {
		err := lostError(c, x.name, h.Key(), h.Token(), o, x.grace)
		if !o.lost {
			releaseBounded(h.Release) // renewed after all: give it back, the command is stopped
		}
		return err
	}
	code := stateExitCode(o.state)
	if err := releaseBounded(h.Release); err != nil {
		if errors.Is(err, queue.ErrLost) {
			return fail(exitFailure, "lost the lock on %s (token %d) before the command ended: %s",
				x.name, h.Token(), lossReason(lossFacts(c, h.Key(), h.Token(), releaseTimeout)))
		}
		fmt.Fprintf(os.Stderr, "fairlock: could not release %s (%s); it goes when the session's lease expires, within %v\n",
			x.name, libMessage(err), x.cfg.TTL)
	} else {
		x.hf.progress("released %s (token %d)", x.name, h.Token())
	}
	return &exitError{code: code}
}

// waitError maps what went wrong before the command could start.
func (x *execRun) waitError(err error) error {
	switch {
	case errors.Is(err, errBusy):
		if x.hf.quiet {
			return &exitError{code: exitBusy}
		}
		return fail(exitBusy, "%s is busy (--try): ran nothing", x.name)
	case errors.Is(err, context.DeadlineExceeded) && x.timeout > 0:
		if x.hf.quiet {
			return &exitError{code: exitTimeout}
		}
		return fail(exitTimeout, "gave up waiting for %s after --timeout %v: ran nothing", x.name, x.timeout)
	case errors.Is(err, queue.ErrLimitMismatch):
		return &exitError{code: exitMismatch, err: fmt.Errorf(
			"fairlock exec: --limit %d differs from the limit in use on %s (see fairlock ls %s)", x.mode.limit, x.name, x.name)}
	case errors.Is(err, queue.ErrShareMismatch):
		return &exitError{code: exitMismatch, err: fmt.Errorf(
			"fairlock exec: --share %d differs from the share tenant %q's callers use on %s (see fairlock ls %s)",
			x.mode.share, x.mode.tenant, x.name, x.name)}
	}
	return waitFailure(x.name, err)
}

// waitFailure is the error for a wait for a turn that failed.
func waitFailure(name string, err error) error {
	if errors.Is(err, queue.ErrLost) || errors.Is(err, queue.ErrSessionExpired) {
		return fail(exitFailure, "lost the place in line for %s while waiting (%s): ran nothing", name, libMessage(err))
	}
	if etcderr.IsRefused(err) {
		return etcdFailure(err, "waiting for %s", name)
	}
	return fail(exitFailure, "%s", libMessage(err))
}

// commandEnv is fairlock's environment with the hold's name, key and token.
func commandEnv(name, key string, token int64) []string {
	return append(os.Environ(),
		"FAIRLOCK_NAME="+name,
		"FAIRLOCK_KEY="+key,
		"FAIRLOCK_TOKEN="+strconv.FormatInt(token, 10),
	)
}

// releaseBounded ends a hold or a lead with release (Release, Resign),
// under a context of its own bounded by releaseTimeout: whatever state the
// run's context is in, the release is tried, and never hangs.
func releaseBounded(release func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	return release(ctx)
}

// lostError is the error for a hold lost, or about to be, while the
// command ran.
func lostError(c *fairlock.Client, name, key string, token int64, o outcome, grace time.Duration) error {
	how := "stopped the command with SIGTERM"
	switch {
	case o.killed && o.killedAtEnd:
		how = "killed the command with SIGKILL as the hold ran out, before etcd could expire it"
	case o.killed:
		how = fmt.Sprintf("killed the command with SIGKILL after --grace %v", grace)
	}
	reason := "no renewal of its session lease came in time (fairlock cut off from etcd, or etcd too slow)"
	if o.lost {
		// Cut off from etcd, asking would only delay the exit: briefly.
		timeout := releaseTimeout
		if o.expiring {
			timeout = expiringFactsTimeout
		}
		if gone, state := lossFacts(c, key, token, timeout); gone || state != keyUnknown || !o.expiring {
			reason = lossReason(gone, state)
		}
	}
	return fail(exitFailure, "lost the lock on %s (token %d): %s; %s", name, token, reason, how)
}

// lossFacts asks etcd, for at most timeout, why a hold ended: whether the
// session's lease is gone, and what became of the entry's key.
func lossFacts(c *fairlock.Client, key string, token int64, timeout time.Duration) (leaseGone bool, state keyState) {
	select {
	case <-c.Done():
		leaseGone = true
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cli := c.Etcd()
	if !leaseGone {
		ttl, err := cli.TimeToLive(ctx, c.Session().Lease())
		leaseGone = err == nil && ttl.TTL <= 0
	}
	resp, err := cli.Get(ctx, key)
	switch {
	case err != nil:
		state = keyUnknown
	case len(resp.Kvs) == 0:
		state = keyGone
	case resp.Kvs[0].CreateRevision != token:
		state = keyReplaced
	default:
		state = keyPresent
	}
	return leaseGone, state
}

// keyState is what became of a lost hold's key.
type keyState int

const (
	keyUnknown  keyState = iota // etcd did not answer
	keyGone                     // deleted
	keyReplaced                 // deleted and written again
	keyPresent                  // still there, as it was
)

// lossReason says why a hold ended, from what etcd told after the fact.
func lossReason(leaseGone bool, key keyState) string {
	switch {
	case leaseGone:
		return "its session lease expired (fairlock could not renew it within --ttl: it was stopped, or cut off from etcd)"
	case key == keyGone, key == keyReplaced:
		return "its entry was deleted (by fairlock rm, or by hand)"
	case key == keyPresent:
		return "its session lease could not be renewed in time"
	default:
		return "etcd stopped answering, so the hold could not be kept"
	}
}

// libMessage is a library error without its "fairlock: " prefixes, for
// messages that carry their own.
func libMessage(err error) string {
	return strings.ReplaceAll(err.Error(), "fairlock: ", "")
}
