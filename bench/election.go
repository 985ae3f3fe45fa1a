package main

import (
	"context"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/election"
)

// Elections are driven as locks: a term is an acquisition. A lock is the
// call that makes the candidate leader, an unlock what hands the lead on,
// so handoff is from the start of the leader's hand-off to the next
// leader's return, and overtakes are terms out of arrival order.

// rotator campaigns once, then Rotates: lock is Rotate (the hand-off and
// the wait for the next term in one call) once it leads, and unlock does
// nothing.
type rotator struct {
	e       *election.Election
	leading bool
}

func openRotator(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
	e, err := election.New(s, name)
	return &rotator{e: e}, err
}

func (r *rotator) lock(ctx context.Context, _ bool) error {
	var err error
	if r.leading {
		err = r.e.Rotate(ctx)
	} else {
		err = r.e.Campaign(ctx, "bench")
	}
	r.leading = err == nil
	return err
}

func (r *rotator) unlock(context.Context, bool) error { return nil }

// etcdElection is etcd's Election taking turns the only way it can:
// Resign, then Campaign again at the tail.
type etcdElection struct{ e *concurrency.Election }

func (e etcdElection) lock(ctx context.Context, _ bool) error   { return e.e.Campaign(ctx, "bench") }
func (e etcdElection) unlock(ctx context.Context, _ bool) error { return e.e.Resign(ctx) }
