package election

import (
	"context"

	"github.com/fairlock/fairlock/queue"
)

// abandon takes t, a place this Election gave up waiting for, out of the
// line, as Campaign's queue.Acquire does: bounded by queue.CleanupTimeout,
// then by the session's cleanup worker until etcd answers, since the entry
// would otherwise hold up every candidate behind it while the session lives.
func (e *Election) abandon(ctx context.Context, t *queue.Ticket) { t.Abandon(ctx) }
