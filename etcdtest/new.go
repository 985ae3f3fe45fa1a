package etcdtest

import (
	"context"
	"testing"
)

// New starts a member for the test t, with fsync off, and returns its
// client endpoints; the member stops and its data goes when t and its
// subtests end. A member that fails to start fails t (t.Fatal), so call New
// from the test's goroutine. Start it once per test (or once per package,
// from TestMain, with Start) rather than once per subtest: a start takes
// about a second.
func New(t testing.TB) []string {
	t.Helper()
	e, err := Start(context.Background(), Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("etcdtest: close: %v", err)
		}
	})
	return e.Endpoints()
}
