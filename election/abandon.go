package election

import (
	"context"
	"errors"
	"time"

	"github.com/fairlock/fairlock/queue"
)

// abandon takes t, a place this Election gave up waiting for, out of the
// line: with a fresh context bounded by queue.CleanupTimeout, since the
// caller's has ended. If etcd cannot be reached in that time, a goroutine
// keeps trying until the delete is done or the session ends, since the
// entry would otherwise hold up every candidate behind it for as long as
// the session lives. (Campaign gets the same from queue.Acquire.)
func (e *Election) abandon(ctx context.Context, t *queue.Ticket) {
	if leave(context.WithoutCancel(ctx), t) {
		return
	}
	s := e.q.Session()
	go func() {
		backoff := 100 * time.Millisecond
		for {
			timer := time.NewTimer(backoff)
			select {
			case <-s.Done():
				timer.Stop()
				return // the lease takes the entry with it
			case <-timer.C:
			}
			if leave(context.Background(), t) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}()
}

// leave makes one bounded attempt at a fenced delete of t and reports
// whether the entry is surely out of the line.
func leave(ctx context.Context, t *queue.Ticket) bool {
	ctx, cancel := context.WithTimeout(ctx, queue.CleanupTimeout)
	defer cancel()
	err := t.Leave(ctx)
	return err == nil || errors.Is(err, queue.ErrLost) || errors.Is(err, queue.ErrLeft)
}
