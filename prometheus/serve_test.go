package fairlockprom_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

func TestServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := fairlockprom.New()
	cycle(c, "/jobs/nightly", queue.Exclusive, 0, time.Millisecond, time.Second)

	addr := freeAddr(t)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- fairlockprom.Serve(sctx, addr, c) }()

	body := scrape(t, ctx, "http://"+addr+"/metrics", served)
	for _, want := range []string{
		`fairlock_grants_total{kind="exclusive",lock="/jobs/nightly"} 1`,
		`fairlock_hold_seconds_count{kind="exclusive",lock="/jobs/nightly"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after its context ended = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after its context ended")
	}
	// The address is free again.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("address still taken after Serve returned: %v", err)
	}
	ln.Close()
}

func TestServeErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := fairlockprom.Serve(ctx, "127.0.0.1:0", nil); !errors.Is(err, fairlockprom.ErrNilCollector) {
		t.Errorf("Serve(nil collector) = %v, want ErrNilCollector", err)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if err := fairlockprom.Serve(ctx, taken.Addr().String(), fairlockprom.New()); err == nil {
		t.Error("Serve on an address in use returned nil")
	}
	if err := fairlockprom.Serve(ctx, "not an address", fairlockprom.New()); err == nil {
		t.Error("Serve on a bad address returned nil")
	}

	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if err := fairlockprom.Serve(done, "127.0.0.1:0", fairlockprom.New()); err != nil {
		t.Errorf("Serve with an ended context = %v, want nil", err)
	}
}

// TestServeListener serves on a listener opened first, as a command does
// to report a bad address before it starts: no wait for the server to
// come up.
func TestServeListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := fairlockprom.New()
	cycle(c, "/jobs/nightly", queue.Shared, 0, time.Millisecond, time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- fairlockprom.ServeListener(sctx, ln, c) }()

	body := scrape(t, ctx, "http://"+ln.Addr().String()+"/metrics", served)
	if want := `fairlock_releases_total{kind="shared",lock="/jobs/nightly"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("ServeListener after its context ended = %v, want nil", err)
	}
	if !closed(ln) {
		t.Error("listener still open after ServeListener returned")
	}
}

// TestServeListenerErrors checks that a Collector Serve cannot register
// is an error, not a panic, and that the listener is closed either way.
func TestServeListenerErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, c := range map[string]*fairlockprom.Collector{
		"nil collector": nil,
		"bad namespace": fairlockprom.New(fairlockprom.WithNamespace("\xff")),
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := fairlockprom.ServeListener(ctx, ln, c); err == nil {
			t.Errorf("%s: ServeListener returned nil", name)
		}
		if !closed(ln) {
			t.Errorf("%s: listener left open", name)
		}
	}
}

// closed reports whether ln has been closed; an open one would make Accept
// wait, so it is given a deadline.
func closed(ln net.Listener) bool {
	tl := ln.(*net.TCPListener)
	if err := tl.SetDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		return true
	}
	_, err := tl.Accept()
	tl.Close()
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape GETs url until the server has come up, failing when Serve
// returns first or ctx ends.
func scrape(t *testing.T, ctx context.Context, url string, served <-chan error) string {
	t.Helper()
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
			}
			return string(b)
		}
		select {
		case err := <-served:
			t.Fatalf("Serve returned before answering: %v", err)
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", url, err)
		case <-retry.C: // not listening yet
		}
	}
}
