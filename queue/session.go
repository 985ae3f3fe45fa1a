package queue

import (
	"context"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/leaseguard"
)

// session is what this process keeps per session lease, shared by every
// Queue on it (see the registry): a composition of parts, each with its own
// lock and, where it has one, its own worker.
type session struct {
	s *concurrency.Session
	// ctx ends when the session does: the parts' workers and watches stop
	// with it. (concurrency.Session.Ctx would do, but etcd's client has it
	// only from v3.6 on.)
	ctx context.Context
	// guard times the lease from its own keep-alives, for Done and
	// HeldUntil (package internal/leaseguard).
	guard   *leaseguard.Guard
	slots   *slots       // the entry keys: which are free, which quarantined (slots.go)
	cleanup *cleanup     // abandoned entries, removed by one worker (cleanup.go)
	own     *ownCheck    // the waiters' own keys, one read per interval (ownkeys.go)
	done    *doneWatches // Done: one watch stream, one deadline goroutine per margin (donegroup.go)
}

func newSession(ctx context.Context, s *concurrency.Session, gen uint64) *session {
	st := &session{s: s, ctx: ctx, guard: leaseguard.For(s)}
	st.slots = &slots{ctx: ctx, cli: s.Client(), lease: s.Lease(), gen: gen}
	st.cleanup = newCleanup(ctx, s.Client(), st.slots)
	st.slots.cleanup = st.cleanup
	st.own = newOwnCheck(ctx, s.Client())
	st.done = &doneWatches{ctx: ctx, cli: s.Client(), guard: st.guard}
	return st
}

// ended reports whether the session has ended on this side.
func (st *session) ended() bool { return sessionEnded(st.s) }

func sessionEnded(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}
