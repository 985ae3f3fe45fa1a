package main

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
)

// seedBatch is how many puts one seeding transaction carries; etcd's
// default limit is 128 operations per transaction.
const seedBatch = 100

// runHistory runs spec on a lock whose line already saw past entries come
// and go, none compacted away yet: what a busy lock looks like on an etcd
// without auto-compaction (etcd's default). A range read over the line
// visits every key written under it since the last compaction, and every
// fairlock Lock writes a key of its own, so these reads grow with the
// lock's history. The past entries are written under the line's exclusive
// prefix and deleted, as finished Locks would have left them.
func runHistory(ctx context.Context, endpoints []string, spec cellSpec, past int) (cellResult, error) {
	name := freshName(spec.c)
	layout, err := keys.New(name)
	if err != nil {
		return cellResult{}, err
	}
	cli, err := newClient(endpoints, &probe{})
	if err != nil {
		return cellResult{}, err
	}
	defer cli.Close()
	old := layout.ExclusivePrefix() + "0000000000000000-past-"
	for i := 0; i < past; i += seedBatch {
		var ops []clientv3.Op
		for j := i; j < min(i+seedBatch, past); j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%s%08x", old, j), ""))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return cellResult{}, fmt.Errorf("seed history: %w", err)
		}
	}
	if _, err := cli.Delete(ctx, old, clientv3.WithPrefix()); err != nil {
		return cellResult{}, fmt.Errorf("seed history: %w", err)
	}
	r, err := runCellNamed(ctx, endpoints, spec, name)
	r.History = past
	return r, err
}
