package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// hold is what exec holds while the command runs.
type hold interface {
	Key() string
	Token() int64
	// Done is closed when the hold ends for any reason: Release, the
	// session's lease expiring, or the entry deleted by someone else.
	Done() <-chan struct{}
	// HeldUntil is the moment up to which the hold surely lasts unless a
	// renewal moves it on; the zero time while not known yet.
	HeldUntil() time.Time
	// Release gives the hold back with a fenced delete; it matches
	// queue.ErrLost when the hold was already gone.
	Release(ctx context.Context) error
	// YieldRequested is closed once the hold is asked to yield (fairlock
	// yield); YieldReason says why.
	YieldRequested() <-chan struct{}
	YieldReason() string
}

// errBusy is --try finding the lock busy; nothing was written.
var errBusy = errors.New("busy")

// acquire takes the lock name in mode m through c, whose identity goes in
// the entry: waiting its turn, or only if free when try is set (errBusy
// otherwise). On error, ctx's end included, nothing is left in the line.
//
// Exclusive holds are a fairmutex's, permits a semaphore's, shared holds an
// rwmutex reader's.
func acquire(ctx context.Context, c *fairlock.Client, name string, m execMode, try bool) (hold, error) {
	switch {
	case m.limit > 0:
		sem, err := c.Semaphore(name, m.limit)
		if err != nil {
			return nil, err
		}
		var p *semaphore.Permit
		if try {
			p, err = sem.TryAcquireN(ctx, max(m.weight, 1))
		} else {
			p, err = sem.AcquireN(ctx, max(m.weight, 1))
		}
		if errors.Is(err, semaphore.ErrNoPermit) {
			return nil, errBusy
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	case m.shared:
		rw, err := c.RWMutex(name)
		if err != nil {
			return nil, err
		}
		if try {
			err = rw.TryRLock(ctx)
		} else {
			err = rw.RLock(ctx)
		}
		if errors.Is(err, rwmutex.ErrLocked) {
			return nil, errBusy
		}
		if err != nil {
			return nil, err
		}
		// Read now, as for a Mutex: RKey and RToken are "" and 0 once the
		// read hold ends. This RWMutex has this one read hold only.
		return readHold{rw: rw, key: rw.RKey(), token: rw.RToken(), done: rw.RDone()}, nil
	default:
		mu, err := c.Mutex(name)
		if err != nil {
			return nil, err
		}
		if try {
			err = mu.TryLock(ctx)
		} else {
			err = mu.Lock(ctx)
		}
		if errors.Is(err, fairmutex.ErrLocked) {
			return nil, errBusy
		}
		if err != nil {
			return nil, err
		}
		// Key and Token are read now: a Mutex forgets them when the hold ends.
		return mutexHold{m: mu, key: mu.Key(), token: mu.Token(), done: mu.Done()}, nil
	}
}

// readHold is the read hold of an rwmutex, its only one.
type readHold struct {
	rw    *rwmutex.RWMutex
	key   string
	token int64
	done  <-chan struct{}
}

func (h readHold) Key() string                       { return h.key }
func (h readHold) Token() int64                      { return h.token }
func (h readHold) Done() <-chan struct{}             { return h.done }
func (h readHold) HeldUntil() time.Time              { return h.rw.RHeldUntil() }
func (h readHold) Release(ctx context.Context) error { return h.rw.RUnlock(ctx) }
func (h readHold) YieldRequested() <-chan struct{}   { return h.rw.RYieldRequested() }
func (h readHold) YieldReason() string               { return h.rw.RYieldReason() }

// mutexHold is the hold of a fairmutex.
type mutexHold struct {
	m     *fairmutex.Mutex
	key   string
	token int64
	done  <-chan struct{}
}

func (h mutexHold) Key() string                       { return h.key }
func (h mutexHold) Token() int64                      { return h.token }
func (h mutexHold) Done() <-chan struct{}             { return h.done }
func (h mutexHold) HeldUntil() time.Time              { return h.m.HeldUntil() }
func (h mutexHold) Release(ctx context.Context) error { return h.m.Unlock(ctx) }
func (h mutexHold) YieldRequested() <-chan struct{}   { return h.m.YieldRequested() }
func (h mutexHold) YieldReason() string               { return h.m.YieldReason() }

// yielder is what can be asked to yield: every hold, and an election's
// term.
type yielder interface {
	YieldRequested() <-chan struct{}
	YieldReason() string
}

// onYield passes a request that y yield on to the command: it logs the
// reason and stops the command's process group gracefully (SIGTERM, SIGKILL
// after the grace period); the hold is then released, or the lead handed
// on, once the group is empty, as always. With ignore the request is only
// logged. Call stop once the command has ended.
func onYield(y yielder, ch *child, name string, ignore bool) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-y.YieldRequested():
		case <-done:
			return
		}
		if ignore {
			fmt.Fprintf(os.Stderr, "fairlock: %s: asked to yield (%s); --ignore-yield: COMMAND goes on\n", name, y.YieldReason())
			return
		}
		fmt.Fprintf(os.Stderr, "fairlock: %s: asked to yield (%s); stopping COMMAND\n", name, y.YieldReason())
		ch.StopGracefully()
	}()
	return func() { close(done) }
}
