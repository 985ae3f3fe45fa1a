package testcluster

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Eventually polls cond every 10 ms until it holds, failing the test after
// timeout. Use it to wait for a state in etcd, not as a sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Keys returns every key under prefix, in key order.
func Keys(t testing.TB, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("get %s: %v", prefix, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return keys
}

// WaitKeys waits until exactly n keys are under prefix.
func WaitKeys(t testing.TB, cli *clientv3.Client, prefix string, n int) {
	t.Helper()
	Eventually(t, 20*time.Second, "keys under "+prefix, func() bool { return len(Keys(t, cli, prefix)) == n })
}

// Revision returns the store's current revision.
func Revision(t testing.TB, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(context.Background(), "\x00")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return resp.Header.Revision
}
