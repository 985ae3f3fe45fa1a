package history_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fairlock/fairlock/integration/history"
	"github.com/fairlock/fairlock/queue"
)

func release(t *testing.T, o *history.Op, err error) {
	t.Helper()
	if got := o.Release(func() error { return err }); got != err {
		t.Fatalf("Release returned %v, want %v", got, err)
	}
}

// Each case builds a history; want is "" for a valid one, else a word the
// violation report must contain. A checker that accepts everything fails the
// bad cases; one that rejects too much fails the good ones.
func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		build func(t *testing.T, h *history.History)
		want  string
	}{
		{"empty", func(t *testing.T, h *history.History) {}, ""},
		{"handoff in order", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			b.Joined(11)
			a.Granted(10)
			release(t, a, nil)
			b.Granted(11)
			release(t, b, nil)
		}, ""},
		{"overlap", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			b.Granted(11)
			release(t, a, nil)
			release(t, b, nil)
		}, "overlap"},
		{"never released, then another grant", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			b.Granted(11)
		}, "overlap"},
		{"overlap excused by a loss reported on release", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			b.Granted(11)
			release(t, a, queue.ErrLost)
			release(t, b, nil)
		}, ""},
		{"overlap excused by Done closing", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			a.Lost()
			b.Granted(11)
			release(t, b, nil)
		}, ""},
		{"release failing with an unknown outcome keeps the hold", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			release(t, a, context.DeadlineExceeded)
			b.Granted(11)
		}, "overlap"},
		{"shared holds may overlap", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", true), h.Begin("b", true)
			b.Granted(11)
			a.Granted(10)
			release(t, a, nil)
			release(t, b, nil)
		}, ""},
		{"shared and exclusive may not", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", true), h.Begin("b", false)
			a.Granted(10)
			b.Granted(11)
			release(t, b, nil)
			release(t, a, nil)
		}, "overlap"},
		{"token granted twice", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(10)
			release(t, a, nil)
			b.Granted(10)
			release(t, b, nil)
		}, "granted twice"},
		{"tokens fall", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(12)
			release(t, a, nil)
			b.Granted(11)
			release(t, b, nil)
		}, "token order"},
		{"falling token excused when the later one was lost", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Granted(12)
			release(t, a, nil)
			b.Granted(11)
			release(t, b, queue.ErrLost)
		}, ""},
		{"older waiter skipped", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Joined(10)
			b.Joined(11)
			b.Granted(11)
			release(t, b, nil)
		}, "FIFO"},
		{"older shared waiter does not block a shared grant", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", true), h.Begin("b", true)
			a.Joined(10)
			b.Joined(11)
			b.Granted(11)
			release(t, b, nil)
		}, ""},
		{"older waiter cancelled before the grant", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Joined(10)
			b.Joined(11)
			a.Cancelling()
			b.Granted(11)
			a.Failed(context.Canceled)
			release(t, b, nil)
		}, ""},
		{"older waiter cancelled only after the grant", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Joined(10)
			b.Joined(11)
			b.Granted(11)
			a.Cancelling()
			a.Failed(context.Canceled)
			release(t, b, nil)
		}, "FIFO"},
		{"older waiter whose session expired", func(t *testing.T, h *history.History) {
			a, b := h.Begin("a", false), h.Begin("b", false)
			a.Joined(10)
			b.Joined(11)
			b.Granted(11)
			a.Failed(queue.ErrSessionExpired)
			release(t, b, nil)
		}, ""},
		{"zero token", func(t *testing.T, h *history.History) {
			h.Begin("a", false).Granted(0)
		}, "token 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h history.History
			tc.build(t, &h)
			err := h.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid history rejected: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("violation (%s) not found in:\n%s", tc.want, h.String())
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("report does not mention %q: %v", tc.want, err)
			}
		})
	}
}

func TestFailuresAndHolds(t *testing.T) {
	var h history.History
	a, b, c := h.Begin("a", false), h.Begin("b", false), h.Begin("c", false)
	a.Granted(5)
	release(t, a, queue.ErrLost)
	b.Cancelling()
	b.Failed(context.Canceled)
	c.Failed(queue.ErrSessionExpired)

	fails := h.Failures()
	if len(fails) != 1 || !errors.Is(fails[0], queue.ErrSessionExpired) {
		t.Errorf("Failures() = %v, want only c's ErrSessionExpired", fails)
	}
	holds := h.Holds()
	if len(holds) != 1 || holds[0].Who != "a" || holds[0].Token != 5 || !holds[0].Lost || holds[0].ReleasedAt.IsZero() {
		t.Errorf("Holds() = %+v, want a's lost hold of token 5", holds)
	}
}
