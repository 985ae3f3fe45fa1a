package queue

import (
	"context"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// The registry is this package's one package-level state: the session of
// each lease in use in the process. Every Queue on a lease shares it, so
// that two Mutex values on one concurrency.Session never share a key (etcd
// #10756) and one worker of each kind serves them all; a
// concurrency.Session has no room for it. A session is made on first use
// and dropped when it ends: its slots and keys die with its lease.
var registry = struct {
	mu      sync.Mutex
	byLease map[clientv3.LeaseID]*session
	// gen numbers the sessions made in this process: one dropped when its
	// session ended on this side, while etcd may still hold the lease and
	// entries under its keys, is never made again with the same keys
	// (another concurrency.Session on the same lease, say).
	gen uint64
}{byLease: map[clientv3.LeaseID]*session{}}

// sessionOf returns the session of s's lease, made on first use.
func sessionOf(s *concurrency.Session) *session {
	lease := s.Lease()
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if st := registry.byLease[lease]; st != nil {
		return st
	}
	ctx, cancel := context.WithCancel(context.Background())
	registry.gen++
	st := newSession(ctx, s, registry.gen)
	registry.byLease[lease] = st
	go func() {
		<-s.Done()
		cancel()
		registry.mu.Lock()
		if registry.byLease[lease] == st {
			delete(registry.byLease, lease)
		}
		registry.mu.Unlock()
	}()
	return st
}
