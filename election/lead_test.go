package election_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/queue"
)

// Why a term ended: a loss is told first, then a shutdown, then a
// hand-off; nothing at all is fn returning by itself.
func TestLeadEnded(t *testing.T) {
	lost := fmt.Errorf("%w: the hold ended", queue.ErrLost)
	period := fmt.Errorf("%w: period over", election.ErrHandOver)
	for _, tc := range []struct {
		name          string
		ctxErr, cause error
		want          election.Ending
	}{
		{"fn returned", nil, nil, election.FnReturned},
		{"lost", nil, lost, election.TermLost},
		{"lost, then ctx ended", context.Canceled, lost, election.TermLost},
		{"ctx ended", context.Canceled, context.Canceled, election.ShutDown},
		{"ctx ended after the period", context.Canceled, period, election.ShutDown},
		{"ctx ended after fn returned", context.Canceled, nil, election.ShutDown},
		{"period over", nil, period, election.HandOver},
		{"an error like the loss is not the loss", nil, fmt.Errorf("%w", queue.ErrLost), election.FnReturned},
	} {
		if got := election.LeadEnded(tc.ctxErr, tc.cause, lost); got != tc.want {
			t.Errorf("%s: ended = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// What Lead does once fn has returned: hand over only after a hand-off
// that fn took calmly; drop fn's error only when it is its context's
// ending, which Lead caused.
func TestLeadAfterTerm(t *testing.T) {
	boom := errors.New("boom")
	period := fmt.Errorf("%w: period over", election.ErrHandOver)
	for _, tc := range []struct {
		name       string
		why        election.Ending
		fnErr      error
		cause      error
		wantRotate bool
		wantKept   error
	}{
		{"period over, fn returned nil", election.HandOver, nil, period, true, nil},
		{"period over, fn returned ctx.Err()", election.HandOver, context.DeadlineExceeded, period, true, nil},
		{"asked, fn returned ctx.Err()", election.HandOver, context.Canceled, period, true, nil},
		{"period over, fn returned the cause", election.HandOver, period, period, true, nil},
		{"period over, fn failed", election.HandOver, boom, period, false, boom},
		{"shutdown, fn returned ctx.Err()", election.ShutDown, context.Canceled, context.Canceled, false, nil},
		{"shutdown, fn failed", election.ShutDown, boom, context.Canceled, false, boom},
		{"fn returned nil by itself", election.FnReturned, nil, nil, false, nil},
		{"fn failed by itself", election.FnReturned, boom, nil, false, boom},
		{"fn returned a cancellation of its own", election.FnReturned, context.Canceled, nil, false, context.Canceled},
		{"lost, fn returned ctx.Err()", election.TermLost, context.Canceled, nil, false, context.Canceled},
	} {
		rotate, kept := election.LeadAfterTerm(tc.why, tc.fnErr, tc.cause)
		if rotate != tc.wantRotate || !errors.Is(kept, tc.wantKept) || (tc.wantKept == nil) != (kept == nil) {
			t.Errorf("%s: afterTerm = %v, %v; want %v, %v", tc.name, rotate, kept, tc.wantRotate, tc.wantKept)
		}
	}
}
