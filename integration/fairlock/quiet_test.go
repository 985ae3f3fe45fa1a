package fairlock_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/fairlock/fairlock"
)

// The Client's etcd client logs nothing: etcd's default logger prints a
// JSON warning on standard error for every failed call, an Unlock with a
// cancelled ctx included. Not parallel: it swaps os.Stderr, which etcd's
// default logger would pick up when the client is made.
func TestClientLogsNothing(t *testing.T) {
	c := oneMember(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	captured := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- b
	}()
	func() {
		defer func() { os.Stderr = stderr }()
		fc := connect(t, c, fairlock.Config{Endpoints: []string{c.Members[0].GRPCURL}})
		if fc.Etcd().GetLogger().Core().Enabled(zapcore.FatalLevel) {
			t.Error("the etcd client's logger is enabled")
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		m, err := fc.Mutex("/connect/quiet")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		cancelled, cancelNow := context.WithCancel(ctx)
		cancelNow()
		m.Unlock(cancelled)                    //nolint:errcheck // the call fails; what it prints is the point
		fc.Etcd().Get(cancelled, "/connect/k") //nolint:errcheck // ditto, straight through etcd's client
		if err := m.Unlock(ctx); err != nil && err != context.Canceled {
			t.Logf("Unlock: %v", err)
		}
		fc.Close()
	}()
	w.Close()
	if out := <-captured; len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("the client printed on standard error:\n%s", out)
	}
}
