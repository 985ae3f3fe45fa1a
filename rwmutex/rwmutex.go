package rwmutex

import (
	"cmp"
	"slices"
	"sync"

	"go.etcd.io/etcd/client/v3/concurrency"

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
	q *queue.Queue // one line: writers are exclusive entries, readers shared ones

	mu      sync.Mutex
	writer  *queue.Ticket
	readers []*queue.Ticket // sorted by Rev, oldest first
	joining bool            // LockAll has an entry of this RWMutex in flight
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
	return &RWMutex{q: q}, nil
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

// addReader records a read hold, keeping the list in line order.
func (rw *RWMutex) addReader(t *queue.Ticket) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	i, _ := slices.BinarySearchFunc(rw.readers, t.Rev(), func(r *queue.Ticket, rev int64) int {
		return cmp.Compare(r.Rev(), rev)
	})
	rw.readers = slices.Insert(rw.readers, i, t)
}

// takeOldestReader removes the oldest read hold from the list and returns
// it, or nil when there is none. Taking it out before releasing it keeps two
// concurrent RUnlocks from releasing the same hold.
func (rw *RWMutex) takeOldestReader() *queue.Ticket {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.readers) == 0 {
		return nil
	}
	t := rw.readers[0]
	rw.readers = slices.Delete(rw.readers, 0, 1)
	return t
}

func (rw *RWMutex) oldestReader() *queue.Ticket {
	if rw == nil {
		return nil
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.readers) == 0 {
		return nil
	}
	return rw.readers[0]
}

func (rw *RWMutex) currentWriter() *queue.Ticket {
	if rw == nil {
		return nil
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.writer
}

func (rw *RWMutex) setWriter(t *queue.Ticket) {
	rw.mu.Lock()
	rw.writer = t
	rw.mu.Unlock()
}

var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
