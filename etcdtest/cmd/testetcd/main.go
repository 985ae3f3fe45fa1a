// Command testetcd runs a single-member etcd in a process of its own, for
// trying fairlock and for tests: it starts the member on loopback ports
// (free ones, or -addr for the client port) with its data in a new
// temporary directory, prints the client endpoints (comma-separated) as the
// first line of its standard output, and runs until its standard input
// closes or it gets SIGTERM or SIGINT (Ctrl-C). Then it stops the member,
// removes the data and exits 0.
//
// To try the library and the fairlock command, from a checkout, in a
// terminal of its own:
//
//	go run ./etcdtest/cmd/testetcd -addr 127.0.0.1:2379
//
// 127.0.0.1:2379 is where etcd's clients and the fairlock command look by
// default. Standard input closing is what stops it when whoever started it
// dies without a word: a script keeps a pipe to it open for as long as the
// member is needed, or passes -ignore-stdin and stops it with a signal. A
// job sent to the background of a shell (`&`, nohup) has no standard input
// to keep, so without -ignore-stdin it stops at once, saying so. In the
// background, build it first (a signal to `go run` does not reach the
// program it runs):
//
//	go build -o testetcd ./etcdtest/cmd/testetcd
//	./testetcd -addr 127.0.0.1:2379 -ignore-stdin &   # kill %1 stops it
//
// The data is thrown away: this is not how to run etcd for real.
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
	addr := flag.String("addr", "", `host:port to serve clients at, such as 127.0.0.1:2379 ("" means a free loopback port)`)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "testetcd: no arguments expected, got %q (see testetcd -h)\n", flag.Args())
		os.Exit(2)
	}
	opts := etcdtest.Options{NoFsync: !*fsync, LogLevel: *logLevel, StartTimeout: *timeout, ClientAddr: *addr}
	if err := run(opts, *ignoreStdin); err != nil {
		fmt.Fprintln(os.Stderr, "testetcd:", err)
		os.Exit(1)
	}
}

func run(opts etcdtest.Options, ignoreStdin bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	e, err := etcdtest.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	endpoints := strings.Join(e.Endpoints(), ",")
	if _, err := fmt.Println(endpoints); err != nil {
		return err
	}
	how := "Ctrl-C, SIGTERM or the end of standard input stops it"
	if ignoreStdin {
		how = "Ctrl-C or SIGTERM stops it"
	}
	fmt.Fprintf(os.Stderr, "testetcd: etcd serves at %s (data in a temporary directory, removed on exit); %s\n",
		endpoints, how)
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
		// Say why, or a member started in the background (`&`, nohup: no
		// standard input to keep open) seems to exit for nothing.
		fmt.Fprintln(os.Stderr, "testetcd: standard input closed, stopping; to keep it running without one "+
			"(in the background: & or nohup), pass -ignore-stdin and stop it with a signal")
	case err := <-e.Server().Err():
		return fmt.Errorf("etcd stopped: %w", err)
	}
	return e.Close()
}
