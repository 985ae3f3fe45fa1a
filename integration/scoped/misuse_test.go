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

	type fn = func(context.Context) error
	for _, tc := range []struct {
		name string
		call func(fn) error
		want error
	}{
		{"zero Mutex", func(f fn) error { return zeroM.Do(bounded(t), f) }, fairmutex.ErrUninitialized},
		{"nil Mutex", func(f fn) error { return (*fairmutex.Mutex)(nil).Do(bounded(t), f) }, fairmutex.ErrUninitialized},
		{"zero RWMutex Do", func(f fn) error { return zeroRW.Do(bounded(t), f) }, rwmutex.ErrUninitialized},
		{"zero RWMutex RDo", func(f fn) error { return zeroRW.RDo(bounded(t), f) }, rwmutex.ErrUninitialized},
		{"zero Semaphore", func(f fn) error { return zeroS.Do(bounded(t), 1, f) }, semaphore.ErrUninitialized},
		{"zero Election", func(f fn) error { return zeroE.Lead(bounded(t), "v", f) }, election.ErrUninitialized},
		{"weight 0", func(f fn) error { return sm.Do(bounded(t), 0, f) }, semaphore.ErrInvalidWeight},
		{"weight above the limit", func(f fn) error { return sm.Do(bounded(t), 3, f) }, semaphore.ErrInvalidWeight},
		{"negative period", func(f fn) error {
			return e.Lead(bounded(t), "v", f, election.RotateEvery(-1))
		}, election.ErrInvalidPeriod},
		{"Do with an ended ctx", func(f fn) error { return m.Do(cancelled, f) }, context.Canceled},
		{"Do on an ended session", func(f fn) error { return endedM.Do(bounded(t), f) }, queue.ErrSessionExpired},
		{"Lead on an ended session", func(f fn) error { return endedE.Lead(bounded(t), "v", f) }, queue.ErrSessionExpired},
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
