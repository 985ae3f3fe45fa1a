package scoped_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

// fn runs only once the hold is granted, under it (its entry heads the
// line), and its error is what the call returns; nothing is left after.
func TestRunsUnderTheHold(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			w := newWorld(t, 1)
			release := k.block(t, w.session(0, 10), w.name)
			s := w.session(0, 10)
			joined := make(chan struct{}, 1)
			do := k.make(t, s, w.name, func() { joined <- struct{}{} })
			started := make(chan struct{})
			boom := errors.New("boom")
			result := run(t, bounded(t), do, func(ctx context.Context) error {
				close(started)
				w.holdOf(s) // fails the test unless the hold heads the line
				if err := ctx.Err(); err != nil {
					t.Errorf("fn's context has ended already: %v", err)
				}
				return boom
			})
			await(t, joined, "the scoped call's join")
			select {
			case <-started:
				t.Fatal("fn ran before the hold was granted")
			default:
			}
			release()
			closed(t, started, "fn's start once the blocker released")
			if err := await(t, result, k.name); !errors.Is(err, boom) || errors.Is(err, queue.ErrLost) {
				t.Fatalf("%s = %v, want fn's error alone", k.name, err)
			}
			w.noKeysLeft()
		})
	}
}

// The hold's key deleted by someone else while fn runs: fn's context ends
// within a second, its cause and the call's error match ErrLost, and
// nothing is left.
func TestLostUnderFn(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			w := newWorld(t, 1)
			s := w.session(0, 10)
			do := k.make(t, s, w.name, nil)
			key := make(chan string, 1)
			ended := make(chan time.Time, 1)
			giveUp := make(chan struct{}) // a broken call fails in seconds, not at waitLimit
			var cause error
			result := run(t, bounded(t), do, func(ctx context.Context) error {
				key <- w.holdOf(s).Key
				select {
				case <-ctx.Done():
					ended <- time.Now()
					cause = context.Cause(ctx)
					return ctx.Err()
				case <-giveUp:
					return errors.New("fn's context did not end after its hold was lost")
				}
			})
			t.Cleanup(func() { close(giveUp) }) // before run's cleanup waits for the call
			holdKey := await(t, key, "fn's start")
			deleted := time.Now()
			if _, err := w.admin.Delete(bounded(t), holdKey); err != nil {
				t.Fatal(err)
			}
			select {
			case at := <-ended:
				if d := at.Sub(deleted); d > lossBound {
					t.Errorf("fn's context ended %v after its hold's key was deleted, want within %v", d, lossBound)
				}
			case <-time.After(5 * lossBound):
				t.Fatalf("fn's context still going %v after its hold's key was deleted", 5*lossBound)
			}
			err := await(t, result, "the scoped call")
			if !errors.Is(cause, queue.ErrLost) {
				t.Errorf("fn's context's cause = %v, want one matching ErrLost", cause)
			}
			if !errors.Is(err, queue.ErrLost) || !errors.Is(err, context.Canceled) {
				t.Errorf("the call returned %v, want fn's error joined with one matching ErrLost", err)
			}
			w.noKeysLeft()
		})
	}
}

// A ctx that ends while the call waits: fn never runs, the call returns
// ctx's error, and only the blocker's entry is left in the line.
func TestCancelledWhileWaiting(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			w := newWorld(t, 1)
			blocker := w.session(0, 10)
			release := k.block(t, blocker, w.name)
			joined := make(chan struct{}, 1)
			do := k.make(t, w.session(0, 10), w.name, func() { joined <- struct{}{} })
			ctx, cancel := context.WithCancel(bounded(t))
			ran := make(chan struct{})
			result := run(t, ctx, do, func(context.Context) error {
				close(ran)
				return nil
			})
			await(t, joined, "the scoped call's join")
			cancel()
			err := await(t, result, "the cancelled call")
			if k.shutdownNil {
				if err != nil {
					t.Errorf("%s cancelled while waiting = %v, want nil (a clean shutdown)", k.name, err)
				}
			} else if !errors.Is(err, context.Canceled) {
				t.Errorf("%s cancelled while waiting = %v, want context.Canceled", k.name, err)
			}
			select {
			case <-ran:
				t.Fatal("fn ran although the call was cancelled while waiting")
			default:
			}
			if es := w.entries(); len(es) != 1 || es[0].Lease != blocker.Lease() {
				t.Errorf("the line after the cancel: %+v, want the blocker's entry alone", es)
			}
			release()
			w.noKeysLeft()
		})
	}
}

// A ctx that ends while fn runs ends fn's context and releases the hold:
// the next in line is granted, and nothing of the call is left.
func TestCancelledInsideFn(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			w := newWorld(t, 1)
			do := k.make(t, w.session(0, 10), w.name, nil)
			ctx, cancel := context.WithCancel(bounded(t))
			started := make(chan struct{})
			result := run(t, ctx, do, func(fctx context.Context) error {
				close(started)
				select {
				case <-fctx.Done():
					return fctx.Err()
				case <-time.After(waitLimit):
					return errors.New("fn's context did not end with ctx")
				}
			})
			closed(t, started, "fn's start")
			cancel()
			err := await(t, result, "the cancelled call")
			if k.shutdownNil {
				if err != nil {
					t.Errorf("%s cancelled inside fn = %v, want nil (a clean shutdown)", k.name, err)
				}
			} else if !errors.Is(err, context.Canceled) || errors.Is(err, queue.ErrLost) {
				t.Errorf("%s cancelled inside fn = %v, want context.Canceled alone", k.name, err)
			}
			w.noKeysLeft()
			// The line is free: a new call is granted at once.
			next := make(chan struct{})
			if err := k.make(t, w.session(0, 10), w.name, nil)(bounded(t), func(context.Context) error {
				close(next)
				return nil
			}); err != nil {
				t.Fatalf("the next call: %v", err)
			}
			closed(t, next, "the next call's fn")
			w.noKeysLeft()
		})
	}
}

// A panicking fn releases the hold, then the panic goes on to the caller
// with its value.
func TestPanicReleases(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			w := newWorld(t, 1)
			do := k.make(t, w.session(0, 10), w.name, nil)
			type boom struct{ n int }
			got := make(chan any, 1)
			go func() {
				defer func() { got <- recover() }()
				_ = do(bounded(t), func(context.Context) error { panic(boom{7}) })
			}()
			if p := await(t, got, "the panicking call"); p != (boom{7}) {
				t.Fatalf("recovered %v, want the panic of fn, boom{7}", p)
			}
			// Released before the panic went on: nothing to wait for.
			if keys := testcluster.Keys(t, w.admin, w.name+"/"); len(keys) != 0 {
				t.Fatalf("keys left when the panic reached the caller: %q", keys)
			}
		})
	}
}
