package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// AttemptTimeout bounds one attempt of a call to etcd. A member that is
// stopped or cut off from the others keeps its connections open and
// answers nothing, and etcd's client goes on sending it its share of the
// requests; bounding each attempt sends the next one to the next member,
// so a call goes on through the client's other endpoints instead of
// waiting for that member as long as its ctx lasts. A write whose attempt
// timed out has an unknown outcome, which the retry handles as after a
// lost reply (the cleanup's removals are bounded the same way).
const AttemptTimeout = time.Second

// retry runs op until it succeeds, fails for good, ctx ends or the session
// ends: the one retry policy of every call that talks to etcd. Only
// transient errors (no leader, lost connection, server timeout, an attempt
// past AttemptTimeout) are retried, so op must be safe to repeat. op's
// context also ends with the session, so a call stuck on a dead connection
// gives up when the lease is gone instead of waiting for ctx (etcd
// #19597): that is ErrSessionExpired. A lease that etcd no longer knows
// ("lease not found", the answer to a write whose lease expired
// unnoticed) is ErrSessionExpired too. A refusal that no retry mends
// (permission denied, authentication failed: see package internal/etcderr)
// is returned at once, naming the lock, as an error matching
// ErrAccessDenied.
func (q *Queue) retry(ctx context.Context, op func(context.Context) error) error {
	sessionCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(q.st.ctx, cancel)()
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		opCtx, cancelAttempt := context.WithTimeout(sessionCtx, AttemptTimeout)
		err := op(opCtx)
		timedOut := err != nil && opCtx.Err() != nil && sessionCtx.Err() == nil
		cancelAttempt()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			return ErrSessionExpired
		case ctx.Err() != nil:
			return ctx.Err()
		case q.st.ctx.Err() != nil, q.s.Client().Ctx().Err() != nil:
			return ErrSessionExpired // the session ended, or its client was closed
		case timedOut:
			// The member the balancer sent it to did not answer in time:
			// stopped, cut off, or slow. The next attempt goes to the next.
		case etcderr.IsRefused(err):
			return q.refused(err)
		case !etcderr.IsTransient(err):
			return err
		}
		q.log(slog.LevelDebug, "retrying a transient etcd error", slog.Int("attempt", attempt), slog.Any("err", err))
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-q.s.Done():
			timer.Stop()
			return ErrSessionExpired
		case <-timer.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// refused is err, a refusal no retry mends, as the error every call
// returns for it: naming the lock, matching ErrAccessDenied.
func (q *Queue) refused(err error) error { return &refusedError{name: q.Name(), err: err} }
