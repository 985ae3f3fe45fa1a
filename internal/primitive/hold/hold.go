// Package hold is the one hold type of fairlock's primitives. A Mutex's
// lock, an RWMutex's write lock and read locks, a semaphore Permit and an
// election's lead each keep their queue tickets in a Set, which takes
// them, releases them (restoring a hold whose release had an unknown
// outcome), maps the queue's errors to the primitive's, and answers the
// accessors every hold has. So each primitive is a thin driver of queue
// and Set, and the release logic exists once.
//
// Unlike the other packages under internal/, which package queue is built
// on, hold is built on queue: hence internal/primitive/, the layer of the
// primitives.
package hold

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/queue"
)

// Set is the holds of one primitive value, oldest (lowest place in line)
// first. With Single, it keeps one hold at a time: Add replaces a hold
// whose entry is gone. A Set is safe for concurrent use; its zero value
// (with Single false) keeps any number of holds.
type Set struct {
	Single bool
	// Line is the line the holds are in: IsOwner with nothing held
	// compares one of its keys (Queue.NotOwner), which a user confined to
	// the lock's prefix may read. Nil falls back to queue.NotOwner.
	Line *queue.Queue

	mu      sync.Mutex
	held    []*queue.Ticket
	claimed bool // a change of hold is under way (LockAll's join, a Rotate)
}

// Claim marks a change of a Single Set's hold as under way, so that no
// other may start; it reports false when a hold is held or a change is
// already under way. Add or Unclaim ends the claim.
func (s *Set) Claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) > 0 || s.claimed {
		return false
	}
	s.claimed = true
	return true
}

// Unclaim ends a claim that ends without a hold.
func (s *Set) Unclaim() {
	s.mu.Lock()
	s.claimed = false
	s.mu.Unlock()
}

// Add records a new hold and ends any claim. In a Single Set a new hold
// can only have been granted once the previous one's entry was gone (it
// was older, in the same line), so the previous one is settled: its ticket
// ends and its slot returns to use, which nothing else would do for a
// hold that is replaced without a release.
func (s *Set) Add(t *queue.Ticket) {
	s.mu.Lock()
	var replaced []*queue.Ticket
	if s.Single {
		replaced, s.held = s.held, []*queue.Ticket{t}
	} else {
		s.insertLocked(t)
	}
	s.claimed = false
	s.mu.Unlock()
	for _, old := range replaced {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), queue.CleanupTimeout)
			defer cancel()
			old.Settle(ctx)
		}()
	}
}

func (s *Set) insertLocked(t *queue.Ticket) {
	i, _ := slices.BinarySearchFunc(s.held, t.Rev(),
		func(h *queue.Ticket, rev int64) int { return cmp.Compare(h.Rev(), rev) })
	s.held = slices.Insert(s.held, i, t)
}

// Oldest returns the oldest hold, nil when none is held.
func (s *Set) Oldest() *queue.Ticket {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return nil
	}
	return s.held[0]
}

// Take removes the oldest hold and returns it (nil when none is held), and
// marks a change under way; taking it out first keeps two concurrent
// releases from releasing one hold. Restore or Unclaim (or Add) ends the
// change.
func (s *Set) Take() *queue.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return nil
	}
	t := s.held[0]
	s.held = slices.Delete(s.held, 0, 1)
	s.claimed = true
	return t
}

// Restore puts back a hold taken by Take whose release had an unknown
// outcome: as far as anyone knows it is still held. In a Single Set a
// hold added meanwhile wins.
func (s *Set) Restore(t *queue.Ticket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claimed = false
	if s.Single && len(s.held) > 0 {
		return
	}
	s.insertLocked(t)
}

// Release releases the oldest hold with the ticket's fenced Leave. It
// returns notHeld when nothing is held (or the hold had already left), an
// error matching queue.ErrLost, deleting nothing, when the hold had ended
// without a release, and nil once released; the hold is forgotten after
// each. Any other error (ctx ended, etcd failed) leaves the outcome
// unknown: the hold is restored, for another Release.
func (s *Set) Release(ctx context.Context, notHeld error) error {
	t := s.Take()
	if t == nil {
		s.Unclaim()
		return notHeld
	}
	err := t.Leave(ctx)
	switch {
	case err == nil, errors.Is(err, queue.ErrLost):
		s.Unclaim()
		return err
	case errors.Is(err, queue.ErrLeft):
		s.Unclaim()
		return notHeld
	default:
		s.Restore(t)
		return err
	}
}

// Token is the oldest hold's fencing token; 0 when none is held.
func (s *Set) Token() int64 {
	if t := s.Oldest(); t != nil {
		return t.Rev()
	}
	return 0
}

// Key is the oldest hold's entry key; "" when none is held.
func (s *Set) Key() string {
	if t := s.Oldest(); t != nil {
		return t.Key()
	}
	return ""
}

// IsOwner is a comparison that holds while the oldest hold is in place,
// and never holds when none is held: a comparison on the Line's own keys
// (Queue.NotOwner), so that under etcd's auth a transaction fenced with
// it fails quietly for a user confined to the lock's prefix.
func (s *Set) IsOwner() clientv3.Cmp {
	if t := s.Oldest(); t != nil {
		return t.IsOwner()
	}
	if s != nil && s.Line != nil {
		return s.Line.NotOwner()
	}
	return queue.NotOwner()
}

// Done is closed when the oldest hold ends; a closed channel when none is
// held.
func (s *Set) Done() <-chan struct{} {
	if t := s.Oldest(); t != nil {
		return t.Done()
	}
	return Closed
}

// HeldUntil is the oldest hold's HeldUntil; the zero time when none is
// held.
func (s *Set) HeldUntil() time.Time {
	if t := s.Oldest(); t != nil {
		return t.HeldUntil()
	}
	return time.Time{}
}

// Closed is a closed channel: the Done of nothing held.
var Closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// YieldRequested is closed once the oldest hold is asked to yield (see
// queue.Ticket.YieldRequested); a channel never closed when none is held.
func (s *Set) YieldRequested() <-chan struct{} {
	if t := s.Oldest(); t != nil {
		return t.YieldRequested()
	}
	return Never
}

// YieldReason is why the oldest hold was asked to yield; "" before it is
// asked, and when none is held.
func (s *Set) YieldReason() string {
	if t := s.Oldest(); t != nil {
		return t.YieldReason()
	}
	return ""
}

// Never is a channel never closed: the YieldRequested of nothing held,
// which nobody asks.
var Never = make(chan struct{})
