package rwmutex

import (
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// RWMutex is a fair distributed reader/writer lock. Readers share the lock;
// a writer holds it alone. Make one with New; the zero value returns
// ErrUninitialized.
//
// An RWMutex is safe for concurrent use, and, like sync.RWMutex, its holds
// belong to no goroutine. Every Lock and RLock call takes its own place in
// the line, so one value can hold several read locks at once (one per
// successful RLock or TryRLock); RUnlock releases the oldest of them, the
// one with the lowest place in the line. Write holds come one at a time, as
// for everyone; Unlock releases the current one. Locks are not reentrant: a
// Lock on a value that holds a read lock waits for that read lock like any
// other, and so does an RLock behind the value's own write lock (or its own
// waiting Lock).
type RWMutex struct {
	q       *queue.Queue // one line: writers are exclusive entries, readers shared ones
	writer  hold.Set     // one write hold at a time
	readers hold.Set     // any number of read holds, oldest first
}

// New returns an RWMutex for the lock named name, an absolute
// slash-separated path such as "/jobs/nightly" (no trailing slash, no empty
// segment, no segment starting with '.'), held through session s. Locks
// "/a" and "/a/b" are independent; a fairmutex.Mutex on the same name
// excludes both readers and writers, like a writer. New does no I/O; it
// returns ErrNilSession, ErrInvalidName or, when s has ended,
// ErrSessionExpired. Options are those of package queue (identity, hooks,
// logger, etcd Mutex interop).
func New(s *concurrency.Session, name string, opts ...queue.Option) (*RWMutex, error) {
	q, err := queue.New(s, name, opts...)
	if err != nil {
		return nil, err
	}
	if tenant, _ := q.Tenant(); tenant != "" {
		return nil, fmt.Errorf("%w: rwmutex %s: queue.WithTenant(%q, ...) is served by fairmutex and semaphore only",
			ErrTenantUnsupported, name, tenant)
	}
	return &RWMutex{q: q, writer: hold.Set{Single: true, Line: q}, readers: hold.Set{Line: q}}, nil
}

// Name returns the lock's name.
func (rw *RWMutex) Name() string {
	if rw == nil || rw.q == nil {
		return ""
	}
	return rw.q.Name()
}

func (rw *RWMutex) usable() error {
	if rw == nil || rw.q == nil {
		return ErrUninitialized
	}
	return nil
}
