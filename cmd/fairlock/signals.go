package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// forwardedSignals reach the command's process group while it runs.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// notifySignals starts catching the forwarded signals; stop undoes it.
func notifySignals() (sigs chan os.Signal, stop func()) {
	sigs = make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	return sigs, func() { signal.Stop(sigs) }
}

// isStopSignal reports whether sig, received while fairlock waits for its
// turn, makes it leave the line and exit.
func isStopSignal(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}

// interruptible runs op with a context that the first stop signal from
// sigs cancels, and returns once op has: a waiting fairlock leaves the line
// as soon as it is told to go. It returns the signal (0 for none); other
// signals that come meanwhile are dropped, as there is no command yet to
// pass them to.
func interruptible(ctx context.Context, sigs <-chan os.Signal, op func(context.Context)) syscall.Signal {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		op(ctx)
	}()
	var got syscall.Signal
	for {
		select {
		case <-done:
			return got
		case sig := <-sigs:
			if s := sig.(syscall.Signal); isStopSignal(s) && got == 0 {
				got = s
				cancel()
			}
		}
	}
}

// signalName is "SIGINT" for syscall.SIGINT, and so on.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}
