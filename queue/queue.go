package queue

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/internal/turn"
)

// Queue is the ordered line of one lock name, seen through one session.
// It is safe for concurrent use; every Join takes its own place in the line.
type Queue struct {
	s      *concurrency.Session
	st     *session
	layout keys.Layout
	cfg    config
	// admit is, for a Queue WithTenant, the tenant's admission line (see
	// tenant.go); nil otherwise. The admission line's own Queue has of,
	// the Queue of the lock it admits to.
	admit, of *Queue
	// noHandover: etcd refused a release's handover (see handover.go)
	// for this user; releases make none from then on.
	noHandover atomic.Bool
}

// Entry is one place in the line, as List reports it.
type Entry struct {
	Key    string           // the entry's etcd key
	Value  string           // the value it was joined with (who holds or waits)
	Rev    int64            // create revision: place in line and fencing token
	Lease  clientv3.LeaseID // lease of the session that joined
	Shared bool             // joined with JoinShared
	Kind   Kind             // Exclusive, Shared or Permit
	Limit  int              // the semaphore's limit, for a permit
	Weight int              // a permit's weight; 1 for every other entry
	// Holds: its turn has come, as of the read; for an Admission entry,
	// its caller is admitted to the lock's line.
	Holds bool
	// Tenant is the tenant of the caller that joined (see WithTenant); ""
	// for a caller without one.
	Tenant string
	// YieldRequested: the holder has been asked to yield (AskToYield),
	// for YieldReason, and has not left since.
	YieldRequested bool
	YieldReason    string
}

// New returns the line named name seen through session s. A name is an
// absolute slash-separated path such as "/jobs/nightly": no trailing slash,
// no empty segment, no segment starting with '.' (reserved for the
// entries), no control characters, at most 512 bytes. Lines "/a" and "/a/b"
// are independent. New does no I/O; it fails with ErrNilSession,
// ErrInvalidName, ErrInvalidTenant or ErrInvalidShare (see WithTenant) or,
// when s has already ended, ErrSessionExpired.
func New(s *concurrency.Session, name string, opts ...Option) (*Queue, error) {
	if s == nil {
		return nil, ErrNilSession
	}
	layout, err := keys.New(name)
	if err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if sessionEnded(s) {
		return nil, ErrSessionExpired
	}
	q := &Queue{s: s, st: sessionOf(s), layout: layout, cfg: cfg}
	if cfg.withTenant {
		q.admit = q.admissionLine()
	}
	return q, nil
}

// Tenant returns the tenant and share the Queue was made with (see
// WithTenant); "" and 0 for a Queue without a tenant.
func (q *Queue) Tenant() (tenant string, share int) { return q.cfg.tenant, q.cfg.share }

// Name returns the lock name the line was created with.
func (q *Queue) Name() string {
	if q.of != nil {
		return q.of.Name() // an admission line is the lock's
	}
	return q.layout.Name()
}

// Identity returns the value the primitives built on this Queue store in
// their entries (see WithIdentity).
func (q *Queue) Identity() string { return q.cfg.identity }

// Session returns the session the line was created with.
func (q *Queue) Session() *concurrency.Session { return q.s }

// List returns the whole line, oldest (first served) first, permits of
// every limit and the callers of tenants waiting for admission (Kind
// Admission) included, each marked with whether its turn has come and
// whether its holder has been asked to yield (AskToYield). It reads at one
// revision, so the list is a consistent snapshot, and writes nothing; when
// ctx ends it returns ctx.Err().
func (q *Queue) List(ctx context.Context) ([]Entry, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	var resp *clientv3.GetResponse
	err := q.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = q.s.Client().Get(ctx, q.layout.Line(), clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
		return err
	})
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(resp.Kvs))
	members := make([]turn.Member, 0, len(resp.Kvs))
	var requests []*mvccpb.KeyValue
	for _, kv := range resp.Kvs {
		if q.layout.IsYieldRequest(string(kv.Key)) {
			requests = append(requests, kv) // under the line's prefix, but no entry
			continue
		}
		e := Entry{Key: string(kv.Key), Value: string(kv.Value), Rev: kv.CreateRevision,
			Lease: clientv3.LeaseID(kv.Lease), Kind: Exclusive, Weight: 1}
		m := turn.Member{Exclusive: true}
		if p, err := keys.Parse(e.Key); err == nil {
			e.Weight, e.Tenant = p.Weight, p.Tenant
			switch {
			case p.Admission:
				e.Kind, e.Limit, m = Admission, p.Limit, turn.Member{Limit: p.Limit, Weight: 1, Line: p.Tenant}
			case p.Limit > 0:
				e.Kind, e.Limit, m = Permit, p.Limit, turn.Member{Limit: p.Limit, Weight: p.Weight}
			case p.Shared:
				e.Kind, e.Shared, m = Shared, true, turn.Member{Shared: true}
			}
		}
		entries = append(entries, e)
		members = append(members, m)
	}
	for i, holds := range turn.Holders(members) {
		entries[i].Holds = holds
	}
	attachYieldRequests(q.layout, entries, requests)
	return entries, nil
}

func (q *Queue) usable() error {
	if q == nil || q.s == nil || q.st == nil {
		return ErrUninitialized
	}
	if sessionEnded(q.s) {
		return ErrSessionExpired
	}
	return nil
}

func (q *Queue) hooks() *Hooks { return q.cfg.hooks }

// log logs to the Queue's logger, if it has one, with the lock name.
func (q *Queue) log(level slog.Level, msg string, attrs ...slog.Attr) {
	l := q.cfg.logger
	if l == nil {
		return
	}
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	l.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("lock", q.Name())}, attrs...)...)
}
