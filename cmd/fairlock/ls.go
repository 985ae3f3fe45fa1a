package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

func newLs(conn *connFlags) *cobra.Command {
	var asJSON, prefix bool
	cmd := &cobra.Command{
		Use:   "ls [--json] [--prefix] NAME",
		Short: "Show the line of the lock NAME, or the locks under NAME/",
		Long: `ls shows the line of the lock NAME, oldest first: each entry's place,
whether it holds or waits, its mode (exclusive, shared, permit(N)), its
token (create revision), its key, its lease and the lease's TTL left, and
its value (host/pid and command line of the fairlock that wrote it).
Exclusive and shared entries are one line, numbered from 1; a semaphore's
permits are a line of their own (they do not exclude the others), listed
after it and numbered from 1 again.

An entry without a lease (written by hand) never goes away by itself and
wedges the line: ls flags it on stderr and exits 3, and fairlock rm NAME
KEY removes it. Keys directly under NAME/ that are not fairlock entries
(etcd's own concurrency.Mutex and etcdctl lock keep theirs there) are
listed as foreign.

With --prefix, ls lists the locks that have entries under NAME/ (NAME
itself included; NAME may be /), one row each: how many hold, wait and
wedge, and their modes.

--json prints one object: {"name": NAME, "entries": [...]}, each entry with
the fields place (0 for foreign keys), state (holding, waiting, foreign),
mode (exclusive, shared, permit, unknown; "" for foreign keys), limit
(permits only, else 0), token, key, lease (hex; "" for none), ttl (seconds
left; null without a lease, -1 once expired), value, wedges, and
yield_requested and yield_reason: a holder asked to yield (fairlock
yield) shows as "holding (asked to yield: REASON)" until it leaves. With
--prefix: {"prefix": NAME, "locks": [...]}, each lock with the fields name,
holding, waiting, wedged (counts) and modes.

Exit status: 0; 3 when an entry without a lease wedges a line shown; 1 for
an etcd error; 77 when etcd refuses the --user read access to NAME/ (the
message names the prefix); 2 for bad input.`,
		Example: `  fairlock ls /jobs/backup
  fairlock ls --prefix /jobs
  fairlock ls --json /jobs/backup | jq -r '.entries[] | select(.state == "holding") | .value'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "want one NAME, "+argCount(len(args)))
			}
			name := args[0]
			// With --prefix, / (every lock) is a prefix, not a lock name.
			if !prefix || name != "/" {
				if err := keys.Validate(name); err != nil {
					return usageError(cmd, libMessage(err))
				}
			}
			cfg, err := conn.config(cmd)
			if err != nil {
				return err
			}
			c, err := connect(cmd.Context(), cfg)
			if err != nil {
				return fail(exitFailure, "%s", libMessage(err))
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*cfg.DialTimeout)
			defer cancel()
			if prefix {
				return lsPrefix(ctx, c, name, asJSON)
			}
			out, err := listLine(ctx, c, name)
			if err != nil {
				return etcdFailure(err, "ls %s", name)
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // values are command lines: keep their < > & readable
				if err := enc.Encode(out); err != nil {
					return err
				}
				return wedged(name, out.Entries)
			}
			printLine(os.Stdout, out)
			foreign := false
			for _, e := range out.Entries {
				foreign = foreign || e.State == stateForeign
			}
			if foreign {
				fmt.Fprintf(os.Stderr, "fairlock: %s has foreign holders (etcdctl lock, etcd's own mutex): fairlock exec waits for them only with --etcd-mutex-interop\n", name)
			}
			return wedged(name, out.Entries)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, for scripts")
	cmd.Flags().BoolVar(&prefix, "prefix", false, "list the locks under NAME/ (NAME may be /) instead of one line")
	return cmd
}

// wedged names on stderr each entry of name's line that wedges it, with the
// command that removes it, and returns the error that exits 3 if there is
// any.
func wedged(name string, entries []lsEntry) error {
	n := 0
	for _, e := range entries {
		if e.Wedges {
			n++
			fmt.Fprintf(os.Stderr, "fairlock: %s has no lease, so it never goes away and blocks the line behind it: fairlock rm %s %s --token %d\n",
				e.Key, shellQuote(name), shellQuote(e.Key), e.Token)
		}
	}
	if n == 0 {
		return nil
	}
	return &exitError{code: exitWedged}
}

// lsPrefixOutput is what ls --prefix prints; its JSON field names are
// stable.
type lsPrefixOutput struct {
	Prefix string   `json:"prefix"`
	Locks  []lsLock `json:"locks"`
}

type lsLock struct {
	Name    string   `json:"name"`
	Holding int      `json:"holding"`
	Waiting int      `json:"waiting"`
	Wedged  int      `json:"wedged"`
	Modes   []string `json:"modes"`
}

// lsPrefix lists the locks under prefix/ and exits 3 if any line is
// wedged.
func lsPrefix(ctx context.Context, c *fairlock.Client, prefix string, asJSON bool) error {
	out, entries, err := listLocks(ctx, c, prefix)
	if err != nil {
		return etcdFailure(err, "ls --prefix %s", prefix)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printLocks(os.Stdout, out)
	}
	var wedgedErr error
	for _, l := range out.Locks {
		if err := wedged(l.Name, entries[l.Name]); err != nil {
			wedgedErr = err
		}
	}
	return wedgedErr
}

// listLocks reads the names of the locks with entries under prefix/ (and
// prefix itself), and each one's line.
func listLocks(ctx context.Context, c *fairlock.Client, prefix string) (lsPrefixOutput, map[string][]lsEntry, error) {
	resp, err := c.Etcd().Get(ctx, prefixRange(prefix), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return lsPrefixOutput{}, nil, fmt.Errorf("reading the keys under %s: %w", prefixRange(prefix), err)
	}
	keyList := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keyList[i] = string(kv.Key)
	}
	out := lsPrefixOutput{Prefix: prefix, Locks: []lsLock{}}
	entries := map[string][]lsEntry{}
	for _, name := range lockNames(prefix, keyList) {
		q, err := c.Queue(name)
		if err != nil {
			return lsPrefixOutput{}, nil, err
		}
		line, err := q.List(ctx)
		if err != nil {
			return lsPrefixOutput{}, nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(line) == 0 {
			continue // gone since the read of the names
		}
		es := lineEntries(name, line)
		entries[name] = es
		out.Locks = append(out.Locks, summarize(name, es))
	}
	return out, entries, nil
}

// prefixRange is the etcd key prefix under which the entries of the locks
// below prefix (and of prefix itself) live.
func prefixRange(prefix string) string {
	if strings.HasSuffix(prefix, "/") {
		return prefix
	}
	return prefix + "/"
}

// lockNames returns, sorted and once each, the names of the locks whose
// entry keys are among keys and that are prefix or below it. Keys that are
// no fairlock entry are skipped.
func lockNames(prefix string, keyList []string) []string {
	under := prefixRange(prefix)
	seen := map[string]bool{}
	var names []string
	for _, k := range keyList {
		e, err := keys.Parse(k)
		if err != nil || keys.Validate(e.Name) != nil || seen[e.Name] {
			continue
		}
		if e.Name != prefix && !strings.HasPrefix(e.Name, under) {
			continue
		}
		seen[e.Name] = true
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names
}

// summarize counts a line's holders, waiters and wedging entries, and
// names its modes.
func summarize(name string, es []lsEntry) lsLock {
	l := lsLock{Name: name, Modes: []string{}}
	seen := map[string]bool{}
	for _, e := range es {
		switch e.State {
		case stateHolding:
			l.Holding++
		case stateWaiting:
			l.Waiting++
		}
		if e.Wedges {
			l.Wedged++
		}
		mode := e.Mode
		if mode == string(queue.Permit) {
			mode = fmt.Sprintf("permit(%d)", e.Limit)
		}
		if !seen[mode] {
			seen[mode] = true
			l.Modes = append(l.Modes, mode)
		}
	}
	return l
}

// printLocks prints ls --prefix's table.
func printLocks(w io.Writer, out lsPrefixOutput) {
	if len(out.Locks) == 0 {
		fmt.Fprintf(w, "no locks under %s\n", prefixRange(out.Prefix))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOLDING\tWAITING\tWEDGED\tMODES")
	for _, l := range out.Locks {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", printable(l.Name), l.Holding, l.Waiting, l.Wedged, strings.Join(l.Modes, ","))
	}
	tw.Flush()
}

// lsOutput is what ls prints; its JSON field names are stable.
type lsOutput struct {
	Name    string    `json:"name"`
	Entries []lsEntry `json:"entries"`
	// Capacity is, per semaphore limit in the line, how much of it the
	// permits held take (their weights added up).
	Capacity []lsCapacity `json:"capacity,omitempty"`
}

// lsCapacity is the part of a semaphore's limit in use.
type lsCapacity struct {
	Limit int `json:"limit"`
	InUse int `json:"in_use"`
}

// capacity adds up the weights of the permits held, per limit, in the
// order the limits first appear.
func capacity(entries []lsEntry) []lsCapacity {
	var out []lsCapacity
	at := map[int]int{}
	for _, e := range entries {
		if e.Limit == 0 {
			continue
		}
		i, ok := at[e.Limit]
		if !ok {
			i = len(out)
			at[e.Limit] = i
			out = append(out, lsCapacity{Limit: e.Limit})
		}
		if e.State == stateHolding {
			out[i].InUse += max(e.Weight, 1)
		}
	}
	return out
}

type lsEntry struct {
	Place  int    `json:"place"`
	State  string `json:"state"`
	Mode   string `json:"mode"`
	Limit  int    `json:"limit"`
	Weight int    `json:"weight"` // a permit's share of the limit; 1 for other entries
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	TTL    *int64 `json:"ttl"`
	Value  string `json:"value"`
	Wedges bool   `json:"wedges"`
	// A pending request that the holder yield (fairlock yield).
	YieldRequested bool   `json:"yield_requested"`
	YieldReason    string `json:"yield_reason"`

	leaseID clientv3.LeaseID
}

// States and modes as ls prints them.
const (
	stateHolding = "holding"
	stateWaiting = "waiting"
	stateForeign = "foreign"
	modeUnknown  = "unknown"
)

// listLine reads NAME's line and the foreign keys beside it, and the TTL
// left on each lease.
func listLine(ctx context.Context, c *fairlock.Client, name string) (lsOutput, error) {
	q, err := c.Queue(name)
	if err != nil {
		return lsOutput{}, err
	}
	line, err := q.List(ctx)
	if err != nil {
		return lsOutput{}, err
	}
	layout, err := keys.New(name)
	if err != nil {
		return lsOutput{}, err
	}
	// Keys directly under NAME/ and outside the line: another client's.
	resp, err := c.Etcd().Get(ctx, layout.EtcdMutexPrefix(), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return lsOutput{}, err
	}
	out := lsOutput{Name: name, Entries: lineEntries(name, line)}
	out.Capacity = capacity(out.Entries)
	for _, kv := range resp.Kvs {
		if classifyKey(layout, string(kv.Key)) != keyForeign {
			continue
		}
		out.Entries = append(out.Entries, lsEntry{
			State: stateForeign, Token: kv.CreateRevision, Key: string(kv.Key),
			Value: string(kv.Value), leaseID: clientv3.LeaseID(kv.Lease),
		})
	}
	ttls := map[clientv3.LeaseID]int64{}
	for i := range out.Entries {
		e := &out.Entries[i]
		if e.leaseID == clientv3.NoLease {
			continue
		}
		e.Lease = strconv.FormatInt(int64(e.leaseID), 16)
		ttl, ok := ttls[e.leaseID]
		if !ok {
			r, err := c.Etcd().TimeToLive(ctx, e.leaseID)
			if err != nil {
				return lsOutput{}, fmt.Errorf("lease %s: %w", e.Lease, err)
			}
			ttl = r.TTL
			ttls[e.leaseID] = ttl
		}
		e.TTL = &ttl
	}
	return out, nil
}

// lineEntries turns the line as List returns it into ls's entries. The
// exclusive and shared entries are one line and come first, numbered from
// 1; the permits of each limit are a line of their own, which a Mutex's
// entries do not wait for: they come after, numbered from 1 again.
func lineEntries(name string, line []queue.Entry) []lsEntry {
	out := make([]lsEntry, 0, len(line))
	var permits []lsEntry
	places := map[int]int{} // by limit; 0 for the exclusive and shared line
	for _, e := range line {
		mode, limit := entryMode(name, e)
		places[limit]++
		le := lsEntry{
			Place: places[limit], State: stateWaiting, Mode: mode, Limit: limit, Weight: max(e.Weight, 1), Token: e.Rev, Key: e.Key,
			Value: e.Value, leaseID: e.Lease, Wedges: e.Lease == clientv3.NoLease,
			YieldRequested: e.YieldRequested, YieldReason: e.YieldReason,
		}
		if e.Holds {
			le.State = stateHolding
		}
		if limit > 0 {
			permits = append(permits, le)
		} else {
			out = append(out, le)
		}
	}
	return append(out, permits...)
}

// entryMode is an entry's mode and limit. A key in the line that no
// fairlock client would write (by hand, say) is "unknown": the engine
// treats it as exclusive, so it blocks all that come after it.
func entryMode(name string, e queue.Entry) (string, int) {
	k, err := keys.Parse(e.Key)
	switch {
	case err != nil || k.Name != name:
		return modeUnknown, 0
	case k.Limit > 0:
		return string(queue.Permit), k.Limit
	case k.Shared:
		return string(queue.Shared), 0
	}
	return string(queue.Exclusive), 0
}

// keyClass is where a key under NAME/ belongs.
type keyClass int

const (
	keyOutside keyClass = iota // not under NAME/
	keyInLine                  // in NAME's line: List reports it
	keyForeign                 // directly under NAME/, not fairlock's: etcd's Mutex keeps its keys there
	keyBelow                   // under a lock below NAME, such as NAME/sub
)

// classifyKey says where key belongs relative to the lock of layout.
func classifyKey(layout keys.Layout, key string) keyClass {
	switch {
	case strings.HasPrefix(key, layout.Line()):
		return keyInLine
	case !strings.HasPrefix(key, layout.EtcdMutexPrefix()):
		return keyOutside
	case strings.Contains(key[len(layout.EtcdMutexPrefix()):], "/"):
		return keyBelow
	}
	return keyForeign
}

// printLine prints out as a table.
func printLine(w io.Writer, out lsOutput) {
	if len(out.Entries) == 0 {
		fmt.Fprintf(w, "%s: nobody holds or waits\n", out.Name)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLACE\tSTATE\tMODE\tTOKEN\tLEASE\tTTL\tKEY\tVALUE")
	for _, e := range out.Entries {
		place, mode := "-", e.Mode
		if e.Place > 0 {
			place = strconv.Itoa(e.Place)
		}
		if mode == string(queue.Permit) {
			mode = fmt.Sprintf("permit(%d)", e.Limit)
			if e.Weight > 1 {
				mode = fmt.Sprintf("permit(%d, weight %d)", e.Limit, e.Weight)
			}
		}
		if mode == "" {
			mode = "-"
		}
		lease, ttl, state := e.Lease, ttlText(e), e.State
		if e.YieldRequested {
			state += " (asked to yield: " + e.YieldReason + ")"
		}
		if lease == "" {
			lease = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n",
			place, printable(state), mode, e.Token, lease, ttl, printable(e.Key), printable(e.Value))
	}
	tw.Flush()
	for _, c := range out.Capacity {
		fmt.Fprintf(w, "permits of limit %d: %d of %d in use\n", c.Limit, c.InUse, c.Limit)
	}
}

// ttlText is the TTL column: seconds left, "expired", or "none" for a key
// without a lease ("none!" when it wedges the line).
func ttlText(e lsEntry) string {
	switch {
	case e.TTL == nil && e.Wedges:
		return "none!"
	case e.TTL == nil:
		return "none"
	case *e.TTL < 0:
		return "expired"
	}
	return fmt.Sprintf("%ds", *e.TTL)
}

// printable quotes s when it holds bytes that would break a table row.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\t' }) < 0 {
		return s
	}
	return strconv.Quote(s)
}
