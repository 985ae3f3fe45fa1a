package rwmutex

// YieldRequested returns a channel that is closed once the write hold is
// asked to yield (queue.Queue.AskToYield, `fairlock yield`); YieldReason
// then says why. Being asked changes nothing by itself: the hold lasts
// until Unlock. The channel is the hold's: never closed for a later hold,
// nor for one not asked. When the write lock is not held it returns a
// channel that is never closed. The first call for a hold starts one
// watch, which ends with the hold.
func (rw *RWMutex) YieldRequested() <-chan struct{} {
	if t := rw.currentWriter(); t != nil {
		return t.YieldRequested()
	}
	return never
}

// YieldReason returns the reason the write hold was asked to yield for; ""
// before it is asked, and when the write lock is not held.
func (rw *RWMutex) YieldReason() string {
	if t := rw.currentWriter(); t != nil {
		return t.YieldReason()
	}
	return ""
}

// RYieldRequested is YieldRequested for the oldest read hold (the one
// RToken and RDone are about). AskToYield asks every read holder at once.
// When no read lock is held it returns a channel that is never closed.
func (rw *RWMutex) RYieldRequested() <-chan struct{} {
	if t := rw.oldestReader(); t != nil {
		return t.YieldRequested()
	}
	return never
}

// RYieldReason is YieldReason for the oldest read hold; "" when no read
// lock is held or it has not been asked.
func (rw *RWMutex) RYieldReason() string {
	if t := rw.oldestReader(); t != nil {
		return t.YieldReason()
	}
	return ""
}

// never is the YieldRequested of no hold: nobody asks it.
var never = make(chan struct{})
