// Package phase is the life of a queue ticket as a pure function: the
// phases an entry's ticket goes through, and the one transition function
// that says which moves are allowed. Package queue does the effects around
// each move (closing Done, giving the slot back, telling the hooks).
//
//	waiting ─grant─▶ granted
//	waiting, granted ─beginLeave─▶ leaving ─seeGone─▶ leavingGone
//	leaving ─abortLeave─▶ back to waiting or granted
//	leavingGone ─abortLeave─▶ left (the delete seen was the call's own)
//	waiting, granted ─seeGone─▶ lost
//	any phase in line ─remove─▶ left, ─lose─▶ lost, ─abandon─▶ abandoned
//	lost ─reportLoss─▶ lossReported
//
// A phase in line (waiting, granted, leaving, leavingGone) may end once;
// an ended phase moves no more, but for a loss being reported.
package phase

// Phase is where a ticket is in its life.
type Phase uint8

// The phases, in line first, then the ends.
const (
	// Waiting: in line, its turn not come yet.
	Waiting Phase = iota
	// Granted: its turn came.
	Granted
	// Leaving: a Leave or Requeue is under way, its outcome not known yet.
	Leaving
	// LeavingGone: a Leave or Requeue is under way and a delete of the
	// entry was seen meanwhile: surely the call's own.
	LeavingGone
	// Left: removed by its owner (Leave, Requeue).
	Left
	// Lost: found gone without its owner removing it.
	Lost
	// LossReported: lost, and a Leave has reported it; calls get ErrLeft
	// from then on.
	LossReported
	// Abandoned: given up; the session's cleanup removes the entry.
	Abandoned
)

var names = [...]string{"waiting", "granted", "leaving", "leaving (gone seen)", "left", "lost", "loss reported",
	"abandoned"}

func (p Phase) String() string {
	if int(p) < len(names) {
		return names[p]
	}
	return "phase(?)"
}

// Ended reports whether p is an end: the ticket is out of the line.
func (p Phase) Ended() bool { return p >= Left }

// Leaving reports whether a Leave or Requeue is under way.
func (p Phase) Leaving() bool { return p == Leaving || p == LeavingGone }

// Event is what happens to a ticket.
type Event uint8

// The events.
const (
	// Grant: a read found the turn come.
	Grant Event = iota
	// BeginLeave: a Leave or Requeue starts.
	BeginLeave
	// AbortLeave: the Leave or Requeue ended without knowing its outcome.
	AbortLeave
	// SeeGone: a read or watch found the entry gone.
	SeeGone
	// Remove: the owner removed the entry (Leave, Requeue succeeded).
	Remove
	// Lose: the entry is gone, and not by its owner's hand.
	Lose
	// ReportLoss: a Leave has returned the loss to its caller.
	ReportLoss
	// Abandon: the ticket is given up to the cleanup.
	Abandon
)

// Next returns the phase that event e moves a ticket in phase p to, and
// whether the move happens; a move that does not happen leaves the ticket
// as it was (a second end, a Leave while one is under way, a grant of an
// ended ticket). granted says whether the ticket's turn has come: a Leave
// whose outcome stays unknown puts the ticket back where it was. A grant
// during a Leave is recorded (the caller may be told of it) but does not
// change the phase: the Leave goes on.
func Next(p Phase, e Event, granted bool) (Phase, bool) {
	if p.Ended() {
		if p == Lost && e == ReportLoss {
			return LossReported, true
		}
		return p, false
	}
	switch e {
	case Grant:
		switch p {
		case Waiting:
			return Granted, true
		case Leaving, LeavingGone:
			return p, !granted
		}
	case BeginLeave:
		if p == Waiting || p == Granted {
			return Leaving, true
		}
	case AbortLeave:
		switch {
		case p == LeavingGone:
			return Left, true // the delete seen was the call's own
		case p == Leaving && granted:
			return Granted, true
		case p == Leaving:
			return Waiting, true
		}
	case SeeGone:
		if p.Leaving() {
			return LeavingGone, true
		}
		return Lost, true
	case Remove:
		return Left, true
	case Lose:
		return Lost, true
	case Abandon:
		return Abandoned, true
	}
	return p, false
}
