package main

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
	recipe "go.etcd.io/etcd/client/v3/experimental/recipes"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/rwmutex"
)

// locker is what a cell drives. Mutexes ignore read: every hold is
// exclusive.
type locker interface {
	lock(ctx context.Context, read bool) error
	unlock(ctx context.Context, read bool) error
}

// contender is one lock implementation under test.
type contender struct {
	name   string
	rw     bool   // a read-write lock: runs the read mixes
	anchor string // the etcd lock its figures are divided by; "" for an anchor
	about  string
	open   func(s *concurrency.Session, name string) (locker, error)
}

// Names used by -only and in the tables.
const (
	nameFair      = "fairmutex"
	nameEtcdMutex = "etcd-mutex"
	nameHerd      = "herd"
	nameRW        = "rwmutex"
	nameEtcdRW    = "etcd-rwmutex"
)

var contenders = []contender{
	{name: nameFair, anchor: nameEtcdMutex, about: "fairlock fairmutex.Mutex",
		open: func(s *concurrency.Session, name string) (locker, error) {
			m, err := fairmutex.New(s, name)
			return fairMutex{m}, err
		}},
	{name: nameEtcdMutex, about: "etcd client/v3/concurrency.Mutex (FIFO anchor)",
		open: func(s *concurrency.Session, name string) (locker, error) {
			return etcdMutex{concurrency.NewMutex(s, name)}, nil
		}},
	{name: nameHerd, anchor: nameEtcdMutex, about: "v2-style exclusive mode on v3: put-if-absent, watch, race on delete",
		open: func(s *concurrency.Session, name string) (locker, error) {
			return newHerdMutex(s, name), nil
		}},
	{name: nameRW, rw: true, anchor: nameEtcdRW, about: "fairlock rwmutex.RWMutex",
		open: func(s *concurrency.Session, name string) (locker, error) {
			m, err := rwmutex.New(s, name)
			return rwMutex{m}, err
		}},
	{name: nameEtcdRW, rw: true, about: "etcd client/v3/experimental/recipes.RWMutex (RW anchor)",
		open: func(s *concurrency.Session, name string) (locker, error) {
			return etcdRWMutex{recipe.NewRWMutex(s, name)}, nil
		}},
}

func contenderNamed(name string) (contender, error) {
	for _, c := range contenders {
		if c.name == name {
			return c, nil
		}
	}
	return contender{}, fmt.Errorf("unknown contender %q", name)
}

type fairMutex struct{ m *fairmutex.Mutex }

func (f fairMutex) lock(ctx context.Context, _ bool) error   { return f.m.Lock(ctx) }
func (f fairMutex) unlock(ctx context.Context, _ bool) error { return f.m.Unlock(ctx) }

type etcdMutex struct{ m *concurrency.Mutex }

func (e etcdMutex) lock(ctx context.Context, _ bool) error   { return e.m.Lock(ctx) }
func (e etcdMutex) unlock(ctx context.Context, _ bool) error { return e.m.Unlock(ctx) }

type rwMutex struct{ m *rwmutex.RWMutex }

func (r rwMutex) lock(ctx context.Context, read bool) error {
	if read {
		return r.m.RLock(ctx)
	}
	return r.m.Lock(ctx)
}

func (r rwMutex) unlock(ctx context.Context, read bool) error {
	if read {
		return r.m.RUnlock(ctx)
	}
	return r.m.Unlock(ctx)
}

// etcdRWMutex adapts recipes.RWMutex, whose calls take no context: a call
// in flight cannot be cancelled, only unblocked by closing the sessions.
type etcdRWMutex struct{ m *recipe.RWMutex }

func (e etcdRWMutex) lock(ctx context.Context, read bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if read {
		return e.m.RLock()
	}
	return e.m.Lock()
}

func (e etcdRWMutex) unlock(_ context.Context, read bool) error {
	if read {
		return e.m.RUnlock()
	}
	return e.m.Unlock()
}
