package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock/queue"
)

// exitNobody: yield found nobody holding the lock.
const exitNobody = 3

func newYield(conn *connFlags) *cobra.Command {
	var (
		asJSON bool
		reason string
	)
	cmd := &cobra.Command{
		Use:   "yield [--reason R] [--json] NAME",
		Short: "Ask the holders of the lock NAME to give it up",
		Long: `yield asks every current holder of the lock NAME (the exclusive holder, or
every reader, or every permit holder) to give its hold up, for the reason
R, and prints who was asked. It grants nothing and moves nobody in line:
a holder learns of the request (YieldRequested in the library; fairlock
exec passes it on to its command) and releases as usual, or keeps the
lock. The request is bound to the hold it asks: it never reaches the next
holder, and it goes when that hold ends. Asking a holder already asked
writes nothing and prints the first request's reason.

It exits 0 once the holders are asked, 3 when nobody holds NAME (nothing
is written), 1 on an etcd error, 2 on bad input.

--json prints one object: {"name": NAME, "asked": [...]}, each with the
fields mode, limit, token, key, lease (hex), value and reason; "asked" is
[] when nobody holds.`,
		Example: `  fairlock yield --reason "deploy 1.4" /jobs/backup
  fairlock yield --json /jobs/backup | jq -r '.asked[].value'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(cmd, args, false)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("reason") {
				reason = "asked by fairlock yield on " + queue.DefaultIdentity()
			}
			c, ctx, done, err := conn.dialOnce(cmd)
			if err != nil {
				return err
			}
			defer done()
			q, err := c.Queue(name)
			if err != nil {
				return fail(exitFailure, "yield %s: %s", name, libMessage(err))
			}
			asked, err := q.AskToYield(ctx, reason)
			nobody := errors.Is(err, queue.ErrNoHolder)
			if err != nil && !nobody {
				return etcdFailure(err, "yield %s", name)
			}
			out := yieldOutput{Name: name, Asked: yieldEntries(name, asked)}
			if asJSON {
				if err := writeJSON(os.Stdout, out); err != nil {
					return fail(exitFailure, "yield: %s", err)
				}
			} else if !nobody {
				printAsked(os.Stdout, out)
			}
			if nobody {
				return fail(exitNobody, "yield: nobody holds %s", name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", `why the holders are asked, passed on to them (default "asked by fairlock yield on HOST/PID")`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, for scripts")
	return cmd
}

// yieldOutput is what yield prints; its JSON field names are stable.
type yieldOutput struct {
	Name  string       `json:"name"`
	Asked []yieldEntry `json:"asked"`
}

type yieldEntry struct {
	Mode   string `json:"mode"`
	Limit  int    `json:"limit"`
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// yieldEntries turns the entries AskToYield asked into yield's output.
func yieldEntries(name string, asked []queue.Entry) []yieldEntry {
	out := make([]yieldEntry, 0, len(asked))
	for _, e := range asked {
		mode, limit := entryMode(name, e)
		out = append(out, yieldEntry{Mode: mode, Limit: limit, Token: e.Rev, Key: e.Key,
			Lease: strconv.FormatInt(int64(e.Lease), 16), Value: e.Value, Reason: e.YieldReason})
	}
	return out
}

// printAsked prints who was asked, as a table.
func printAsked(w io.Writer, out yieldOutput) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tTOKEN\tLEASE\tKEY\tVALUE\tREASON")
	for _, e := range out.Asked {
		mode := e.Mode
		if mode == string(queue.Permit) {
			mode = fmt.Sprintf("permit(%d)", e.Limit)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n",
			mode, e.Token, e.Lease, printable(e.Key), printable(e.Value), printable(e.Reason))
	}
	tw.Flush()
}
