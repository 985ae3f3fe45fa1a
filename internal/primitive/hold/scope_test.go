package hold_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fairlock/fairlock/internal/primitive/hold"
	"github.com/fairlock/fairlock/queue"
)

// waitLimit bounds every wait for a context to end: only a bug needs it.
const waitLimit = 10 * time.Second

// What a function run under a hold comes to, for every combination of its
// error, the hold ending under it, and the release's outcome.
func TestOutcome(t *testing.T) {
	lost := fmt.Errorf("%w: the hold ended", queue.ErrLost)
	fnErr := errors.New("fn failed")
	notHeld := errors.New("not held")
	releaseLost := fmt.Errorf("%w: key deleted", queue.ErrLost)
	for _, tc := range []struct {
		name       string
		fnErr      error
		ended      bool
		releaseErr error
		want       []error // each matches the result
		wantNot    []error // none matches
		wantNil    bool
	}{
		{name: "all well", wantNil: true},
		{name: "fn failed", fnErr: fnErr, want: []error{fnErr}, wantNot: []error{queue.ErrLost}},
		{name: "lost: the release says so", ended: true, releaseErr: releaseLost, want: []error{releaseLost}},
		{name: "lost and fn failed", fnErr: fnErr, ended: true, releaseErr: releaseLost,
			want: []error{fnErr, releaseLost}},
		{name: "Done closed at HeldUntil, the entry still there", ended: true, want: []error{lost}},
		{name: "fn returned the loss itself", fnErr: lost, ended: true, want: []error{lost}},
		{name: "released elsewhere", fnErr: context.Canceled, ended: true, releaseErr: notHeld,
			want: []error{context.Canceled, notHeld}, wantNot: []error{queue.ErrLost}},
		{name: "release failed, fn fine", releaseErr: context.DeadlineExceeded,
			want: []error{context.DeadlineExceeded}, wantNot: []error{queue.ErrLost}},
		{name: "cut off: Done closed, the release cannot tell", fnErr: context.Canceled, ended: true,
			releaseErr: context.DeadlineExceeded, want: []error{context.Canceled, lost, context.DeadlineExceeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hold.Outcome(tc.fnErr, tc.ended, lost, tc.releaseErr, notHeld)
			if tc.wantNil != (got == nil) {
				t.Fatalf("Outcome = %v, want nil: %v", got, tc.wantNil)
			}
			for _, w := range tc.want {
				if !errors.Is(got, w) {
					t.Errorf("Outcome = %v, does not match %v", got, w)
				}
			}
			for _, w := range tc.wantNot {
				if errors.Is(got, w) {
					t.Errorf("Outcome = %v, matches %v", got, w)
				}
			}
		})
	}
}

// A Scope's context ends with the cause of whatever ended it first, and
// Close reports that cause; nil when Close itself ended it.
func TestScopeCauses(t *testing.T) {
	lost := fmt.Errorf("%w: the hold ended", queue.ErrLost)
	other := errors.New("asked")
	for _, tc := range []struct {
		name string
		end  func(sc *hold.Scope, cancel context.CancelCauseFunc, done, ch chan struct{})
		want error
	}{
		{"nothing: Close ends it", func(*hold.Scope, context.CancelCauseFunc, chan struct{}, chan struct{}) {}, nil},
		{"the hold's Done", func(_ *hold.Scope, _ context.CancelCauseFunc, done, _ chan struct{}) { close(done) }, lost},
		{"ctx", func(_ *hold.Scope, cancel context.CancelCauseFunc, _, _ chan struct{}) {
			cancel(context.Canceled)
		}, context.Canceled},
		{"EndOn's channel", func(_ *hold.Scope, _ context.CancelCauseFunc, _, ch chan struct{}) { close(ch) }, other},
		{"the first of two", func(sc *hold.Scope, _ context.CancelCauseFunc, done, ch chan struct{}) {
			close(done)
			<-sc.Context().Done() // the test's own wait below bounds a scope that never ends
			close(ch)
		}, lost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done, ch := make(chan struct{}), make(chan struct{})
			sc := hold.Bind(ctx, done, lost)
			sc.EndOn(ch, other)
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				tc.end(sc, cancel, done, ch)
			}()
			if tc.want != nil {
				select {
				case <-sc.Context().Done():
				case <-time.After(waitLimit):
					t.Fatalf("the scope's context did not end within %v", waitLimit)
				}
			} else if sc.Context().Err() != nil {
				t.Fatalf("the scope's context ended before Close: %v", context.Cause(sc.Context()))
			}
			if tc.want == nil {
				<-ended // ends at once: nothing to do
			}
			if got := sc.Close(); got != tc.want {
				t.Errorf("Close = %v, want %v", got, tc.want)
			}
			if sc.Context().Err() == nil {
				t.Error("the scope's context goes on after Close")
			}
			<-ended
		})
	}
}
