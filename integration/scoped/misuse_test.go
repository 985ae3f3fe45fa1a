package scoped_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/rwmutex"
	"github.com/fairlock/fairlock/semaphore"
)

// Every wrong call of Do and Lead returns its sentinel without running fn,
// writes nothing (the store's revision does not move) and leaves nothing; a
// nil fn panics before anything is taken.
func TestMisuse(t *testing.T) {
	w := newWorld(t, 1)
	// Made on a session that then ends: their calls meet the end.
	ending := w.session(0, 10)
	endedM, err := fairmutex.New(ending, w.name)
	must(t, err)
	endedE, err := election.New(ending, w.name)
	must(t, err)
	must(t, ending.Close())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var (
		zeroM  fairmutex.Mutex
		zeroRW rwmutex.RWMutex
		zeroS  semaphore.Semaphore
		zeroE  election.Election
	)
	live := w.session(0, 10)
	m, err := fairmutex.New(live, w.name)
	must(t, err)
	sm, err := semaphore.New(live, w.name, 2)
	must(t, err)
	e, err := election.New(live, w.name)
	must(t, err)

	for _, tc := range []struct {
		name string
		call func(fn func(context.Context) error) error
		want error
	}{
		{"zero Mutex", func(fn func(context.Context) error) error { return zeroM.Do(bounded(t), fn) }, fairmutex.ErrUninitialized},
		{"nil Mutex", func(fn func(context.Context) error) error {
			return (*fairmutex.Mutex)(nil).Do(bounded(t), fn)
		}, fairmutex.ErrUninitialized},
		{"zero RWMutex Do", func(fn func(context.Context) error) error { return zeroRW.Do(bounded(t), fn) }, rwmutex.ErrUninitialized},
		{"zero RWMutex RDo", func(fn func(context.Context) error) error { return zeroRW.RDo(bounded(t), fn) }, rwmutex.ErrUninitialized},
		{"zero Semaphore", func(fn func(context.Context) error) error { return zeroS.Do(bounded(t), 1, fn) }, semaphore.ErrUninitialized},
		{"zero Election", func(fn func(context.Context) error) error { return zeroE.Lead(bounded(t), "v", fn) }, election.ErrUninitialized},
		{"weight 0", func(fn func(context.Context) error) error { return sm.Do(bounded(t), 0, fn) }, semaphore.ErrInvalidWeight},
		{"weight above the limit", func(fn func(context.Context) error) error { return sm.Do(bounded(t), 3, fn) }, semaphore.ErrInvalidWeight},
		{"negative period", func(fn func(context.Context) error) error {
			return e.Lead(bounded(t), "v", fn, election.RotateEvery(-1))
		}, election.ErrInvalidPeriod},
		{"Do with an ended ctx", func(fn func(context.Context) error) error { return m.Do(cancelled, fn) }, context.Canceled},
		{"Do on an ended session", func(fn func(context.Context) error) error { return endedM.Do(bounded(t), fn) }, queue.ErrSessionExpired},
		{"Lead on an ended session", func(fn func(context.Context) error) error {
			return endedE.Lead(bounded(t), "v", fn)
		}, queue.ErrSessionExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testcluster.Revision(t, w.admin)
			err := tc.call(func(context.Context) error {
				t.Error("fn ran")
				return nil
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if after := testcluster.Revision(t, w.admin); after != before {
				t.Errorf("the call wrote to etcd: revision %d -> %d", before, after)
			}
			if keys := testcluster.Keys(t, w.admin, w.name+"/"); len(keys) != 0 {
				t.Errorf("keys left: %q", keys)
			}
		})
	}

	for _, tc := range []struct {
		name string
		call func()
	}{
		{"Mutex.Do", func() { _ = m.Do(bounded(t), nil) }},
		{"RWMutex.Do", func() { _ = zeroRW.Do(bounded(t), nil) }},
		{"RWMutex.RDo", func() { _ = zeroRW.RDo(bounded(t), nil) }},
		{"Semaphore.Do", func() { _ = sm.Do(bounded(t), 1, nil) }},
		{"Election.Lead", func() { _ = e.Lead(bounded(t), "v", nil) }},
	} {
		t.Run("nil fn to "+tc.name, func(t *testing.T) {
			before := testcluster.Revision(t, w.admin)
			p := func() (p any) {
				defer func() { p = recover() }()
				tc.call()
				return nil
			}()
			if !strings.Contains(fmt.Sprint(p), "nil function") {
				t.Errorf("recovered %v, want a panic naming the nil function", p)
			}
			if after := testcluster.Revision(t, w.admin); after != before {
				t.Errorf("the call wrote to etcd: revision %d -> %d", before, after)
			}
		})
	}
}
