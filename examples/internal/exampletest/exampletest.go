// Package exampletest holds what the example programs' tests share.
package exampletest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/fairlock/fairlock/etcdtest"
)

// Etcd starts an embedded etcd with fsync off (a test needs no durability)
// and stops it, removing its data, when the test ends.
func Etcd(t testing.TB, ctx context.Context) *etcdtest.Etcd {
	t.Helper()
	e, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Output collects a program's printout; the program's goroutines may
// write to it at once.
type Output struct {
	// OnWrite, if set, sees every write before it is kept.
	OnWrite func(string)

	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.OnWrite != nil {
		o.OnWrite(string(p))
	}
	return o.buf.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
