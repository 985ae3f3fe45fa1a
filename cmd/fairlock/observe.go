package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock/election"
)

func newObserve(conn *connFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "observe [--json] NAME",
		Short: "Print who leads the election NAME, one line per term, as it changes",
		Long: `observe prints who leads the election NAME, then one line for every change:
every term of a rotation, every value a leader proclaims, and every moment
nobody leads, in the order they happened, until SIGINT or SIGTERM (exit 0).
It writes nothing to etcd but its session.

A line is "leader TOKEN LEASE KEY VALUE" (TOKEN is the term's fencing
token, LEASE the leader's session lease in hex, VALUE what it campaigned
with: host/pid of a fairlock elect) or "none" when the line of candidates is
empty. Cut off from etcd, or from the majority of its members, observe waits
and then prints every term it missed. Only if etcd has compacted that
history meanwhile can terms be missing: the next line then follows a
notice on stderr, and has "gap": true with --json.

--json prints one object a line: {"name", "leader" (false for none),
"token", "key", "lease" (hex), "value", "gap"}.`,
		Example: `  fairlock observe /svc/scheduler
  fairlock observe --json /svc/scheduler | jq -r 'select(.leader) | .value'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(cmd, args, false)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			c, _, err := conn.dial(ctx, cmd)
			if err != nil {
				if ctx.Err() != nil {
					return nil // told to stop before it could start
				}
				return err
			}
			defer c.Close()
			e, err := c.Election(name)
			if err != nil {
				return fail(exitFailure, "observe %s: %s", name, libMessage(err))
			}
			return printTerms(ctx, os.Stdout, os.Stderr, name, asJSON, e.ObserveWith(ctx, election.ObserveOptions{Empty: true}))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line, for scripts")
	return cmd
}

// printTerms prints every report of seen until it closes; the channel
// closes when ctx ends (nil) or the client is closed (an error).
func printTerms(ctx context.Context, out, notices io.Writer, name string, asJSON bool, seen <-chan election.Leader) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // values are host/pid and command lines
	for l := range seen {
		if l.Gap {
			fmt.Fprintf(notices, "fairlock: etcd compacted the history of %s while observe was cut off or behind: terms before the next may be missing\n", name)
		}
		var err error
		if asJSON {
			err = enc.Encode(observeRecord(name, l))
		} else {
			_, err = fmt.Fprintln(out, observeLine(l))
		}
		if err != nil {
			return fail(exitFailure, "observe %s: %v", name, err)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return fail(exitFailure, "observe %s: the connection to etcd was closed", name)
}

// observeJSON is one line of observe --json; its field names are stable.
type observeJSON struct {
	Name   string `json:"name"`
	Leader bool   `json:"leader"`
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	Value  string `json:"value"`
	Gap    bool   `json:"gap"`
}

func observeRecord(name string, l election.Leader) observeJSON {
	if l.Vacant() {
		return observeJSON{Name: name, Gap: l.Gap}
	}
	return observeJSON{Name: name, Leader: true, Token: l.Token, Key: l.Key,
		Lease: strconv.FormatInt(int64(l.Lease), 16), Value: l.Value, Gap: l.Gap}
}

// observeLine is one line of observe's text output.
func observeLine(l election.Leader) string {
	if l.Vacant() {
		return "none"
	}
	return fmt.Sprintf("leader %d %s %s %s", l.Token, strconv.FormatInt(int64(l.Lease), 16), l.Key, l.Value)
}
