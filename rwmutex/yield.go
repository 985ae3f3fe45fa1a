package rwmutex

// YieldRequested returns a channel that is closed once the write hold is
// asked to yield (queue.Queue.AskToYield, `fairlock yield`); YieldReason
// then says why. Being asked changes nothing by itself: the hold lasts
// until Unlock. The channel is the hold's: never closed for a later hold,
// nor for one not asked. When the write lock is not held it returns a
// channel that is never closed. The first call for a hold starts one
// watch, which ends with the hold.
func (rw *RWMutex) YieldRequested() <-chan struct{} {
	return rw.writes().YieldRequested()
}

// YieldReason returns the reason the write hold was asked to yield for; ""
// before it is asked, and when the write lock is not held.
func (rw *RWMutex) YieldReason() string {
	return rw.writes().YieldReason()
}

// RYieldRequested is YieldRequested for the oldest read hold (the one
// RToken and RDone are about). AskToYield asks every read holder at once.
// When no read lock is held it returns a channel that is never closed.
func (rw *RWMutex) RYieldRequested() <-chan struct{} {
	return rw.reads().YieldRequested()
}

// RYieldReason is YieldReason for the oldest read hold; "" when no read
// lock is held or it has not been asked.
func (rw *RWMutex) RYieldReason() string {
	return rw.reads().YieldReason()
}
