package main

import (
	"context"
	"errors"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// herdMutex is the baseline every queue lock is measured against: etcd v2's
// exclusive mode written for v3. Everyone races to create one key with the
// session's lease; the losers watch that key and, on its delete, all race
// again. Each release wakes every waiter (the herd), and the winner is
// whoever's put lands first, not who waited longest.
type herdMutex struct {
	s   *concurrency.Session
	key string
	rev int64 // create revision of the hold; 0 when not held
}

func newHerdMutex(s *concurrency.Session, name string) *herdMutex {
	return &herdMutex{s: s, key: name + "/owner"}
}

func (h *herdMutex) lock(ctx context.Context, _ bool) error {
	cli := h.s.Client()
	for {
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(h.key), "=", 0)).
			Then(clientv3.OpPut(h.key, "", clientv3.WithLease(h.s.Lease()))).
			Commit()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			h.rev = resp.Header.Revision
			return nil
		}
		// As v2's waitIndex: watch from just after the failed attempt, so a
		// delete in between is not missed.
		if err := h.waitDelete(ctx, resp.Header.Revision+1); err != nil {
			return err
		}
	}
}

func (h *herdMutex) waitDelete(ctx context.Context, from int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range h.s.Client().Watch(wctx, h.key, clientv3.WithRev(from), clientv3.WithFilterPut()) {
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Events) > 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("herd: watch closed")
}

func (h *herdMutex) unlock(ctx context.Context, _ bool) error {
	// Fenced, as any lock should be: never delete a later holder's key.
	_, err := h.s.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(h.key), "=", h.rev)).
		Then(clientv3.OpDelete(h.key)).
		Commit()
	h.rev = 0
	return err
}
