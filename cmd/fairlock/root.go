package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string) int {
	root := newRoot()
	root.SetArgs(args)
	code, msg := exitCode(root.ExecuteContext(ctx))
	if msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	return code
}

func newRoot() *cobra.Command {
	conn := &connFlags{}
	root := &cobra.Command{
		Use:   "fairlock",
		Short: "Run commands under fair locks held in etcd",
		Long: `fairlock runs a command under a fair lock held in etcd: callers are served
first come, first served, across machines. It shows a lock's line, once or
as it changes, and removes a stray entry that wedges one.

Lock names are absolute paths such as /jobs/nightly; etcdctl get --prefix
NAME/ shows the keys of NAME's line.`,
		Example: `  fairlock exec /jobs/backup -- /usr/local/bin/backup --full
  fairlock ls /jobs/backup
  fairlock ls --watch /jobs/backup
  fairlock rm /jobs/backup /jobs/backup/.x/stray --token 1234`,
		// Errors are printed once, on one line, by run; bad input gets no
		// usage dump (-h shows it).
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
		Args:                       cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(cmd, "name a command: exec, ls, rm or elect")
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
			return usageError(cmd, msg)
		},
	}
	root.PersistentFlags().SortFlags = false
	conn.register(root.PersistentFlags())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, err.Error())
	})
	root.Version = version()
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(newExec(conn), newLs(conn), newRm(conn), newElect(conn), newObserve(conn), newYield(conn))
	// Each Use line spells out its flags.
	for _, c := range append(root.Commands(), root) {
		c.DisableFlagsInUseLine = true
	}
	return root
}

// usageError is a one-line error for bad input, naming the command whose
// help tells more; it exits 2.
func usageError(cmd *cobra.Command, msg string) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("%s: %s (see %s -h)", cmd.CommandPath(), msg, cmd.CommandPath())}
}
