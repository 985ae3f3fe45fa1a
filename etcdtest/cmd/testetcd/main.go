// Command testetcd runs a single-member etcd for tests, in a process of its
// own: it starts the member on free loopback ports with its data in a new
// temporary directory, prints the client endpoints (comma-separated) as the
// first line of its standard output, and runs until its standard input
// closes or it gets SIGTERM or SIGINT. Then it stops the member, removes
// the data and exits 0.
//
// Standard input closing is what stops it when whoever started it dies
// without a word: keep a pipe to it open for as long as the member is
// needed (-ignore-stdin runs it until a signal alone).
//
//	go run github.com/fairlock/fairlock/etcdtest/cmd/testetcd
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fairlock/fairlock/etcdtest"
)

func main() {
	fsync := flag.Bool("fsync", false, "fsync writes, as in production (slower)")
	ignoreStdin := flag.Bool("ignore-stdin", false, "keep running when standard input closes; stop on a signal only")
	logLevel := flag.String("log-level", "", `etcd's log level, to standard error ("" means fatal)`)
	timeout := flag.Duration("start-timeout", 30*time.Second, "give up if the member is not ready by then")
	flag.Parse()
	if err := run(*fsync, *ignoreStdin, *logLevel, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "testetcd:", err)
		os.Exit(1)
	}
}

func run(fsync, ignoreStdin bool, logLevel string, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: !fsync, LogLevel: logLevel, StartTimeout: timeout})
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := fmt.Println(strings.Join(e.Endpoints(), ",")); err != nil {
		return err
	}
	stdinClosed := make(chan struct{})
	if !ignoreStdin {
		go func() {
			io.Copy(io.Discard, os.Stdin) //nolint:errcheck // any end of input is the signal
			close(stdinClosed)
		}()
	}
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	case err := <-e.Server().Err():
		return fmt.Errorf("etcd stopped: %w", err)
	}
	return e.Close()
}
