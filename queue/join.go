package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairlock/fairlock/internal/keys"
)

// CleanupTimeout bounds how long a call whose context has ended still waits
// for etcd: first for the answer to a write in flight, then for the delete
// that removes the call's entry. Both run on a fresh context (the caller's
// is dead by then). If etcd cannot be reached in this time, the call returns
// and a goroutine keeps trying the delete until it succeeds or the session
// ends, since the entry would otherwise block the line while the session
// lives.
const CleanupTimeout = 3 * time.Second

func (q *Queue) join(ctx context.Context, value string, shared bool) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	key := q.layout.Entry(keys.NewID(int64(q.s.Lease())), shared)
	// An exclusive entry is itself in its blocking range, where it is the
	// newest: read two to see its predecessor.
	limit := int64(1)
	if !shared {
		limit = 2
	}
	blockers, opts := q.blockers(shared)
	readBlocker := clientv3.OpGet(blockers, append(opts, clientv3.WithKeysOnly(), clientv3.WithLimit(limit),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend))...)

	resp, err := q.write(ctx, key, func(wctx context.Context) (resp *clientv3.TxnResponse, err error) {
		err = retry(wctx, q.s, func(ctx context.Context) error {
			// The guard makes a retry after a lost reply find the entry
			// instead of writing a second one.
			resp, err = q.s.Client().Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
				Then(clientv3.OpPut(key, value, clientv3.WithLease(q.s.Lease())), readBlocker).
				Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
				Commit()
			return err
		})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return nil, q.lostErr()
		}
		// Written by an earlier attempt: the blocker is unknown until Wait reads it.
		return q.newTicket(key, value, kvs[0].CreateRevision, shared), nil
	}
	t := q.newTicket(key, value, resp.Header.Revision, shared)
	t.setBlocker(newestOther(resp.Responses[1].GetResponseRange().GetKvs(), key), resp.Header.Revision)
	return t, nil
}

func (q *Queue) tryJoin(ctx context.Context, value string, shared bool) (*Ticket, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	key := q.layout.Entry(keys.NewID(int64(q.s.Lease())), shared)
	blockers, _ := q.blockers(shared)
	resp, err := q.write(ctx, key, func(wctx context.Context) (*clientv3.TxnResponse, error) {
		return q.s.Client().Txn(wctx).
			If(clientv3.Compare(clientv3.CreateRevision(blockers), "=", 0).WithPrefix()).
			Then(clientv3.OpPut(key, value, clientv3.WithLease(q.s.Lease()))).
			Commit()
	})
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		return nil, ErrBlocked
	}
	t := q.newTicket(key, value, resp.Header.Revision, shared)
	t.setBlocker("", resp.Header.Revision)
	return t, nil
}

// Acquire joins the line with an exclusive entry and waits for its turn. On
// any error, a cancelled ctx included, it removes the entry (see
// CleanupTimeout) and returns the error, so a failed Acquire leaves nothing
// behind; a turn granted while ctx was ending is given back the same way.
func (q *Queue) Acquire(ctx context.Context, value string) (*Ticket, error) {
	return q.acquire(ctx, value, false)
}

// AcquireShared is Acquire with a shared entry.
func (q *Queue) AcquireShared(ctx context.Context, value string) (*Ticket, error) {
	return q.acquire(ctx, value, true)
}

func (q *Queue) acquire(ctx context.Context, value string, shared bool) (*Ticket, error) {
	t, err := q.join(ctx, value, shared)
	if err != nil {
		return nil, err
	}
	if err := t.Wait(ctx); err != nil {
		q.remove(ctx, t.key)
		return nil, err
	}
	return t, nil
}

// write runs op, a transaction that may write the entry key, and returns
// its outcome. The write is not cut short by ctx: a cancelled RPC may still
// be applied by etcd after a delete sent behind it, leaking an entry that
// would block the line for as long as the session lives. So when ctx ends
// first, write waits (at most CleanupTimeout) for etcd's answer, removes the
// entry, and returns ctx.Err(). If op fails, write removes the entry too.
func (q *Queue) write(ctx context.Context, key string, op func(context.Context) (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		grace := time.NewTimer(CleanupTimeout)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel()
		case <-wctx.Done():
		}
	})
	resp, err := op(wctx)
	stop()
	if ctx.Err() != nil {
		if err != nil || resp.Succeeded || len(resp.Responses) > 0 { // not a TryJoin that wrote nothing
			q.remove(ctx, key)
		}
		return nil, ctx.Err()
	}
	if err != nil {
		q.remove(ctx, key)
		return nil, sessionErr(err)
	}
	return resp, nil
}

// remove deletes key, the unique key of an entry this process may have
// written, on a fresh context bounded by CleanupTimeout. If that fails (etcd
// unreachable), a goroutine keeps trying until the delete succeeds or the
// session ends: a forgotten entry would block the line for as long as the
// session lives.
func (q *Queue) remove(ctx context.Context, key string) {
	if sessionEnded(q.s) || q.tryRemove(context.WithoutCancel(ctx), key) == nil {
		return
	}
	go func() {
		backoff := 100 * time.Millisecond
		for {
			timer := time.NewTimer(backoff)
			select {
			case <-q.s.Done():
				timer.Stop()
				return // the lease takes the entry with it
			case <-timer.C:
			}
			if q.tryRemove(context.Background(), key) == nil {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}()
}

func (q *Queue) tryRemove(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, CleanupTimeout)
	defer cancel()
	_, err := q.s.Client().Delete(ctx, key)
	return err
}

// sessionErr maps etcd's "lease not found", which a write with a lease that
// expired unnoticed gets, to ErrSessionExpired.
func sessionErr(err error) error {
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("%w: %w", ErrSessionExpired, err)
	}
	return err
}

// lostErr is ErrLost, joined with ErrSessionExpired when that is the reason.
func (q *Queue) lostErr() error {
	if sessionEnded(q.s) {
		return errors.Join(ErrSessionExpired, ErrLost)
	}
	return ErrLost
}

func newestOther(kvs []*mvccpb.KeyValue, own string) string {
	for _, kv := range kvs {
		if string(kv.Key) != own {
			return string(kv.Key)
		}
	}
	return ""
}

// retry runs op until it succeeds, fails for good, ctx ends or the session
// ends. Only transient errors (no leader, lost connection, server timeout)
// are retried; op must be idempotent. op's context also ends with the
// session, so a call stuck on a dead connection gives up when the lease is
// gone instead of waiting for ctx (etcd #19597): that is ErrSessionExpired.
func retry(ctx context.Context, s *concurrency.Session, op func(context.Context) error) error {
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.Ctx(), cancel)()
	backoff := 10 * time.Millisecond
	for {
		err := op(opCtx)
		if err != nil && ctx.Err() == nil && s.Ctx().Err() != nil {
			return ErrSessionExpired
		}
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-s.Done():
			timer.Stop()
			return ErrSessionExpired
		case <-timer.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

func transient(err error) bool {
	var etcdErr rpctypes.EtcdError
	if errors.As(err, &etcdErr) {
		return etcdErr.Code() == codes.Unavailable
	}
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.Unavailable
	}
	return false
}
