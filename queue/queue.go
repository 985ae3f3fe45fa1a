package queue

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/keys"
)

// Queue is the ordered line of one lock name, seen through one session.
// It is safe for concurrent use; every Join takes its own place in the line.
type Queue struct {
	s      *concurrency.Session
	layout keys.Layout
	cfg    config
}

// Entry is one place in the line, as List reports it.
type Entry struct {
	Key    string           // the entry's etcd key
	Value  string           // the value given to Join or JoinShared
	Rev    int64            // create revision: place in line and fencing token
	Lease  clientv3.LeaseID // lease of the session that joined
	Shared bool             // joined with JoinShared
	Kind   Kind             // Exclusive, Shared or Permit
	Limit  int              // the semaphore's limit, for a permit
	Holds  bool             // its turn has come (as of the read)
}

// New returns the line named name (see keys.Validate for the rules: an
// absolute path like "/jobs/nightly") seen through session s. It does no I/O.
// It fails with ErrNilSession, ErrInvalidName or, when s has already ended,
// ErrSessionExpired.
func New(s *concurrency.Session, name string, opts ...Option) (*Queue, error) {
	if s == nil {
		return nil, ErrNilSession
	}
	layout, err := keys.New(name)
	if err != nil {
		return nil, err
	}
	if sessionEnded(s) {
		return nil, ErrSessionExpired
	}
	return &Queue{s: s, layout: layout, cfg: newConfig(opts)}, nil
}

// Name returns the lock name the line was created with.
func (q *Queue) Name() string { return q.layout.Name() }

// Identity returns the value the primitives built on this Queue store in
// their entries (see WithIdentity).
func (q *Queue) Identity() string { return q.cfg.identity }

// Session returns the session the line was created with.
func (q *Queue) Session() *concurrency.Session { return q.s }

// Join appends an exclusive entry holding value to the line, in one round
// trip, and returns its ticket. The ticket may already be at the head of the
// line (Position 0); call Wait to block until it is.
//
// If ctx ends, or the call fails, before Join knows the outcome, Join removes
// whatever it may have written (with a fresh, bounded context) and returns
// the error: on error nothing of this call is left in the line. Transient
// errors (no leader, lost connection) are retried until ctx ends; a retry
// never adds a second entry.
func (q *Queue) Join(ctx context.Context, value string) (*Ticket, error) {
	return q.join(ctx, value, false)
}

// JoinShared is Join for a shared entry: one that only exclusive entries
// block, so that shared entries can be served together.
func (q *Queue) JoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.join(ctx, value, true)
}

// TryJoin appends an exclusive entry only if the line is empty, in a single
// transaction. It returns ErrBlocked, having written nothing (the store
// revision does not move), when any entry is in the line. A returned ticket
// is at the head of the line.
func (q *Queue) TryJoin(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, value, false)
}

// TryJoinShared appends a shared entry only if no exclusive entry is in the
// line, in a single transaction; otherwise it returns ErrBlocked and writes
// nothing.
func (q *Queue) TryJoinShared(ctx context.Context, value string) (*Ticket, error) {
	return q.tryJoin(ctx, value, true)
}

// List returns the whole line, oldest (first served) first. It reads at one
// revision, so the list is a consistent snapshot.
func (q *Queue) List(ctx context.Context) ([]Entry, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	resp, err := q.s.Client().Get(ctx, q.layout.Line(), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		entries = append(entries, Entry{
			Key:    string(kv.Key),
			Value:  string(kv.Value),
			Rev:    kv.CreateRevision,
			Lease:  clientv3.LeaseID(kv.Lease),
			Shared: strings.HasPrefix(string(kv.Key), q.layout.SharedPrefix()),
		})
	}
	return entries, nil
}

func (q *Queue) usable() error {
	if q == nil || q.s == nil {
		return ErrUninitialized
	}
	if sessionEnded(q.s) {
		return ErrSessionExpired
	}
	return nil
}

// blockers returns the range of entries that block an entry of the given
// mode: every entry for an exclusive one, exclusive entries for a shared one.
func (q *Queue) blockers(shared bool) (key string, opts []clientv3.OpOption) {
	if shared {
		return q.layout.ExclusivePrefix(), []clientv3.OpOption{clientv3.WithPrefix()}
	}
	return q.layout.Line(), []clientv3.OpOption{clientv3.WithPrefix()}
}

func (q *Queue) newTicket(key, value string, rev int64, shared bool) *Ticket {
	return &Ticket{q: q, key: key, value: value, rev: rev, shared: shared}
}

func sessionEnded(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}
