// Command fairlock runs a command under a fair lock held in etcd, shows a
// lock's line (once, or as it changes), and removes a stray entry that
// wedges one.
//
//	fairlock exec [--shared | --limit N [--weight W]] [--tenant T [--share W]] [--try] [--timeout D] [--ttl D] [--grace D] [--quiet | --verbose] [--ignore-yield] [--etcd-mutex-interop] [--metrics-addr ADDR] NAME -- COMMAND [ARG...]
//	fairlock ls [--json] [--wide] [--watch | --prefix] NAME
//	fairlock rm [--token N | --force] NAME KEY
//	fairlock elect [--rotate D] [--ttl D] [--grace D] [--verbose] [--metrics-addr ADDR] NAME -- COMMAND [ARG...]
//	fairlock observe [--json] NAME
//	fairlock yield [--reason R] [--json] NAME
//
// exec waits its turn in NAME's line (first come, first served), runs
// COMMAND with FAIRLOCK_NAME, FAIRLOCK_KEY and FAIRLOCK_TOKEN in its
// environment, releases the lock when COMMAND exits, and exits with its
// status (128+N when a signal N ended it).
//
// COMMAND runs in a process group of its own, as timeout(1) runs its
// command, and fairlock stops that whole group so that nothing of a hold
// runs into the next holder's turn: with SIGTERM once no renewal has moved
// the hold's HeldUntil past now+--grace, and SIGKILL at HeldUntil at the
// latest (before etcd can expire the lease); when the hold is lost
// otherwise; and when COMMAND exits leaving processes behind, before the
// release. Orphans of the tree are adopted (a subreaper) and stopped too;
// zombies do not count. The signals fairlock forwards (SIGINT, SIGTERM,
// SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, each followed by SIGCONT) reach every
// process of the group. A foreground fairlock hands the terminal to the
// group. If fairlock itself dies, the kernel kills COMMAND (parent-death
// signal, Linux) and a guard process kills the rest of the group.
//
// With --metrics-addr ADDR, exec and elect serve Prometheus metrics of
// the hold (package fairlockprom: wait and hold times, grants, releases,
// losses, labelled with NAME) at http://ADDR/metrics while fairlock runs.
// The address is listened on before fairlock connects to etcd, so one
// that cannot be used is reported at once, as bad input.
//
// ls shows NAME's line; with --prefix, the locks under NAME/. It exits 3
// when a key without a lease (written by hand) wedges a line it shows. On
// a terminal its rows fit the width (VALUE cut, then KEY and LEASE left
// out); --wide, --json and output to a pipe or file keep them whole.
//
// ls --watch shows NAME's line as it changes, from a watch on NAME/ (no
// polling), until SIGINT or SIGTERM, and exits 0. etcd keeps no
// timestamps: how long each entry has held or waited is measured from when
// ls saw it join or be granted, and marked "≥" when that began before the
// watch (or while it was broken: after a compaction or an outage ls reads
// the line again). On a terminal the table is redrawn in place; otherwise
// it prints one line per event (joined, granted, left, asked, resync), or
// one JSON object per event with --json, for a log.
//
// observe prints who leads the election NAME, one line per term; yield
// asks the holders of NAME to give it up.
//
// Every command checks NAME before it connects: a bad name exits 2 at
// once, whatever the endpoints.
//
// Exit codes: COMMAND's own status; 1 for a lost hold or an etcd error; 2
// for bad flags or names, or a --metrics-addr that cannot be listened on;
// 3 when ls finds a wedged line, or yield nobody holding; 75 when --try
// finds the lock busy; 77 when etcd refuses the --user access for good
// (permission denied on the lock's keys, or on the keys under ls
// --prefix's NAME/), with a message naming the keys, never a retry; 78
// when --limit (or the tenant's --share) differs from the one in use on
// NAME; 124 when --timeout ends the wait; 126 and 127 when COMMAND cannot
// be run or is not found; 128+N when signal N interrupted the wait. --ttl
// 0 means the default (10s), as in fairlock.Config.
//
// The connection flags are etcdctl's: --endpoints (else
// $FAIRLOCK_ENDPOINTS, else $ETCDCTL_ENDPOINTS, else 127.0.0.1:2379),
// --cacert, --cert, --key, --user name:password, --dial-timeout.
package main
