package lockall_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// A LockAll that cannot be done says so before it writes anything: the
// same lock twice, a Mutex (or write side) already held, locks of
// different sessions, a zero value. The store's revision does not move,
// nothing is held, and the values can LockAll again.
func TestLockAllMisuseWritesNothing(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 2)
	x, y := newNode(t, c, 0, 30), newNode(t, c, 1, 30)

	held := x.mutex(t, "/misuse/held")
	if err := held.Lock(bounded(t)); err != nil {
		t.Fatal(err)
	}
	heldRW := x.rw(t, "/misuse/held-rw")
	if err := heldRW.Lock(bounded(t)); err != nil {
		t.Fatal(err)
	}
	a, b := x.mutex(t, "/misuse/A"), x.mutex(t, "/misuse/B")
	rwA, rwB := x.rw(t, "/misuse/A"), x.rw(t, "/misuse/B")
	for _, tc := range []struct {
		name string
		call func(context.Context) error
		want []error // any of them
	}{
		{"same-name-twice", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, b, x.mutex(t, "/misuse/A"))
		}, []error{fairmutex.ErrDuplicateLine}},
		{"same-mutex-twice", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, a)
		}, []error{fairmutex.ErrDuplicateLine, fairmutex.ErrAlreadyLocked}},
		{"already-held", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, held, b)
		}, []error{fairmutex.ErrAlreadyLocked}},
		{"mixed-sessions", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, y.mutex(t, "/misuse/C"))
		}, []error{fairmutex.ErrMixedSessions}},
		{"zero-mutex", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, &fairmutex.Mutex{})
		}, []error{fairmutex.ErrUninitialized}},
		{"nil-mutex", func(ctx context.Context) error {
			return fairmutex.LockAll(ctx, a, nil)
		}, []error{fairmutex.ErrUninitialized}},
		{"rw-same-name-twice", func(ctx context.Context) error {
			return rwmutex.LockAll(ctx, rwmutex.Hold{RW: rwA, Read: true}, rwmutex.Hold{RW: x.rw(t, "/misuse/A")})
		}, []error{rwmutex.ErrDuplicateLine}},
		{"rw-write-held", func(ctx context.Context) error {
			return rwmutex.LockAll(ctx, rwmutex.Hold{RW: rwA, Read: true}, rwmutex.Hold{RW: heldRW})
		}, []error{rwmutex.ErrAlreadyLocked}},
		{"rw-mixed-sessions", func(ctx context.Context) error {
			return rwmutex.LockAll(ctx, rwmutex.Hold{RW: rwA}, rwmutex.Hold{RW: y.rw(t, "/misuse/C"), Read: true})
		}, []error{rwmutex.ErrMixedSessions}},
		{"rw-zero", func(ctx context.Context) error {
			return rwmutex.LockAll(ctx, rwmutex.Hold{RW: rwA}, rwmutex.Hold{RW: &rwmutex.RWMutex{}})
		}, []error{rwmutex.ErrUninitialized}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testcluster.Revision(t, admin)
			err := tc.call(bounded(t))
			matched := false
			for _, want := range tc.want {
				matched = matched || errors.Is(err, want)
			}
			if !matched {
				t.Errorf("LockAll = %v, want one of %v", err, tc.want)
			}
			if after := testcluster.Revision(t, admin); after != before {
				t.Errorf("a failed LockAll moved the store's revision from %d to %d", before, after)
			}
			if a.Token() != 0 || b.Token() != 0 || rwA.Token() != 0 || rwA.RToken() != 0 {
				t.Errorf("something held after a failed LockAll: tokens %d %d %d %d", a.Token(), b.Token(), rwA.Token(), rwA.RToken())
			}
		})
	}

	// Nothing stayed claimed: the same values lock all at once now.
	if err := fairmutex.LockAll(bounded(t), a, b); err != nil {
		t.Fatalf("LockAll after the failed ones: %v", err)
	}
	for _, m := range []*fairmutex.Mutex{a, b, held} {
		if err := m.Unlock(bounded(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rwmutex.LockAll(bounded(t), rwmutex.Hold{RW: rwA, Read: true}, rwmutex.Hold{RW: rwB}); err != nil {
		t.Fatalf("rwmutex.LockAll after the failed ones: %v", err)
	}
	if rwA.RToken() != rwB.Token() || rwB.Token() == 0 {
		t.Errorf("read token %d and write token %d of one LockAll, want equal", rwA.RToken(), rwB.Token())
	}
	if err := rwA.RUnlock(bounded(t)); err != nil {
		t.Fatal(err)
	}
	for _, rw := range []*rwmutex.RWMutex{rwB, heldRW} {
		if err := rw.Unlock(bounded(t)); err != nil {
			t.Fatal(err)
		}
	}
	if k := testcluster.Keys(t, admin, "/misuse/"); len(k) != 0 {
		t.Errorf("keys left: %v", k)
	}
}
