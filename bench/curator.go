package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// curatorSem is the semaphore baseline, after Apache Curator's
// InterProcessSemaphoreV2 (and the shape most semaphores on ZooKeeper and
// etcd take): a caller adds its entry to the line, reads the whole line,
// and while it cannot go it waits on a watch of the whole line (in
// ZooKeeper, getChildren with a watcher), reading the line again on every
// event. An entry goes when the weights of every entry older than it, held
// or waiting, plus its own fit in the limit (each weighs 1 in the counting
// semaphore's cells, its weight is its value in the weighted ones), so the
// baseline is as fair as the semaphore it is measured against: strictly
// FIFO, an older waiter that does not fit holds back every younger one.
// What it lacks is herd-freedom: every join and every release wakes every
// waiter. (Curator also serialises joins through a mutex of its own; that
// would only slow it down, so it is left out.)
type curatorSem struct {
	s         *concurrency.Session
	prefix    string
	key       string
	limit     int
	maxWeight int   // above 1: weighted, the entry's value is its weight
	w         int   // the next acquisition's weight
	rev       int64 // create revision of the entry held; 0 when none
}

func newCuratorSem(s *concurrency.Session, name string, limit, maxWeight int) *curatorSem {
	prefix := name + "/leases/"
	return &curatorSem{s: s, prefix: prefix, key: fmt.Sprintf("%s%016x", prefix, s.Lease()), limit: limit, maxWeight: maxWeight, w: 1}
}

// weighted reports whether entries carry weights (a value to read).
func (c *curatorSem) weighted() bool { return c.maxWeight > 1 }

func (c *curatorSem) weigh(rng *rand.Rand) int {
	c.w = drawWeight(rng, c.maxWeight)
	return c.w
}

func (c *curatorSem) lock(ctx context.Context, _ bool) error {
	if c.w < 1 || c.w > c.limit {
		return fmt.Errorf("curator: weight %d out of 1..%d", c.w, c.limit)
	}
	value := ""
	if c.weighted() {
		value = strconv.Itoa(c.w)
	}
	cli := c.s.Client()
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(c.key), "=", 0)).
		Then(clientv3.OpPut(c.key, value, clientv3.WithLease(c.s.Lease()))).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("curator: entry already in line")
	}
	rev := resp.Header.Revision
	if err := c.wait(ctx, rev); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		cli.Txn(dctx).If(clientv3.Compare(clientv3.CreateRevision(c.key), "=", rev)).Then(clientv3.OpDelete(c.key)).Commit()
		return err
	}
	c.rev = rev
	return nil
}

// wait watches the whole line from now on, then reads it, and reads it
// again on every event until the entries older than rev and its own fit.
func (c *curatorSem) wait(ctx context.Context, rev int64) error {
	cli := c.s.Client()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A watch that starts now is served at once; one from a past revision
	// would wait for etcd's 100 ms resync loop, a cost not Curator's.
	wch := cli.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	if _, ok := <-wch; !ok {
		return watchEnded(ctx)
	}
	var opts []clientv3.OpOption
	if !c.weighted() {
		opts = append(opts, clientv3.WithKeysOnly()) // every entry weighs 1
	}
	for {
		resp, err := cli.Get(ctx, c.prefix, append([]clientv3.OpOption{clientv3.WithPrefix()}, opts...)...)
		if err != nil {
			return err
		}
		line := make([]lineEntry, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			w := 1
			if c.weighted() {
				if w, err = strconv.Atoi(string(kv.Value)); err != nil {
					return fmt.Errorf("curator: entry %s: weight %q", kv.Key, kv.Value)
				}
			}
			line = append(line, lineEntry{rev: kv.CreateRevision, weight: w, mine: string(kv.Key) == c.key && kv.CreateRevision == rev})
		}
		goes, mine := fifoGoes(line, rev, c.limit)
		if !mine {
			return errors.New("curator: entry lost while waiting")
		}
		if goes {
			return nil
		}
		select {
		case wr, ok := <-wch:
			if !ok {
				return watchEnded(ctx)
			}
			if err := wr.Err(); err != nil {
				return err
			}
		case <-c.s.Done():
			return concurrency.ErrSessionExpired
		}
	}
}

func (c *curatorSem) unlock(ctx context.Context, _ bool) error {
	_, err := c.s.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(c.key), "=", c.rev)).
		Then(clientv3.OpDelete(c.key)).
		Commit()
	c.rev = 0
	return err
}

func watchEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch closed")
}
