package semaphore

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// Permit is one permit of a Semaphore, returned by Acquire or TryAcquire.
// It is held from then until Release, or until it is lost (its session's
// lease ends or its key is deleted). It is safe for concurrent use. Its
// Token, Key and IsOwner stay those of the hold after it ends.
type Permit struct {
	t *queue.Ticket
	h hold.Set // holds t until Release settles it
}

func newPermit(t *queue.Ticket) *Permit {
	p := &Permit{t: t, h: hold.Set{Single: true}}
	p.h.Add(t)
	return p
}

// Release gives the permit back with a fenced delete: the entry goes only if
// it still has the permit's create revision, and the oldest waiter, if any,
// is let in. It returns ErrLost, deleting nothing, when the permit had
// already ended (lease expired or key deleted), and ErrReleased when an
// earlier Release succeeded or reported the loss. If ctx ends or etcd fails
// before the outcome is known, Release returns that error and the permit is
// still held: call Release again, or let the session's lease expire.
func (p *Permit) Release(ctx context.Context) error {
	if p == nil || p.t == nil {
		return ErrUninitialized
	}
	return p.h.Release(ctx, ErrReleased)
}

// Weight returns the permit's weight: how much of the semaphore's limit it
// takes (1 for Acquire and TryAcquire); 0 for a zero Permit.
func (p *Permit) Weight() int {
	if p == nil || p.t == nil {
		return 0
	}
	return p.t.Weight()
}

// Token returns the permit's fencing token, the create revision of its
// entry, which rises with every grant on the name; 0 for a zero Permit.
func (p *Permit) Token() int64 {
	if p == nil || p.t == nil {
		return 0
	}
	return p.t.Rev()
}

// Key returns the etcd key of the permit's entry; "" for a zero Permit.
func (p *Permit) Key() string {
	if p == nil || p.t == nil {
		return ""
	}
	return p.t.Key()
}

// IsOwner returns a comparison that holds while the permit is held. Put it
// in the If of a transaction to fence writes stored in etcd. For a zero
// Permit it returns a comparison that never holds.
func (p *Permit) IsOwner() clientv3.Cmp {
	if p == nil || p.t == nil {
		return queue.NotOwner()
	}
	return p.t.IsOwner()
}

// Done returns a channel that is closed when the permit ends for any
// reason: Release, the session ending, or the key deleted by someone else;
// at the latest at HeldUntil. For a zero Permit it returns a closed channel.
// The first call starts a watch on the permit's key, which ends with the
// permit.
func (p *Permit) Done() <-chan struct{} {
	if p == nil || p.t == nil {
		return hold.Closed
	}
	return p.h.Done()
}

// HeldUntil returns the moment up to which the permit surely still exists:
// etcd cannot expire its session's lease before then, unless a later
// keep-alive moves it on. It is the zero time when not yet known, after
// Release, and for a zero Permit.
func (p *Permit) HeldUntil() time.Time {
	if p == nil || p.t == nil {
		return time.Time{}
	}
	return p.h.HeldUntil()
}
