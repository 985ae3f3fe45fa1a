package integration_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
)

// badNames are lock names every constructor must refuse with ErrInvalidName.
var badNames = map[string]string{
	"empty":              "",
	"relative":           "jobs/nightly",
	"root":               "/",
	"trailing slash":     "/jobs/",
	"double slash":       "/jobs//nightly",
	"leading //":         "//jobs",
	"reserved .x":        "/jobs/.x",
	"reserved .s inside": "/jobs/.s/nightly",
	"reserved dot":       "/jobs/.",
	"reserved dotdot":    "/jobs/..",
	"NUL byte":           "/jobs\x00",
	"newline":            "/jobs\nnightly",
	"DEL":                "/jobs\x7f",
	"C1 control":         "/jobs\u0085",
	"invalid UTF-8":      "/jobs\xff",
	"too long":           "/" + strings.Repeat("x", 600),
}

// misuseEnv is what one misuse case works with: a client, a lock name of
// its own, and sessions made on demand.
type misuseEnv struct {
	t    *testing.T
	cli  *clientv3.Client
	name string
}

func (e *misuseEnv) session() *concurrency.Session {
	return testcluster.Session(e.t, e.cli, 10)
}

func (e *misuseEnv) closedSession() *concurrency.Session {
	s := e.session()
	if err := s.Close(); err != nil {
		e.t.Fatalf("close session: %v", err)
	}
	return s
}

// cancelled returns a context that has already ended.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func (e *misuseEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *misuseEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *misuseEnv) mutex(s *concurrency.Session) *fairmutex.Mutex {
	m, err := fairmutex.New(s, e.name)
	e.must(err)
	return m
}

func (e *misuseEnv) rw(s *concurrency.Session) *rwmutex.RWMutex {
	rw, err := rwmutex.New(s, e.name)
	e.must(err)
	return rw
}

func (e *misuseEnv) queue(s *concurrency.Session) *queue.Queue {
	q, err := queue.New(s, e.name)
	e.must(err)
	return q
}

// misuse is one wrong call. prepare does what must come first (a Lock, an
// Unlock, closing a session) and returns the call under test; after it,
// undo (if any) puts back what prepare took, so that the case can show
// that nothing is left in etcd.
type misuse struct {
	name    string
	want    error
	prepare func(e *misuseEnv) (call func() error, undo func())
}

func misuseCases() []misuse {
	var cases []misuse
	add := func(name string, want error, prepare func(e *misuseEnv) (func() error, func())) {
		cases = append(cases, misuse{name: name, want: want, prepare: prepare})
	}
	call := func(f func(e *misuseEnv) error) func(e *misuseEnv) (func() error, func()) {
		return func(e *misuseEnv) (func() error, func()) { return func() error { return f(e) }, nil }
	}

	// Constructors: nil session, ended session, malformed names.
	ctors := map[string]func(s *concurrency.Session, name string) error{
		"queue.New":     func(s *concurrency.Session, n string) error { _, err := queue.New(s, n); return err },
		"fairmutex.New": func(s *concurrency.Session, n string) error { _, err := fairmutex.New(s, n); return err },
		"rwmutex.New":   func(s *concurrency.Session, n string) error { _, err := rwmutex.New(s, n); return err },
	}
	for cname, ctor := range ctors {
		add(cname+" nil session", queue.ErrNilSession, call(func(e *misuseEnv) error { return ctor(nil, e.name) }))
		add(cname+" closed session", queue.ErrSessionExpired, call(func(e *misuseEnv) error { return ctor(e.closedSession(), e.name) }))
		add(cname+" nil session and bad name", queue.ErrNilSession, call(func(e *misuseEnv) error { return ctor(nil, "") }))
		for what, bad := range badNames {
			add(cname+" name "+what, queue.ErrInvalidName, call(func(e *misuseEnv) error { return ctor(e.session(), bad) }))
		}
	}

	// queue: zero values, nil receivers, ended sessions, cancelled contexts.
	qcalls := map[string]func(ctx context.Context, q *queue.Queue) error{
		"Join":          func(ctx context.Context, q *queue.Queue) error { _, err := q.Join(ctx, "v"); return err },
		"JoinShared":    func(ctx context.Context, q *queue.Queue) error { _, err := q.JoinShared(ctx, "v"); return err },
		"TryJoin":       func(ctx context.Context, q *queue.Queue) error { _, err := q.TryJoin(ctx, "v"); return err },
		"TryJoinShared": func(ctx context.Context, q *queue.Queue) error { _, err := q.TryJoinShared(ctx, "v"); return err },
		"Acquire":       func(ctx context.Context, q *queue.Queue) error { _, err := q.Acquire(ctx, "v"); return err },
		"AcquireShared": func(ctx context.Context, q *queue.Queue) error { _, err := q.AcquireShared(ctx, "v"); return err },
		"List":          func(ctx context.Context, q *queue.Queue) error { _, err := q.List(ctx); return err },
	}
	for cname, qc := range qcalls {
		add("zero Queue "+cname, queue.ErrUninitialized, call(func(e *misuseEnv) error { return qc(e.ctx(), &queue.Queue{}) }))
		add("nil Queue "+cname, queue.ErrUninitialized, call(func(e *misuseEnv) error { return qc(e.ctx(), nil) }))
		add("Queue "+cname+" after its session closed", queue.ErrSessionExpired, func(e *misuseEnv) (func() error, func()) {
			s := e.session()
			q := e.queue(s)
			e.must(s.Close())
			return func() error { return qc(e.ctx(), q) }, nil
		})
		add("Queue "+cname+" with a cancelled context", context.Canceled, call(func(e *misuseEnv) error {
			return qc(cancelled(), e.queue(e.session()))
		}))
	}
	tcalls := map[string]func(ctx context.Context, t *queue.Ticket) error{
		"Wait":     func(ctx context.Context, t *queue.Ticket) error { return t.Wait(ctx) },
		"Position": func(ctx context.Context, t *queue.Ticket) error { _, err := t.Position(ctx); return err },
		"Leave":    func(ctx context.Context, t *queue.Ticket) error { return t.Leave(ctx) },
	}
	for cname, tc := range tcalls {
		add("zero Ticket "+cname, queue.ErrUninitialized, call(func(e *misuseEnv) error { return tc(e.ctx(), &queue.Ticket{}) }))
		add("nil Ticket "+cname, queue.ErrUninitialized, call(func(e *misuseEnv) error { return tc(e.ctx(), nil) }))
		add("Ticket "+cname+" after Leave", queue.ErrLeft, func(e *misuseEnv) (func() error, func()) {
			tk, err := e.queue(e.session()).Join(e.ctx(), "v")
			e.must(err)
			e.must(tk.Leave(e.ctx()))
			return func() error { return tc(e.ctx(), tk) }, nil
		})
		add("Ticket "+cname+" after its session closed", queue.ErrSessionExpired, func(e *misuseEnv) (func() error, func()) {
			s := e.session()
			q := e.queue(s)
			_, err := q.Join(e.ctx(), "first") // so that the ticket below has to wait
			e.must(err)
			tk, err := q.Join(e.ctx(), "second")
			e.must(err)
			e.must(s.Close())
			return func() error { return tc(e.ctx(), tk) }, nil
		})
	}
	// A ticket at the head of the line since its join answers Wait without
	// asking etcd, but must still notice that its session has ended.
	add("granted Ticket Wait after its session closed", queue.ErrSessionExpired, func(e *misuseEnv) (func() error, func()) {
		s := e.session()
		tk, err := e.queue(s).Join(e.ctx(), "alone") // at the head of the line at once
		e.must(err)
		e.must(s.Close())
		return func() error { return tk.Wait(e.ctx()) }, nil
	})
	// Cancelled contexts on a ticket that waits: Wait and Position return
	// the context's error and leave the ticket in line (undo takes it out).
	for cname, tc := range map[string]func(ctx context.Context, t *queue.Ticket) error{
		"Wait": tcalls["Wait"], "Position": tcalls["Position"], "Leave": tcalls["Leave"],
	} {
		add("waiting Ticket "+cname+" with a cancelled context", context.Canceled, func(e *misuseEnv) (func() error, func()) {
			q := e.queue(e.session())
			first, err := q.Join(e.ctx(), "first")
			e.must(err)
			tk, err := q.Join(e.ctx(), "second")
			e.must(err)
			return func() error { return tc(cancelled(), tk) }, func() {
				e.must(tk.Leave(e.ctx()))
				e.must(first.Leave(e.ctx()))
			}
		})
	}

	// fairmutex.
	mcalls := map[string]func(m *fairmutex.Mutex, ctx context.Context) error{
		"Lock":    (*fairmutex.Mutex).Lock,
		"TryLock": (*fairmutex.Mutex).TryLock,
		"Unlock":  (*fairmutex.Mutex).Unlock,
	}
	for cname, mc := range mcalls {
		add("zero Mutex "+cname, fairmutex.ErrUninitialized, call(func(e *misuseEnv) error { return mc(&fairmutex.Mutex{}, e.ctx()) }))
		add("nil Mutex "+cname, fairmutex.ErrUninitialized, call(func(e *misuseEnv) error { return mc(nil, e.ctx()) }))
	}
	for cname, mc := range map[string]func(m *fairmutex.Mutex, ctx context.Context) error{"Lock": mcalls["Lock"], "TryLock": mcalls["TryLock"]} {
		add("Mutex "+cname+" after its session closed", fairmutex.ErrSessionExpired, func(e *misuseEnv) (func() error, func()) {
			s := e.session()
			m := e.mutex(s)
			e.must(s.Close())
			return func() error { return mc(m, e.ctx()) }, nil
		})
		add("Mutex "+cname+" with a cancelled context", context.Canceled, call(func(e *misuseEnv) error {
			return mc(e.mutex(e.session()), cancelled())
		}))
	}
	add("Mutex Unlock without Lock", fairmutex.ErrNotLocked, call(func(e *misuseEnv) error {
		return e.mutex(e.session()).Unlock(e.ctx())
	}))
	add("Mutex double Unlock", fairmutex.ErrNotLocked, func(e *misuseEnv) (func() error, func()) {
		m := e.mutex(e.session())
		e.must(m.Lock(e.ctx()))
		e.must(m.Unlock(e.ctx()))
		return func() error { return m.Unlock(e.ctx()) }, nil
	})
	add("Mutex Unlock with a cancelled context", context.Canceled, func(e *misuseEnv) (func() error, func()) {
		m := e.mutex(e.session())
		e.must(m.Lock(e.ctx()))
		return func() error { return m.Unlock(cancelled()) }, func() { e.must(m.Unlock(e.ctx())) }
	})
	add("Mutex TryLock while another holds", fairmutex.ErrLocked, func(e *misuseEnv) (func() error, func()) {
		holder := e.mutex(e.session())
		e.must(holder.Lock(e.ctx()))
		return func() error { return e.mutex(e.session()).TryLock(e.ctx()) }, func() { e.must(holder.Unlock(e.ctx())) }
	})

	// rwmutex.
	rwcalls := map[string]func(rw *rwmutex.RWMutex, ctx context.Context) error{
		"Lock":     (*rwmutex.RWMutex).Lock,
		"TryLock":  (*rwmutex.RWMutex).TryLock,
		"RLock":    (*rwmutex.RWMutex).RLock,
		"TryRLock": (*rwmutex.RWMutex).TryRLock,
		"Unlock":   (*rwmutex.RWMutex).Unlock,
		"RUnlock":  (*rwmutex.RWMutex).RUnlock,
	}
	for cname, rc := range rwcalls {
		add("zero RWMutex "+cname, rwmutex.ErrUninitialized, call(func(e *misuseEnv) error { return rc(&rwmutex.RWMutex{}, e.ctx()) }))
		add("nil RWMutex "+cname, rwmutex.ErrUninitialized, call(func(e *misuseEnv) error { return rc(nil, e.ctx()) }))
	}
	for _, cname := range []string{"Lock", "TryLock", "RLock", "TryRLock"} {
		rc := rwcalls[cname]
		add("RWMutex "+cname+" after its session closed", rwmutex.ErrSessionExpired, func(e *misuseEnv) (func() error, func()) {
			s := e.session()
			rw := e.rw(s)
			e.must(s.Close())
			return func() error { return rc(rw, e.ctx()) }, nil
		})
		add("RWMutex "+cname+" with a cancelled context", context.Canceled, call(func(e *misuseEnv) error {
			return rc(e.rw(e.session()), cancelled())
		}))
	}
	add("RWMutex Unlock without Lock", rwmutex.ErrNotLocked, call(func(e *misuseEnv) error {
		return e.rw(e.session()).Unlock(e.ctx())
	}))
	add("RWMutex RUnlock without RLock", rwmutex.ErrNotRLocked, call(func(e *misuseEnv) error {
		return e.rw(e.session()).RUnlock(e.ctx())
	}))
	add("RWMutex double Unlock", rwmutex.ErrNotLocked, func(e *misuseEnv) (func() error, func()) {
		rw := e.rw(e.session())
		e.must(rw.Lock(e.ctx()))
		e.must(rw.Unlock(e.ctx()))
		return func() error { return rw.Unlock(e.ctx()) }, nil
	})
	add("RWMutex double RUnlock", rwmutex.ErrNotRLocked, func(e *misuseEnv) (func() error, func()) {
		rw := e.rw(e.session())
		e.must(rw.RLock(e.ctx()))
		e.must(rw.RUnlock(e.ctx()))
		return func() error { return rw.RUnlock(e.ctx()) }, nil
	})
	add("RWMutex RUnlock after Unlock", rwmutex.ErrNotRLocked, func(e *misuseEnv) (func() error, func()) {
		rw := e.rw(e.session())
		e.must(rw.Lock(e.ctx()))
		e.must(rw.Unlock(e.ctx()))
		return func() error { return rw.RUnlock(e.ctx()) }, nil
	})
	add("RWMutex RUnlock while write-locked", rwmutex.ErrNotRLocked, func(e *misuseEnv) (func() error, func()) {
		rw := e.rw(e.session())
		e.must(rw.Lock(e.ctx()))
		return func() error { return rw.RUnlock(e.ctx()) }, func() { e.must(rw.Unlock(e.ctx())) }
	})
	add("RWMutex Unlock while read-locked", rwmutex.ErrNotLocked, func(e *misuseEnv) (func() error, func()) {
		rw := e.rw(e.session())
		e.must(rw.RLock(e.ctx()))
		return func() error { return rw.Unlock(e.ctx()) }, func() { e.must(rw.RUnlock(e.ctx())) }
	})
	return cases
}

// TestMisuse makes every wrong call the packages can be given: nil and
// ended sessions, malformed names, zero values and nil receivers, releases
// of what is not held, calls after Leave, cancelled contexts. Each must
// return the documented sentinel (matched with errors.Is), write nothing
// (the store revision does not move) and leave nothing in etcd.
func TestMisuse(t *testing.T) {
	c := testcluster.Cluster(t, 1) // no fault here: one member is enough
	cli := testcluster.Client(t, c, 0)
	for i, tc := range misuseCases() {
		t.Run(tc.name, func(t *testing.T) {
			e := &misuseEnv{t: t, cli: cli, name: fmt.Sprintf("/misuse/%d", i)}
			call, undo := tc.prepare(e)
			before := testcluster.Revision(t, cli)
			err := call()
			after := testcluster.Revision(t, cli)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if after != before {
				t.Errorf("the call wrote to etcd: revision %d -> %d", before, after)
			}
			if undo != nil {
				undo()
			}
			if keys := testcluster.Keys(t, cli, ""); len(keys) != 0 {
				t.Errorf("keys left in etcd: %q", keys)
			}
		})
	}
}

// Zero values and released locks answer their accessors without I/O: no
// token, no key, a closed Done and an IsOwner comparison that fails a
// fenced write.
func TestMisuseAccessors(t *testing.T) {
	c := testcluster.Cluster(t, 1)
	cli := testcluster.Client(t, c, 0)
	s := testcluster.Session(t, cli, 10)
	released := newMutex(t, s, "/misuse/accessors")
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := released.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := released.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	releasedRW, err := rwmutex.New(s, "/misuse/accessors")
	if err != nil {
		t.Fatal(err)
	}
	if err := releasedRW.RLock(ctx); err != nil {
		t.Fatal(err)
	}
	type holder interface {
		Token() int64
		Key() string
		Done() <-chan struct{}
		IsOwner() clientv3.Cmp
	}
	for _, tc := range []struct {
		name string
		h    holder
	}{
		{"zero Mutex", &fairmutex.Mutex{}},
		{"nil Mutex", (*fairmutex.Mutex)(nil)},
		{"released Mutex", released},
		{"zero RWMutex", &rwmutex.RWMutex{}},
		{"nil RWMutex", (*rwmutex.RWMutex)(nil)},
		{"read-locked RWMutex (writer accessors)", releasedRW},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok := tc.h.Token(); tok != 0 {
				t.Errorf("Token() = %d, want 0", tok)
			}
			if key := tc.h.Key(); key != "" {
				t.Errorf("Key() = %q, want \"\"", key)
			}
			select {
			case <-tc.h.Done():
			case <-time.After(time.Second):
				t.Error("Done() not closed")
			}
			assertOwner(t, cli, tc.h.IsOwner(), false)
		})
	}
	if err := releasedRW.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("zero Ticket", func(t *testing.T) {
		zero := &queue.Ticket{}
		select {
		case <-zero.Done():
		case <-time.After(time.Second):
			t.Error("Done() not closed")
		}
		if zero.Rev() != 0 || zero.Key() != "" || zero.Value() != "" || zero.Shared() {
			t.Errorf("Rev, Key, Value, Shared = %d, %q, %q, %v; want zeros", zero.Rev(), zero.Key(), zero.Value(), zero.Shared())
		}
		// The comparison names no key, and etcd refuses the transaction:
		// the fenced write fails all the same.
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		resp, err := cli.Txn(ctx).If(zero.IsOwner()).Then(clientv3.OpPut("/fenced", "x")).Commit()
		if err == nil && resp.Succeeded {
			t.Error("a write fenced by a zero Ticket's IsOwner succeeded")
		}
	})
	t.Run("zero Queue", func(t *testing.T) {
		zero := &queue.Queue{}
		if zero.Name() != "" || zero.Session() != nil {
			t.Errorf("Name, Session = %q, %v; want zeros", zero.Name(), zero.Session())
		}
	})
	if keys := testcluster.Keys(t, cli, ""); len(keys) != 0 {
		t.Errorf("keys left in etcd: %q", keys)
	}
}
