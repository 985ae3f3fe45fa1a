package fairmutex

// YieldRequested returns a channel that is closed once the current hold is
// asked to yield (queue.Queue.AskToYield, `fairlock yield`); YieldReason
// then says why. Being asked changes nothing by itself: the hold lasts
// until Unlock, as usual. The channel is the hold's: it is never closed
// for a later hold, and never for a hold that is not asked. When nothing
// is held it returns a channel that is never closed. The first call for a
// hold starts one watch, which ends with the hold (see
// queue.Ticket.YieldRequested).
func (m *Mutex) YieldRequested() <-chan struct{} {
	return m.holds().YieldRequested()
}

// YieldReason returns the reason the current hold was asked to yield for;
// "" before it is asked, and when nothing is held.
func (m *Mutex) YieldReason() string {
	return m.holds().YieldReason()
}
