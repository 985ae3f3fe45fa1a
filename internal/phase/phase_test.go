package phase_test

import (
	"testing"

	"github.com/fairlock/fairlock/internal/phase"
)

func TestNext(t *testing.T) {
	type move struct {
		from    phase.Phase
		e       phase.Event
		granted bool
	}
	const no = false
	for _, tc := range []struct {
		name string
		move
		to phase.Phase
		ok bool
	}{
		// The turn.
		{"a waiter's turn comes", move{phase.Waiting, phase.Grant, no}, phase.Granted, true},
		{"granted once only", move{phase.Granted, phase.Grant, true}, phase.Granted, false},
		{"a grant during a Leave is recorded, the Leave goes on", move{phase.Leaving, phase.Grant, no}, phase.Leaving, true},
		{"... once", move{phase.Leaving, phase.Grant, true}, phase.Leaving, false},
		{"... also after a delete was seen", move{phase.LeavingGone, phase.Grant, no}, phase.LeavingGone, true},
		{"no grant after the end", move{phase.Left, phase.Grant, no}, phase.Left, false},
		{"no grant after a loss", move{phase.Lost, phase.Grant, no}, phase.Lost, false},

		// Leaving.
		{"a waiter leaves", move{phase.Waiting, phase.BeginLeave, no}, phase.Leaving, true},
		{"a holder leaves", move{phase.Granted, phase.BeginLeave, true}, phase.Leaving, true},
		{"one Leave at a time", move{phase.Leaving, phase.BeginLeave, no}, phase.Leaving, false},
		{"... also after a delete was seen", move{phase.LeavingGone, phase.BeginLeave, no}, phase.LeavingGone, false},
		{"no Leave after the end", move{phase.Abandoned, phase.BeginLeave, no}, phase.Abandoned, false},
		{"an unknown outcome puts a waiter back", move{phase.Leaving, phase.AbortLeave, no}, phase.Waiting, true},
		{"an unknown outcome puts a holder back", move{phase.Leaving, phase.AbortLeave, true}, phase.Granted, true},
		{"an unknown outcome after the delete was seen: left", move{phase.LeavingGone, phase.AbortLeave, true},
			phase.Left, true},
		{"nothing to abort when not leaving", move{phase.Granted, phase.AbortLeave, true}, phase.Granted, false},
		{"nothing to abort after the end", move{phase.Left, phase.AbortLeave, no}, phase.Left, false},

		// Found gone.
		{"a waiter's entry found gone: lost", move{phase.Waiting, phase.SeeGone, no}, phase.Lost, true},
		{"a holder's entry found gone: lost", move{phase.Granted, phase.SeeGone, true}, phase.Lost, true},
		{"gone during a Leave: surely its own delete", move{phase.Leaving, phase.SeeGone, true}, phase.LeavingGone, true},
		{"gone seen twice during a Leave", move{phase.LeavingGone, phase.SeeGone, true}, phase.LeavingGone, true},
		{"gone after the end changes nothing", move{phase.Left, phase.SeeGone, no}, phase.Left, false},

		// The ends, each reached once.
		{"removed by its owner", move{phase.Leaving, phase.Remove, true}, phase.Left, true},
		{"removed while a delete was seen", move{phase.LeavingGone, phase.Remove, no}, phase.Left, true},
		{"a Leave finds it gone", move{phase.Leaving, phase.Lose, true}, phase.Lost, true},
		{"lost while waiting", move{phase.Waiting, phase.Lose, no}, phase.Lost, true},
		{"abandoned while waiting", move{phase.Waiting, phase.Abandon, no}, phase.Abandoned, true},
		{"abandoned while held", move{phase.Granted, phase.Abandon, true}, phase.Abandoned, true},
		{"no second end: abandon after left", move{phase.Left, phase.Abandon, true}, phase.Left, false},
		{"no second end: remove after abandon", move{phase.Abandoned, phase.Remove, no}, phase.Abandoned, false},
		{"no second end: lose after left", move{phase.Left, phase.Lose, true}, phase.Left, false},
		{"no second end: lose after lost", move{phase.Lost, phase.Lose, true}, phase.Lost, false},
		{"no second end: abandon after lost", move{phase.Lost, phase.Abandon, no}, phase.Lost, false},
		{"no second end: abandon after the loss was reported", move{phase.LossReported, phase.Abandon, no},
			phase.LossReported, false},

		// Reporting a loss.
		{"a loss reported", move{phase.Lost, phase.ReportLoss, true}, phase.LossReported, true},
		{"reported once", move{phase.LossReported, phase.ReportLoss, true}, phase.LossReported, false},
		{"nothing to report after a Leave", move{phase.Left, phase.ReportLoss, no}, phase.Left, false},
		{"nothing to report in line", move{phase.Granted, phase.ReportLoss, true}, phase.Granted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to, ok := phase.Next(tc.from, tc.e, tc.granted)
			if to != tc.to || ok != tc.ok {
				t.Errorf("Next(%v, %d, granted %v) = %v, %v; want %v, %v", tc.from, tc.e, tc.granted, to, ok, tc.to, tc.ok)
			}
		})
	}
}

// Every end is final: no event but a reported loss moves an ended ticket.
func TestEndsAreFinal(t *testing.T) {
	for p := phase.Left; p <= phase.Abandoned; p++ {
		for e := phase.Grant; e <= phase.Abandon; e++ {
			to, ok := phase.Next(p, e, true)
			if ok && !(p == phase.Lost && e == phase.ReportLoss) {
				t.Errorf("Next(%v, %d) = %v: an ended ticket moved", p, e, to)
			}
			if !to.Ended() {
				t.Errorf("Next(%v, %d) = %v: back in line", p, e, to)
			}
		}
	}
}
