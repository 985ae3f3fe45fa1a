package cmd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrapeTimeout bounds one scrape of fairlock's metrics.
const scrapeTimeout = 10 * time.Second

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape fetches http://addr/metrics and returns the value of the sample
// of metric whose labels include every one of labels (name="value"), and
// whether there is one.
func scrape(t *testing.T, addr, metric string, labels ...string) (float64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	// No connection outlives the scrape: goleak checks for its goroutines.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", addr, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, metric+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok || !hasLabels(set, labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			t.Fatalf("scrape %s: bad sample %q: %v", addr, line, err)
		}
		return v, true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	return 0, false
}

// hasLabels reports whether the label set a="x",b="y" has every label.
func hasLabels(set string, labels []string) bool {
	have := strings.Split(set, ",")
	for _, l := range labels {
		found := false
		for _, h := range have {
			found = found || h == l
		}
		if !found {
			return false
		}
	}
	return true
}

// While the command runs under exec or elect, --metrics-addr serves the
// hold's metrics: one grant of the lock, and nothing released yet.
func TestMetricsAddrServesTheHoldWhileTheCommandRuns(t *testing.T) {
	for _, verb := range []string{"exec", "elect"} {
		t.Run(verb, func(t *testing.T) {
			name := lockName(t)
			dir := t.TempDir()
			log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
			addr := freeAddr(t)
			args := []string{verb, "--metrics-addr", addr, name, "--"}
			p := start(t, nil, append(args, holdUntil(log, release, verb)...)...)
			eventually(t, "the command to start", func() bool { return len(lines(t, log)) == 1 || p.exited() })
			if p.exited() {
				t.Fatalf("fairlock exited before its command ran: exit %d; stderr: %s", p.wait(), p.Stderr())
			}

			lock := fmt.Sprintf("lock=%q", name)
			kind := `kind="exclusive"`
			if got, ok := scrape(t, addr, "fairlock_grants_total", lock, kind); !ok || got != 1 {
				t.Errorf("fairlock_grants_total{%s,%s} = %v (present %v), want 1", lock, kind, got, ok)
			}
			if got, ok := scrape(t, addr, "fairlock_wait_seconds_count", lock, kind); !ok || got != 1 {
				t.Errorf("fairlock_wait_seconds_count{%s,%s} = %v (present %v), want 1", lock, kind, got, ok)
			}
			if got, _ := scrape(t, addr, "fairlock_releases_total", lock, kind); got != 0 {
				t.Errorf("fairlock_releases_total{%s,%s} = %v while held, want 0", lock, kind, got)
			}

			writeFile(t, release, "")
			p.wantExit(0)
		})
	}
}

// An address that cannot be listened on exits 2 with one line, before
// fairlock connects or joins the line: nothing runs, nothing is written.
func TestMetricsAddrThatCannotBeListenedOnExits2(t *testing.T) {
	cli := etcd(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		verb, addr string
	}{
		{"exec", "127.0.0.1:99999"},     // no such port
		{"exec", "127.0.0.1"},           // no port at all
		{"exec", busy.Addr().String()},  // taken
		{"elect", busy.Addr().String()}, // taken
		{"elect", "127.0.0.1:-1"},       // not a port
	} {
		name := lockName(t)
		ran := filepath.Join(t.TempDir(), "ran")
		p, code := run(t, nil, tc.verb, "--metrics-addr", tc.addr, name, "--", "touch", ran)
		stderr := p.Stderr()
		if code != 2 {
			t.Errorf("%s --metrics-addr %s: exit %d, want 2; stderr: %s", tc.verb, tc.addr, code, stderr)
			continue
		}
		oneLine(t, tc.verb+" --metrics-addr "+tc.addr, stderr)
		if !strings.Contains(stderr, "--metrics-addr "+tc.addr) {
			t.Errorf("%s --metrics-addr %s: stderr %q does not name the flag and address", tc.verb, tc.addr, stderr)
		}
		if exists(ran) {
			t.Errorf("%s --metrics-addr %s: ran the command", tc.verb, tc.addr)
		}
		if got := keysUnder(t, cli, name+"/"); len(got) != 0 {
			t.Errorf("%s --metrics-addr %s: left %q in etcd", tc.verb, tc.addr, got)
		}
	}

	// Before connecting: with an etcd that cannot be reached, the address
	// is still what is reported, at once, not the endpoint after the dial
	// timeout.
	p, code := run(t, nil, "--endpoints", "127.0.0.1:1", "--dial-timeout", "20s",
		"exec", "--metrics-addr", busy.Addr().String(), lockName(t), "--", "true")
	if code != 2 || !strings.Contains(p.Stderr(), "--metrics-addr") {
		t.Fatalf("unreachable etcd and a taken --metrics-addr: exit %d, stderr %q; want 2 naming --metrics-addr", code, p.Stderr())
	}
}
