package main

import (
	"context"
	"fmt"
	"os"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

func newRm(conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm NAME KEY",
		Short: "Remove one entry from the line of the lock NAME",
		Long: `rm deletes one key of the lock NAME: an entry of its line (see fairlock ls
NAME) or a foreign key directly under NAME/. Use it for a key written by hand
without a lease, which never goes away and blocks everyone behind it.

Removing a live holder's entry takes the lock from it: its fairlock stops
its command and exits 1. Keys outside NAME/, or of a lock below NAME, are
refused (exit 2).`,
		Example: `  fairlock ls /jobs/backup
  fairlock rm /jobs/backup /jobs/backup/.x/stray`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError(cmd, "want NAME and KEY, "+argCount(len(args)))
			}
			name, key := args[0], args[1]
			layout, err := keys.New(name)
			if err != nil {
				return usageError(cmd, libMessage(err))
			}
			if err := checkRmKey(layout, key); err != nil {
				return usageError(cmd, err.Error())
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
			resp, err := c.Etcd().Delete(ctx, key, clientv3.WithPrevKV())
			if err != nil {
				return fail(exitFailure, "rm %s: %s", key, libMessage(err))
			}
			if resp.Deleted == 0 || len(resp.PrevKvs) == 0 {
				return fail(exitFailure, "rm: no key %s (already gone?)", key)
			}
			fmt.Fprintln(os.Stdout, removedLine(name, resp.PrevKvs[0].Key, resp.PrevKvs[0].CreateRevision,
				clientv3.LeaseID(resp.PrevKvs[0].Lease), resp.PrevKvs[0].Value))
			return nil
		},
	}
	return cmd
}

// checkRmKey refuses keys rm must not touch: outside NAME/, or of a lock
// below NAME.
func checkRmKey(layout keys.Layout, key string) error {
	switch classifyKey(layout, key) {
	case keyOutside:
		return fmt.Errorf("%q is not under %s/", key, layout.Name())
	case keyBelow:
		return fmt.Errorf("%q is not a key of %s but of a lock below it", key, layout.Name())
	}
	return nil
}

// removedLine reports what rm removed.
func removedLine(name string, key []byte, rev int64, lease clientv3.LeaseID, value []byte) string {
	mode, limit := entryMode(name, queue.Entry{Key: string(key)})
	switch {
	case mode == string(queue.Permit):
		mode = fmt.Sprintf("permit(%d) entry", limit)
	case mode == modeUnknown:
		mode = "foreign key"
	default:
		mode += " entry"
	}
	leaseText := "no lease"
	if lease != clientv3.NoLease {
		leaseText = fmt.Sprintf("lease %x", int64(lease))
	}
	return fmt.Sprintf("removed %s %s (token %d, %s, value %s)", mode, printable(string(key)), rev, leaseText, printableQuoted(string(value)))
}

func printableQuoted(s string) string { return fmt.Sprintf("%q", s) }
