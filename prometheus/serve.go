package fairlockprom

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrNilCollector reports a nil *Collector given to Serve.
var ErrNilCollector = errors.New("fairlockprom: nil collector")

// shutdownTimeout bounds how long Serve waits for scrapes in flight once
// its context has ended.
const shutdownTimeout = 5 * time.Second

// Serve serves c's metrics, with the Go runtime's and the process's, at
// http://addr/metrics until ctx ends; addr is host:port as net.Listen
// takes it (":9090" for every interface). It returns at once with an error
// when c is nil or addr cannot be listened on, and returns nil at once,
// listening to nothing, if ctx has already ended. Otherwise it is
// ServeListener on a listener at addr.
func Serve(ctx context.Context, addr string, c *Collector) error {
	if c == nil {
		return ErrNilCollector
	}
	if ctx.Err() != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, c)
}

// ServeListener is Serve on a listener the caller opened, so that a
// command can report a bad address before it starts its work and serve in
// the background. It closes ln in every case. When ctx ends it stops
// accepting scrapes, lets those in flight finish (at most 5 s, then they
// are cut) and returns nil; any other failure of the server is returned as
// it happens.
func ServeListener(ctx context.Context, ln net.Listener, c *Collector) error {
	if c == nil {
		ln.Close()
		return ErrNilCollector
	}
	reg := prometheus.NewRegistry()
	for _, m := range []prometheus.Collector{
		c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(m); err != nil {
			ln.Close()
			return err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// A fresh context: ctx is dead, and the scrapes in flight deserve an
	// answer, within bounds.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if srv.Shutdown(sctx) != nil {
		srv.Close() // cut the scrapes still running
	}
	<-served // http.ErrServerClosed
	return nil
}
