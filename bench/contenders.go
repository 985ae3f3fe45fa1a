package main

import (
	"context"
	"fmt"
	"math/rand/v2"

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

// picker is a locker that takes several locks per call: before each lock
// it picks which, as a bit set of line numbers, for the book.
type picker interface {
	pick(rng *rand.Rand) uint64
}

// kind is the row group a contender is measured and shown in.
type kind int

const (
	kindMutex     kind = iota
	kindRW             // read-write locks: run the read mixes
	kindSemaphore      // counting semaphores: run at -sem-contenders with -sem-limit
	kindElection       // elections: a term is an acquisition
	kindMulti          // several locks per call: run at -multi-callers, -multi-locks
	kindWeighted       // weighted semaphores: run at -wsem-contenders with -wsem-limit, -wsem-max-weight
	kindTenants        // fairmutex with tenants: run at -tenant-mixes, -tenant-holds
)

// contender is one lock implementation under test.
type contender struct {
	name   string
	kind   kind
	anchor string // the contender its figures are divided by; "" for an anchor
	// uncontended: run only in the uncontended cells (the hook overhead).
	uncontended bool
	about       string
	open        func(s *concurrency.Session, name string, spec cellSpec) (locker, error)
}

// Names used by -only and in the tables.
const (
	nameFair      = "fairmutex"
	nameFairHooks = "fairmutex+hooks"
	nameEtcdMutex = "etcd-mutex"
	nameHerd      = "herd"
	nameRW        = "rwmutex"
	nameEtcdRW    = "etcd-rwmutex"
	nameSem       = "semaphore"
	nameCurator   = "curator-sem"
	nameElection  = "election"
	nameEtcdElect = "etcd-election"
	nameLockAll   = "lockall"
	nameSorted    = "etcd-sorted"
)

var contenders = []contender{
	{name: nameFair, anchor: nameEtcdMutex, about: "fairlock fairmutex.Mutex",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			m, err := fairmutex.New(s, name)
			return fairMutex{m}, err
		}},
	{name: nameFairHooks, anchor: nameFair, uncontended: true, about: "fairmutex.Mutex with queue.WithHooks, every hook a counter",
		open: openHooked},
	{name: nameEtcdMutex, about: "etcd client/v3/concurrency.Mutex (FIFO anchor)",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			return etcdMutex{concurrency.NewMutex(s, name)}, nil
		}},
	{name: nameHerd, anchor: nameEtcdMutex, about: "v2-style exclusive mode on v3: put-if-absent, watch, race on delete",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			return newHerdMutex(s, name), nil
		}},
	{name: nameRW, kind: kindRW, anchor: nameEtcdRW, about: "fairlock rwmutex.RWMutex",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			m, err := rwmutex.New(s, name)
			return rwMutex{m}, err
		}},
	{name: nameEtcdRW, kind: kindRW, about: "etcd client/v3/experimental/recipes.RWMutex (RW anchor)",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			return etcdRWMutex{recipe.NewRWMutex(s, name)}, nil
		}},
	{name: nameSem, kind: kindSemaphore, anchor: nameCurator, about: "fairlock semaphore.Semaphore",
		open: openSemaphore},
	{name: nameCurator, kind: kindSemaphore, about: "Curator-style semaphore: every waiter watches the whole line and re-reads it on every event",
		open: func(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
			return newCuratorSem(s, name, spec.limit, 1), nil
		}},
	{name: nameElection, kind: kindElection, anchor: nameEtcdElect, about: "fairlock election.Election: Campaign once, then Rotate",
		open: openRotator},
	{name: nameEtcdElect, kind: kindElection, about: "etcd client/v3/concurrency.Election: Campaign, Resign, Campaign again",
		open: func(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
			return etcdElection{concurrency.NewElection(s, name)}, nil
		}},
	{name: nameLockAll, kind: kindMulti, anchor: nameSorted, about: "fairmutex.LockAll over k of the locks, then Unlock each",
		open: openLockAll},
	{name: nameSorted, kind: kindMulti, about: "concurrency.Mutex on k of the locks one by one, in sorted order, then Unlock each",
		open: openSorted},
	{name: nameSemW, kind: kindWeighted, anchor: nameCuratorW, about: "fairlock semaphore.Semaphore, AcquireN of weights 1 to -wsem-max-weight",
		open: openWeightedSemaphore},
	{name: nameTenants, kind: kindTenants, anchor: nameFIFO, about: "fairlock fairmutex.Mutex, queue.WithTenant: each contender one of the mix's tenants",
		open: openTenantMutex},
	{name: nameFIFO, kind: kindTenants, about: "fairlock fairmutex.Mutex without tenants: the same contenders, FIFO (tenants anchor)",
		open: openFIFOMutex},
	{name: nameCuratorW, kind: kindWeighted, about: "weighted Curator-style semaphore: weights in the values, every waiter watches the whole line, strictly FIFO",
		open: openCuratorWSem},
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
