package fairmutex_test

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// A session that locks and unlocks many times writes a handful of keys,
// not one per call: every read of a line visits every key ever written
// under it until etcd compacts, so a new key per call would make a lock
// slower the longer it lives. The fencing token still rises with every
// grant: a re-created key gets a new create revision.
func TestKeysReusedPerSession(t *testing.T) {
	const name, rounds = "/reuse", 200
	c := cluster(t)
	nd := newNode(t, c, 0, name, 30)
	observer := testcluster.Client(t, c.Cluster, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Every key etcd writes under the line, as a watch sees it.
	written := watchKeys(ctx, t, observer, name+"/")
	granted := map[string]bool{}
	var last int64
	for i := range rounds {
		if err := nd.m.Lock(ctx); err != nil {
			t.Fatalf("round %d: Lock: %v", i, err)
		}
		if tok := nd.m.Token(); tok <= last {
			t.Fatalf("round %d: token %d not above the last one %d", i, tok, last)
		} else {
			last = tok
		}
		granted[nd.m.Key()] = true
		if err := nd.m.Unlock(ctx); err != nil {
			t.Fatalf("round %d: Unlock: %v", i, err)
		}
	}
	keys := written.wait(t, 2*rounds) // a put and a delete per round
	t.Logf("%d rounds: %d keys granted, %d keys written", rounds, len(granted), len(keys))
	if len(granted) > 2 || len(keys) > 2 {
		t.Errorf("%d rounds of one session granted %d keys and wrote %d, want at most 2, such as %v", rounds, len(granted), len(keys), keys[:min(3, len(keys))])
	}
}

// Two Mutex values on one session never share a key while both have an
// entry (etcd #10756), however the session's keys are reused between them:
// they hand the lock back and forth, each queueing behind the other.
func TestTwoMutexesOnOneSessionNeverShareAKey(t *testing.T) {
	const name, rounds = "/reuse-two", 20
	c := cluster(t)
	cli := testcluster.Client(t, c.Cluster, 0)
	s := testcluster.Session(t, cli, 30)
	var ms [2]*fairmutex.Mutex
	for i := range ms {
		m, err := fairmutex.New(s, name)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mustLock(t, ms[0])
	var last int64
	for i := range rounds {
		holder, next := ms[i%2], ms[(i+1)%2]
		locked := make(chan error, 1)
		go func() { locked <- next.Lock(ctx) }()
		testcluster.WaitKeys(t, cli, name+"/", 2)
		keys := testcluster.Keys(t, cli, name+"/")
		if keys[0] == keys[1] {
			t.Fatalf("round %d: two entries under one key %s", i, keys[0])
		}
		held := holder.Key()
		if tok := holder.Token(); tok <= last {
			t.Fatalf("round %d: token %d not above the last one %d", i, tok, last)
		} else {
			last = tok
		}
		if err := holder.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-locked; err != nil {
			t.Fatalf("round %d: Lock: %v", i, err)
		}
		if next.Key() == held {
			t.Fatalf("round %d: the waiter holds with the key %s of the entry that was ahead of it", i, held)
		}
	}
	if err := ms[rounds%2].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// keyWatch collects the keys of every event under a prefix.
type keyWatch struct {
	mu     sync.Mutex
	events int
	keys   map[string]bool
	cancel context.CancelFunc
	done   chan struct{}
}

// watchKeys watches prefix from now until the test ends.
func watchKeys(ctx context.Context, t *testing.T, cli *clientv3.Client, prefix string) *keyWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	w := &keyWatch{keys: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	ch := cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	if resp := <-ch; !resp.Created {
		cancel()
		t.Fatalf("watch %s: %v", prefix, resp.Err())
	}
	go func() {
		defer close(w.done)
		for resp := range ch {
			w.mu.Lock()
			for _, ev := range resp.Events {
				w.events++
				w.keys[string(ev.Kv.Key)] = true
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

// wait returns the keys seen once n events have been, failing the test if
// they do not come.
func (w *keyWatch) wait(t *testing.T, n int) []string {
	t.Helper()
	var keys []string
	testcluster.Eventually(t, 20*time.Second, "the watch's events", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.events < n {
			return false
		}
		keys = keys[:0]
		for k := range w.keys {
			keys = append(keys, k)
		}
		return true
	})
	return keys
}
