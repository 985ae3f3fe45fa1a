package main

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
)

// Multi-lock cells: spec.lines locks named NAME/l0, NAME/l1, ...; each call
// takes spec.k of them, chosen at random, and releases them one by one.

// pickLines chooses k distinct lines of n, as a bit set.
func pickLines(rng *rand.Rand, n, k int) uint64 {
	var set uint64
	for _, i := range rng.Perm(n)[:k] {
		set |= 1 << i
	}
	return set
}

// lineIndexes lists the lines of set, lowest first: sorted names, as
// ordered locking needs.
func lineIndexes(set uint64) []int {
	var out []int
	for set != 0 {
		i := bits.TrailingZeros64(set)
		out = append(out, i)
		set &^= 1 << i
	}
	return out
}

// lineName names line i; zero-padded, so that name order is index order.
func lineName(name string, i int) string { return fmt.Sprintf("%s/l%02d", name, i) }

// lockAll takes its locks with one fairmutex.LockAll.
type lockAll struct {
	ms   []*fairmutex.Mutex
	k    int
	held []*fairmutex.Mutex
}

func openLockAll(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	l := &lockAll{k: spec.k}
	for i := range spec.lines {
		m, err := fairmutex.New(s, lineName(name, i))
		if err != nil {
			return nil, err
		}
		l.ms = append(l.ms, m)
	}
	return l, nil
}

func (l *lockAll) pick(rng *rand.Rand) uint64 {
	set := pickLines(rng, len(l.ms), l.k)
	l.held = l.held[:0]
	for _, i := range lineIndexes(set) {
		l.held = append(l.held, l.ms[i])
	}
	return set
}

func (l *lockAll) lock(ctx context.Context, _ bool) error { return fairmutex.LockAll(ctx, l.held...) }

func (l *lockAll) unlock(ctx context.Context, _ bool) error {
	var errs []error
	for _, m := range l.held {
		errs = append(errs, m.Unlock(ctx))
	}
	return errors.Join(errs...)
}

// sortedLocks takes etcd Mutexes one by one in name order, the classic way
// to avoid deadlock when a lock has no multi-lock call.
type sortedLocks struct {
	ms   []*concurrency.Mutex
	k    int
	held []*concurrency.Mutex
}

func openSorted(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	l := &sortedLocks{k: spec.k}
	for i := range spec.lines {
		l.ms = append(l.ms, concurrency.NewMutex(s, lineName(name, i)))
	}
	return l, nil
}

func (l *sortedLocks) pick(rng *rand.Rand) uint64 {
	set := pickLines(rng, len(l.ms), l.k)
	l.held = l.held[:0]
	for _, i := range lineIndexes(set) {
		l.held = append(l.held, l.ms[i])
	}
	return set
}

func (l *sortedLocks) lock(ctx context.Context, _ bool) error {
	for i, m := range l.held {
		if err := m.Lock(ctx); err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
			defer cancel()
			for _, m := range l.held[:i] {
				m.Unlock(uctx)
			}
			return err
		}
	}
	return nil
}

func (l *sortedLocks) unlock(ctx context.Context, _ bool) error {
	var errs []error
	for _, m := range l.held {
		errs = append(errs, m.Unlock(ctx))
	}
	return errors.Join(errs...)
}
