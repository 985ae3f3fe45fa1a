package main

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fairlock/fairlock"
	fairlockprom "github.com/fairlock/fairlock/prometheus"
)

// metricsFlag is --metrics-addr, of the commands that hold something
// while a command runs (exec, elect).
type metricsFlag struct{ addr string }

func (f *metricsFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "metrics-addr", "",
		"serve Prometheus metrics of the hold at http://`ADDR`/metrics while fairlock runs (ADDR is host:port, :port for every interface)")
}

// metrics serves the metrics of one run's locks, from before it connects
// until it ends.
type metrics struct {
	c    *fairlockprom.Collector
	addr net.Addr
	stop context.CancelFunc
	done chan struct{}
}

// start listens on --metrics-addr and serves the metrics there in the
// background until close. It listens before fairlock connects or joins a
// line, so that an address that cannot be listened on is a usage error
// that has cost nothing. It returns nil, serving nothing, when no address
// is given.
func (f *metricsFlag) start(ctx context.Context, cmd *cobra.Command) (*metrics, error) {
	if f.addr == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.addr)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: --metrics-addr %s: %v", cmd.CommandPath(), f.addr, err)}
	}
	m := &metrics{c: fairlockprom.New(), addr: ln.Addr(), done: make(chan struct{})}
	// The scrapes end with the run, not with a signal to fairlock, which
	// is forwarded to the command first.
	var sctx context.Context
	sctx, m.stop = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(m.done)
		// A server that fails is reported and leaves the command running:
		// the metrics are a view of the hold, not a condition of it.
		if err := fairlockprom.ServeListener(sctx, ln, m.c); err != nil {
			fmt.Fprintf(os.Stderr, "fairlock: --metrics-addr %s: stopped serving metrics: %v\n", m.addr, err)
		}
	}()
	return m, nil
}

// hook gives cfg's locks the collector's hooks. A nil m leaves cfg as it is.
func (m *metrics) hook(cfg *fairlock.Config) {
	if m != nil {
		cfg.Hooks = m.c.Hooks()
	}
}

// close stops serving (scrapes in flight get a few seconds to finish) and
// closes the listener. A nil m is fine.
func (m *metrics) close() {
	if m == nil {
		return
	}
	m.stop()
	<-m.done
}
