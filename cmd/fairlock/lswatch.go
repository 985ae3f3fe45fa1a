package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/keys"
)

// How long ls --watch pauses before it watches again after the watch
// broke or a read failed: doubling from the first to the second while etcd
// stays away, so that a dead cluster is not hammered.
const (
	watchRetryFirst = 500 * time.Millisecond
	watchRetryMax   = 5 * time.Second
)

// lineRead is one read of the line by ls --watch, or why it failed.
type lineRead struct {
	at  time.Time // when the change that prompted the read was seen
	gap string    // "" when the watch ran unbroken since the previous read; else why not
	// brokeAt, after a gap: when the watch broke. Until then the line was
	// as the previous read saw it.
	brokeAt time.Time
	out     lsOutput
	err     error
}

// lsWatch shows name's line as it changes until SIGINT or SIGTERM (exit
// 0): a table redrawn in place on a terminal, else one line per event.
func lsWatch(cmd *cobra.Command, conn *connFlags, name string, f lsFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, cfg, err := conn.dial(ctx, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return nil // told to stop before it could start
		}
		return err
	}
	layout, err := keys.New(name)
	if err != nil {
		c.Close()
		return usageError(cmd, libMessage(err))
	}
	reads := make(chan lineRead)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		follow(ctx, c, cfg, layout, reads)
	}()
	defer func() {
		stop() // ends follow's watch and reads
		<-followed
	}()
	tr := newLineTracker(name)
	var v watchView
	if _, _, tty := terminalSize(os.Stdout); tty && !f.json {
		v = newScreenView(os.Stdout, tr, f.wide)
	} else {
		v = newLogView(os.Stdout, os.Stderr, f.json)
	}
	return runWatchView(ctx, v, tr, reads)
}

// watchView is how ls --watch shows the line: on a terminal or in a log.
type watchView interface {
	// show shows a read of the line and what changed since the last one.
	show(r lineRead, evs []watchEvent) error
	// failed shows that a read or the watch failed; ls watches again.
	failed(err error)
	// redraw draws the line again, as of now: the terminal's clock ticks
	// and its size may change. Nil for a log.
	redraw(now time.Time) error
}

// runWatchView feeds v with the reads, and what tr makes of them, until
// ctx ends. A terminal's view is redrawn every second and when the
// terminal is resized.
func runWatchView(ctx context.Context, v watchView, tr *lineTracker, reads <-chan lineRead) error {
	var ticks <-chan time.Time
	var resized chan os.Signal
	if _, ok := v.(*screenView); ok {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		ticks = t.C
		resized = make(chan os.Signal, 1)
		signal.Notify(resized, syscall.SIGWINCH)
		defer signal.Stop(resized)
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case r := <-reads:
			if r.err != nil {
				v.failed(r.err)
				continue
			}
			err = v.show(r, tr.update(r))
		case now := <-ticks:
			err = v.redraw(now)
		case <-resized:
			err = v.redraw(time.Now())
		}
		if err != nil {
			return fail(exitFailure, "ls --watch: %v", err)
		}
	}
}

// follow watches layout's keys through c and sends a read of the line at
// the start and after every change of it, until ctx ends; it closes its
// client then. A broken watch (etcd compacted past it, lost its leader, or
// could not be reached) and a failed read are sent as such; follow then
// watches and reads again, marking the next read as one after a gap. A
// client whose session has ended (etcd gone for longer than its TTL, or
// replaced) reads nothing more: follow connects again with cfg.
func follow(ctx context.Context, c *fairlock.Client, cfg fairlock.Config, layout keys.Layout, reads chan<- lineRead) {
	defer func() {
		if c != nil {
			closeSoon(c)
		}
	}()
	gap, pause := lineRead{}, watchRetryFirst
	for {
		why, readOK := "", false
		if c, why = reconnect(ctx, c, cfg); c != nil {
			why, readOK = watchOnce(ctx, c, layout, 2*cfg.DialTimeout, gap, reads)
		} else if ctx.Err() == nil {
			send(ctx, reads, lineRead{err: errors.New(why)})
		}
		if ctx.Err() != nil {
			return
		}
		if readOK {
			pause = watchRetryFirst
		}
		// The first break since the last read is the gap's cause; the
		// failures that follow it are not news.
		if gap.gap == "" || readOK {
			gap = lineRead{gap: why, brokeAt: time.Now()}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, watchRetryMax)
	}
}

// reconnect returns c while its session lasts; else it closes c and
// connects again with cfg, returning nil and why when it cannot.
func reconnect(ctx context.Context, c *fairlock.Client, cfg fairlock.Config) (*fairlock.Client, string) {
	if c != nil {
		select {
		case <-c.Done():
			closeSoon(c)
		default:
			return c, ""
		}
	}
	c, err := connect(ctx, cfg)
	if err != nil {
		return nil, "could not connect again: " + libMessage(err)
	}
	return c, ""
}

// closeTimeout bounds how long ls --watch waits for its session's lease
// to be revoked: the session holds no key, and an etcd that is gone must
// not keep a Ctrl-C or a reconnection waiting for the lease's TTL. The
// lease then expires by itself.
const closeTimeout = time.Second

// closeSoon closes c, waiting at most closeTimeout.
func closeSoon(c *fairlock.Client) {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.Close()
	}()
	select {
	case <-closed:
	case <-time.After(closeTimeout):
	}
}

// watchOnce opens one watch of the keys under layout's name, then reads the
// line, and again at each change of it, until the watch breaks; it returns
// why, and whether any read succeeded. The watch starts before the first
// read and at the current revision ("now", as the library's waits do), so
// no change after the read is missed, and none waits for etcd's slow
// resync of watchers that start in the past. The watch also ends when the
// connection to etcd drops: etcd's client would resume it silently, and
// hand over the changes made meanwhile as if they had just happened.
func watchOnce(ctx context.Context, c *fairlock.Client, layout keys.Layout, readTimeout time.Duration,
	gap lineRead, reads chan<- lineRead) (why string, readOK bool) {
	wctx, cancel := context.WithCancelCause(clientv3.WithRequireLeader(ctx))
	guarded := make(chan struct{})
	go func() {
		defer close(guarded)
		endOnDisconnect(wctx, c.Etcd().ActiveConnection(), cancel)
	}()
	defer func() {
		cancel(nil)
		<-guarded
	}()
	wch := c.Etcd().Watch(wctx, layout.EtcdMutexPrefix(), clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	created, ccancel := context.WithTimeout(ctx, readTimeout)
	resp, open := receive(created, wch)
	ccancel()
	if why := watchBroken(wctx, resp, open); why != "" {
		if ctx.Err() == nil {
			send(ctx, reads, lineRead{err: fmt.Errorf("could not watch the line: %s", why)})
		}
		return why, false
	}
	at := time.Now()
	for {
		rctx, rcancel := context.WithTimeout(ctx, readTimeout)
		out, err := readLine(rctx, c, layout.Name(), false)
		rcancel()
		if err != nil {
			send(ctx, reads, lineRead{err: err})
			return "could not read the line: " + libMessage(err), readOK
		}
		gap.at, gap.out = at, out
		if !send(ctx, reads, gap) {
			return "", readOK
		}
		gap, readOK = lineRead{}, true
		for changed := false; !changed; {
			resp, open := receive(ctx, wch)
			if why := watchBroken(wctx, resp, open); why != "" {
				if ctx.Err() == nil {
					send(ctx, reads, lineRead{err: errors.New(why)})
				}
				return why, readOK
			}
			changed = touchesLine(layout, resp.Events)
		}
		at = time.Now()
	}
}

// receive is the next response of wch, or false when it closed or ctx
// ended.
func receive(ctx context.Context, wch clientv3.WatchChan) (clientv3.WatchResponse, bool) {
	select {
	case resp, ok := <-wch:
		return resp, ok
	case <-ctx.Done():
		return clientv3.WatchResponse{}, false
	}
}

// send sends r, or returns false once ctx has ended.
func send(ctx context.Context, reads chan<- lineRead, r lineRead) bool {
	select {
	case reads <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// errDisconnected ends a watch whose connection to etcd dropped.
var errDisconnected = errors.New("lost the connection to etcd")

// endOnDisconnect cancels with errDisconnected once conn is no longer
// ready, or returns when ctx ends.
func endOnDisconnect(ctx context.Context, conn *grpc.ClientConn, cancel context.CancelCauseFunc) {
	for state := conn.GetState(); state == connectivity.Ready; state = conn.GetState() {
		if !conn.WaitForStateChange(ctx, state) {
			return
		}
	}
	cancel(errDisconnected)
}

// watchBroken says why a watch response ends the watch of wctx, "" when it
// does not.
func watchBroken(wctx context.Context, resp clientv3.WatchResponse, open bool) string {
	switch {
	case errors.Is(context.Cause(wctx), errDisconnected):
		return errDisconnected.Error()
	case !open:
		return "the watch ended (etcd did not answer in time, or the connection closed)"
	case resp.CompactRevision != 0:
		return fmt.Sprintf("etcd compacted its history past the watch (revision %d)", resp.CompactRevision)
	case resp.Err() != nil:
		return "the watch broke: " + libMessage(resp.Err())
	case resp.Canceled:
		return "etcd cancelled the watch"
	}
	return ""
}

// touchesLine reports whether any of evs is of a key of layout's line or a
// foreign key beside it, rather than of a lock below it.
func touchesLine(layout keys.Layout, evs []*clientv3.Event) bool {
	for _, ev := range evs {
		if k := classifyKey(layout, string(ev.Kv.Key)); k == keyInLine || k == keyForeign {
			return true
		}
	}
	return false
}
