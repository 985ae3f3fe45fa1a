package main

import (
	"fmt"
	"os"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

func newRm(conn *connFlags) *cobra.Command {
	var (
		token int64
		force bool
	)
	cmd := &cobra.Command{
		Use:   "rm [--token N | --force] NAME KEY",
		Short: "Remove one entry from the line of the lock NAME",
		Long: `rm deletes one key of the lock NAME: an entry of its line (see fairlock ls
NAME) or a foreign key directly under NAME/. Use it for a key written by hand
without a lease, which never goes away and blocks everyone behind it.

Entry keys are per-session slots that are reused: the key copied from ls may
by now belong to a new hold of the same session. With --token N (the TOKEN
column of ls, the key's create revision) rm deletes the key only if it is
still that hold, and deletes nothing otherwise (exit 1). Without --token, rm
refuses a key whose lease is alive (exit 1) unless --force is given; a key
without a lease, or whose lease has expired, is deleted as rm found it.
fairlock ls prints the exact command for an entry that wedges the line.

Removing a live holder's entry takes the lock from it: its fairlock stops
its command and exits 1. Keys outside NAME/, or of a lock below NAME, are
refused (exit 2).`,
		Example: `  fairlock ls /jobs/backup
  fairlock rm --token 1234 /jobs/backup /jobs/backup/.x/stray`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError(cmd, "want NAME and KEY, "+argCount(len(args)))
			}
			name, key := args[0], args[1]
			if err := checkName(cmd, name); err != nil {
				return err
			}
			layout, err := keys.New(name)
			if err != nil {
				return usageError(cmd, libMessage(err))
			}
			if err := checkRmKey(layout, key); err != nil {
				return usageError(cmd, err.Error())
			}
			tokenSet := cmd.Flags().Changed("token")
			if tokenSet && token <= 0 {
				return usageError(cmd, "--token must be a positive create revision (the TOKEN column of fairlock ls)")
			}
			if tokenSet && force {
				return usageError(cmd, "--token and --force exclude each other")
			}
			c, ctx, done, err := conn.dialOnce(cmd)
			if err != nil {
				return err
			}
			defer done()
			cli := c.Etcd()
			if !tokenSet {
				get, err := cli.Get(ctx, key)
				if err != nil {
					return etcdFailure(err, "rm %s", key)
				}
				if len(get.Kvs) == 0 {
					return fail(exitFailure, "rm: no key %s (already gone?)", key)
				}
				kv := get.Kvs[0]
				if lease := clientv3.LeaseID(kv.Lease); lease != clientv3.NoLease && !force {
					ttl, err := cli.TimeToLive(ctx, lease)
					if err != nil {
						return etcdFailure(err, "rm %s", key)
					}
					if ttl.TTL > 0 {
						return fail(exitFailure, "rm: %s belongs to a live session (lease %x); its key may be reused by a new hold: name the hold with --token %d (fairlock rm --token %d %s %s), or give --force",
							key, int64(lease), kv.CreateRevision, kv.CreateRevision, shellQuote(name), shellQuote(key))
					}
				}
				token = kv.CreateRevision // delete what was inspected, not a newer key
			}
			resp, err := cli.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(key), "=", token)).
				Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
				Else(clientv3.OpGet(key)).
				Commit()
			if err != nil {
				return etcdFailure(err, "rm %s", key)
			}
			if !resp.Succeeded {
				kvs := resp.Responses[0].GetResponseRange().Kvs
				if len(kvs) == 0 {
					return fail(exitFailure, "rm: no key %s (already gone?): deleted nothing", key)
				}
				return fail(exitFailure, "rm: %s is now token %d, not %d (a new hold of its session): deleted nothing", key, kvs[0].CreateRevision, token)
			}
			del := resp.Responses[0].GetResponseDeleteRange()
			if del.Deleted == 0 || len(del.PrevKvs) == 0 {
				return fail(exitFailure, "rm: no key %s (already gone?)", key)
			}
			prev := del.PrevKvs[0]
			fmt.Fprintln(os.Stdout, removedLine(name, prev.Key, prev.CreateRevision, clientv3.LeaseID(prev.Lease), prev.Value))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.Int64Var(&token, "token", 0, "delete KEY only if it is still the hold with this token (ls's TOKEN column)")
	fs.BoolVar(&force, "force", false, "without --token, delete KEY even though its lease is alive")
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
