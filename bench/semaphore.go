package main

import (
	"context"
	"errors"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/semaphore"
)

// semLocker drives a semaphore as a lock: lock acquires a permit, unlock
// releases it. One goroutine drives each, so it keeps its permit alone.
type semLocker struct {
	sm *semaphore.Semaphore
	p  *semaphore.Permit
}

func openSemaphore(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	sm, err := semaphore.New(s, name, spec.limit)
	return &semLocker{sm: sm}, err
}

func (l *semLocker) lock(ctx context.Context, _ bool) error {
	p, err := l.sm.Acquire(ctx)
	l.p = p
	return err
}

func (l *semLocker) unlock(ctx context.Context, _ bool) error {
	if l.p == nil {
		return errors.New("semaphore: release without a permit")
	}
	err := l.p.Release(ctx)
	l.p = nil
	return err
}
