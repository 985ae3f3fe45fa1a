package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// lsFlags are ls's own flags.
type lsFlags struct {
	json   bool
	prefix bool
	wide   bool
	watch  bool
}

func newLs(conn *connFlags) *cobra.Command {
	var f lsFlags
	cmd := &cobra.Command{
		Use:   "ls [--json] [--wide] [--watch | --prefix] NAME",
		Short: "Show the line of the lock NAME, or the locks under NAME/",
		Long: `ls shows the line of the lock NAME, oldest first: each entry's place,
whether it holds or waits, its mode (exclusive, shared, permit(N)), its
token (create revision), its lease and the lease's TTL left, its key, and
its value (host/pid and command line of the fairlock that wrote it).
Exclusive and shared entries are one line, numbered from 1; a semaphore's
permits are a line of their own (they do not exclude the others), listed
after it and numbered from 1 again.

On a terminal, rows fit its width: VALUE is cut at its end (marked "…",
keeping at least host/pid and the start of the command), and if that is
not enough KEY, then LEASE, are left out; --wide prints every row whole.
Written to a pipe or a file, rows are whole, for grep and scripts (--json
is the stable form for scripts).

An entry without a lease (written by hand) never goes away by itself and
wedges the line: ls flags it on stderr and exits 3, and fairlock rm NAME
KEY removes it. Keys directly under NAME/ that are not fairlock entries
(etcd's own concurrency.Mutex and etcdctl lock keep theirs there) are
listed as foreign.

With --watch, ls shows the line as it changes (it watches NAME/ in etcd,
it does not poll), until SIGINT (Ctrl-C) or SIGTERM, and then exits 0.
Its FOR column says how long each entry has held (holding) or waited
(waiting). etcd keeps no timestamps, so that is measured from when ls saw
the entry join or be granted; a time marked "≥" began before ls saw it:
before the watch started, or while the watch was broken (etcd compacted
past it, or could not be reached), after which ls reads the line again.
On a terminal the table is redrawn in place, every second and at every
change (no TTL column: leases are renewed without a change to watch).
Otherwise ls prints one line per event, for a log:
  TIME EVENT place=P mode=M token=T waited=D held=D key=K value=V
where EVENT is watching (the first line, with the number of entries),
holding, waiting and foreign (the line as the watch began), joined, granted
(waited=), left (held= or waited=), asked (to yield, reason=) or resync
(the line read again after a broken watch, reason=). With --json, the
same events as one JSON object a line: {"time", "name", "event", "place",
"state", "mode", "limit", "weight", "token", "key", "lease", "value",
"waited" and "held" (seconds, or absent), "exact" (false when a duration
is only a lower bound, "≥"), "entries", "reason"}.

When some entry is a tenant's (fairlock exec --tenant), a TENANT column
shows each entry's tenant, and the tenants' callers still waiting for
admission to the line (their tenant has its share of callers in it
already) come last, "waiting for admission", numbered per tenant.

With --prefix, ls lists the locks that have entries under NAME/ (NAME
itself included; NAME may be /), one row each: how many hold, wait and
wedge, and their modes.

--json prints one object: {"name": NAME, "entries": [...]}, each entry with
the fields place (0 for foreign keys), state (holding, waiting, foreign,
admission), mode (exclusive, shared, permit, unknown, admission; "" for
foreign keys), limit (permits only, else 0), weight, tenant and share
(a tenant's callers; share for those waiting for admission), token, key, lease (hex; "" for none), ttl
(seconds left; null without a lease, -1 once expired), value, wedges, and
yield_requested and yield_reason: a holder asked to yield (fairlock
yield) shows as "holding (asked to yield: REASON)" until it leaves. With
--prefix: {"prefix": NAME, "locks": [...]}, each lock with the fields name,
holding, waiting, wedged (counts) and modes.

Exit status: 0; 3 when an entry without a lease wedges a line shown
(--watch flags it and goes on: it exits 0 on SIGINT or SIGTERM); 1 for an
etcd error; 77 when etcd refuses the --user read access to NAME/ (the
message names the prefix); 2 for bad input, found before any connection
is made.`,
		Example: `  fairlock ls /jobs/backup
  fairlock ls --wide /jobs/backup
  fairlock ls --watch /jobs/backup
  fairlock ls --watch /jobs/backup >> /var/log/backup-queue.log
  fairlock ls --prefix /jobs
  fairlock ls --json /jobs/backup | jq -r '.entries[] | select(.state == "holding") | .value'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// With --prefix, / (every lock) is a prefix, not a lock name.
			name, err := nameArg(cmd, args, f.prefix)
			if err != nil {
				return err
			}
			if f.watch && f.prefix {
				return usageError(cmd, "--watch follows one lock's line: not with --prefix")
			}
			if f.watch {
				return lsWatch(cmd, conn, name, f)
			}
			c, ctx, done, err := conn.dialOnce(cmd)
			if err != nil {
				return err
			}
			defer done()
			if f.prefix {
				return lsPrefix(ctx, c, name, f)
			}
			return lsLine(ctx, c, name, f)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.BoolVar(&f.json, "json", false, "print JSON, for scripts (with --watch: one object a line per event)")
	fs.BoolVar(&f.wide, "wide", false, "print whole rows on a terminal too, however wide")
	fs.BoolVarP(&f.watch, "watch", "w", false, "show the line as it changes, until Ctrl-C (exit 0)")
	fs.BoolVar(&f.prefix, "prefix", false, "list the locks under NAME/ (NAME may be /) instead of one line")
	return cmd
}

// tableWidth is the width that ls's tables fit: the terminal's when
// standard output is one, 0 (rows whole) with --wide or otherwise.
func (f lsFlags) tableWidth() int {
	if f.wide {
		return 0
	}
	cols, _, ok := terminalSize(os.Stdout)
	if !ok {
		return 0
	}
	return cols
}

// wedged names on stderr each entry of name's line that wedges it, with the
// command that removes it, and returns the error that exits 3 if there is
// any.
func wedged(name string, entries []lsEntry) error {
	n := 0
	for _, e := range entries {
		if e.Wedges {
			n++
			fmt.Fprintf(os.Stderr, "fairlock: %s\n", wedgeNotice(name, e))
		}
	}
	if n == 0 {
		return nil
	}
	return &exitError{code: exitWedged}
}

// wedgeNotice says that e wedges name's line, and how to remove it.
func wedgeNotice(name string, e lsEntry) string {
	return fmt.Sprintf("%s has no lease, so it never goes away and blocks the line behind it: "+
		"fairlock rm %s %s --token %d", e.Key, shellQuote(name), shellQuote(e.Key), e.Token)
}
