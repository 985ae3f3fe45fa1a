package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrCheckFailed marks a run whose own check failed; the run has already
// printed why.
var ErrCheckFailed = errors.New("check failed")

// Main runs run with a context that Ctrl-C (or SIGTERM) cancels, so that run
// still closes its sessions and removes the embedded etcd on its way out, and
// exits: 0 on success, 130 when interrupted, 1 on any other error (printed,
// unless it is ErrCheckFailed).
func Main(prog string, run func(ctx context.Context, out io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	switch {
	case err == nil:
		return
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(os.Stderr, "%s: interrupted\n", prog)
		os.Exit(130)
	case !errors.Is(err, ErrCheckFailed):
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	}
	os.Exit(1)
}
