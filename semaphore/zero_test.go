package semaphore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// Misuse gets an error, never a panic, and needs no etcd to find out.
func TestZeroValuesAndNilSession(t *testing.T) {
	ctx := context.Background()
	if sm, err := semaphore.New(nil, "/pool", 2); !errors.Is(err, semaphore.ErrNilSession) || sm != nil {
		t.Errorf("New(nil session) = %v, %v; want ErrNilSession", sm, err)
	}
	for _, sm := range []*semaphore.Semaphore{nil, {}} {
		if p, err := sm.Acquire(ctx); !errors.Is(err, semaphore.ErrUninitialized) || p != nil {
			t.Errorf("Acquire on a zero Semaphore = %v, %v; want ErrUninitialized", p, err)
		}
		if p, err := sm.TryAcquire(ctx); !errors.Is(err, semaphore.ErrUninitialized) || p != nil {
			t.Errorf("TryAcquire on a zero Semaphore = %v, %v; want ErrUninitialized", p, err)
		}
		if sm.Limit() != 0 || sm.Name() != "" {
			t.Errorf("zero Semaphore: Limit %d, Name %q; want 0, \"\"", sm.Limit(), sm.Name())
		}
	}
	for _, p := range []*semaphore.Permit{nil, {}} {
		if err := p.Release(ctx); !errors.Is(err, semaphore.ErrUninitialized) {
			t.Errorf("Release of a zero Permit = %v, want ErrUninitialized", err)
		}
		select {
		case <-p.Done():
		default:
			t.Error("zero Permit: Done is open")
		}
		if p.Token() != 0 || p.Key() != "" || !p.HeldUntil().IsZero() {
			t.Errorf("zero Permit: Token %d, Key %q, HeldUntil %v", p.Token(), p.Key(), p.HeldUntil())
		}
		// IsOwner must be a comparison etcd can evaluate; that it never
		// holds is checked against etcd in the integration tests.
		_ = p.IsOwner()
	}
}

func TestSharedSentinels(t *testing.T) {
	for _, c := range []struct {
		name       string
		sem, queue error
	}{
		{"ErrLost", semaphore.ErrLost, queue.ErrLost},
		{"ErrSessionExpired", semaphore.ErrSessionExpired, queue.ErrSessionExpired},
		{"ErrInvalidName", semaphore.ErrInvalidName, queue.ErrInvalidName},
		{"ErrNilSession", semaphore.ErrNilSession, queue.ErrNilSession},
		{"ErrUninitialized", semaphore.ErrUninitialized, queue.ErrUninitialized},
		{"ErrLimitMismatch", semaphore.ErrLimitMismatch, queue.ErrLimitMismatch},
		{"ErrInvalidLimit", semaphore.ErrInvalidLimit, queue.ErrInvalidLimit},
	} {
		if c.sem != c.queue {
			t.Errorf("semaphore.%s is not queue.%s", c.name, c.name)
		}
	}
	if semaphore.ErrNoPermit.Error() != "semaphore: no permit free" {
		t.Errorf("ErrNoPermit reads %q", semaphore.ErrNoPermit)
	}
	if errors.Is(semaphore.ErrNoPermit, queue.ErrBlocked) || errors.Is(semaphore.ErrReleased, semaphore.ErrLost) {
		t.Error("ErrNoPermit or ErrReleased matches an unrelated sentinel")
	}
}
