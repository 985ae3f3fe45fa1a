package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/fairlock/fairlock/fairmutex"
)

// tryLocker is a lock with a non-blocking TryLock.
type tryLocker interface {
	tryLock(ctx context.Context) error
}

func (f fairMutex) tryLock(ctx context.Context) error { return f.m.TryLock(ctx) }
func (e etcdMutex) tryLock(ctx context.Context) error { return e.m.TryLock(ctx) }

// maxTries bounds the TryLock calls of one measurement.
const maxTries = 500

// tryResult is the cost of a TryLock that fails because the lock is held.
type tryResult struct {
	Contender string
	Tries     int
	Calls     float64 // unary server calls per TryLock
	RevMoves  float64 // store revision increase per TryLock
	Fsyncs    float64 // WAL fsyncs per TryLock: a Txn that may write goes through raft even when its compare fails
	P50       time.Duration
	P99       time.Duration
	Err       string
}

// runTryLock holds c's lock from one client and, from another, calls
// TryLock on it until maxTries or half of d has passed, counting server
// calls and the store revision (read in-process, so reading it costs no
// call) around the tries.
func runTryLock(ctx context.Context, endpoints []string, srv *embed.Etcd, c contender, d time.Duration) (tryResult, error) {
	res := tryResult{Contender: c.name}
	members, err := openMembers(ctx, endpoints, cellSpec{c: c, n: 2}, freshName(c))
	if err != nil {
		return res, err
	}
	defer closeMembers(members)
	holder := members[0].l
	tryer, ok := members[1].l.(tryLocker)
	if !ok {
		return res, fmt.Errorf("%s has no TryLock", c.name)
	}
	if err := holder.lock(ctx, false); err != nil {
		return res, err
	}

	before, err := readCounters()
	if err != nil {
		return res, err
	}
	rev0 := srv.Server.KV().Rev()
	var lat []time.Duration
	deadline := time.Now().Add(d / 2)
	for len(lat) == 0 || (len(lat) < maxTries && time.Now().Before(deadline)) {
		t0 := time.Now()
		err := tryer.tryLock(ctx)
		lat = append(lat, time.Since(t0))
		if err == nil {
			return res, errors.New("TryLock took a held lock")
		}
		if !errors.Is(err, fairmutex.ErrLocked) && !errors.Is(err, concurrency.ErrLocked) {
			return res, fmt.Errorf("TryLock: %w", err)
		}
	}
	rev1 := srv.Server.KV().Rev()
	after, err := readCounters()
	if err != nil {
		return res, err
	}
	n := float64(len(lat))
	res.Tries = len(lat)
	delta := after.sub(before)
	res.Calls = delta.unary / n
	res.Fsyncs = delta.fsyncs / n
	res.RevMoves = float64(rev1-rev0) / n
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
	return res, holder.unlock(ctx, false)
}
