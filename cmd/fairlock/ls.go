package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json] NAME",
		Short: "Show the line of the lock NAME",
		Long: `ls shows the line of the lock NAME, oldest first: each entry's place,
whether it holds or waits, its mode (exclusive, shared, permit(N)), its
token (create revision), its key, its lease and the lease's TTL left, and
its value (host/pid and command line of the fairlock that wrote it).

An entry without a lease (written by hand) never goes away by itself and
wedges the line: ls flags it, and fairlock rm NAME KEY removes it. Keys
directly under NAME/ that are not fairlock entries (etcd's own
concurrency.Mutex and etcdctl lock keep theirs there) are listed as
foreign.

--json prints one object: {"name": NAME, "entries": [...]}, each entry with
the fields place (0 for foreign keys), state (holding, waiting, foreign),
mode (exclusive, shared, permit, unknown; "" for foreign keys), limit
(permits only, else 0), token, key, lease (hex; "" for none), ttl (seconds
left; null without a lease, -1 once expired), value and wedges.`,
		Example: `  fairlock ls /jobs/backup
  fairlock ls --json /jobs/backup | jq -r '.entries[] | select(.state == "holding") | .value'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, fmt.Sprintf("want one NAME, got %d arguments", len(args)))
			}
			name := args[0]
			if err := keys.Validate(name); err != nil {
				return usageError(cmd, libMessage(err))
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
			out, err := listLine(ctx, c, name)
			if err != nil {
				return fail(exitFailure, "ls %s: %s", name, libMessage(err))
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // values are command lines: keep their < > & readable
				return enc.Encode(out)
			}
			printLine(os.Stdout, out)
			foreign := false
			for _, e := range out.Entries {
				if e.Wedges {
					fmt.Fprintf(os.Stderr, "fairlock: %s has no lease, so it never goes away and blocks the line behind it: fairlock rm %s %s --token %d\n",
						e.Key, shellQuote(name), shellQuote(e.Key), e.Token)
				}
				foreign = foreign || e.State == stateForeign
			}
			if foreign {
				fmt.Fprintf(os.Stderr, "fairlock: %s has foreign holders (etcdctl lock, etcd's own mutex): fairlock exec waits for them only with --etcd-mutex-interop\n", name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, for scripts")
	return cmd
}

// lsOutput is what ls prints; its JSON field names are stable.
type lsOutput struct {
	Name    string    `json:"name"`
	Entries []lsEntry `json:"entries"`
}

type lsEntry struct {
	Place  int    `json:"place"`
	State  string `json:"state"`
	Mode   string `json:"mode"`
	Limit  int    `json:"limit"`
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	TTL    *int64 `json:"ttl"`
	Value  string `json:"value"`
	Wedges bool   `json:"wedges"`

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

// lineEntries turns the line as List returns it into ls's entries.
func lineEntries(name string, line []queue.Entry) []lsEntry {
	out := make([]lsEntry, 0, len(line))
	for i, e := range line {
		mode, limit := entryMode(name, e)
		le := lsEntry{
			Place: i + 1, State: stateWaiting, Mode: mode, Limit: limit, Token: e.Rev, Key: e.Key,
			Value: e.Value, leaseID: e.Lease, Wedges: e.Lease == clientv3.NoLease,
		}
		if e.Holds {
			le.State = stateHolding
		}
		out = append(out, le)
	}
	return out
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
		}
		if mode == "" {
			mode = "-"
		}
		lease, ttl := e.Lease, ttlText(e)
		if lease == "" {
			lease = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n",
			place, e.State, mode, e.Token, lease, ttl, printable(e.Key), printable(e.Value))
	}
	tw.Flush()
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
