package election

// YieldRequested returns a channel that is closed once the current term
// (this leadership, until Resign or Rotate) is asked to yield
// (queue.Queue.AskToYield, `fairlock yield`); YieldReason then says why.
// Being asked changes nothing by itself: the Election leads until it
// resigns or rotates, as usual (Rotate is the polite answer: the next
// candidate leads). The channel is the term's: never closed for a later
// term, nor for one not asked. When the Election does not lead it returns
// a channel that is never closed. The first call for a term starts one
// watch, which ends with the term.
func (e *Election) YieldRequested() <-chan struct{} {
	return e.leads().YieldRequested()
}

// YieldReason returns the reason the current term was asked to yield for;
// "" before it is asked, and when the Election does not lead.
func (e *Election) YieldReason() string {
	return e.leads().YieldReason()
}
