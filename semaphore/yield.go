package semaphore

import "github.com/fairlock/fairlock/internal/primitive/hold"

// YieldRequested returns a channel that is closed once the permit is asked
// to yield (queue.Queue.AskToYield asks every permit holder, as `fairlock
// yield` does); YieldReason then says why. Being asked changes nothing by
// itself: the permit is held until Release. It is never closed for a
// permit that is not asked, nor after Release. For a zero Permit it
// returns a channel that is never closed. The first call starts one watch,
// which ends with the permit.
func (p *Permit) YieldRequested() <-chan struct{} {
	if p == nil || p.t == nil {
		return hold.Never
	}
	return p.h.YieldRequested()
}

// YieldReason returns the reason the permit was asked to yield for; ""
// before it is asked.
func (p *Permit) YieldReason() string {
	if p == nil || p.t == nil {
		return ""
	}
	return p.h.YieldReason()
}
