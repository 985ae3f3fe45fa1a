package queue

import "time"

// Hooks are told what happens on a line, for metrics and tracing (see
// WithHooks). Each field may be nil. They are called synchronously on the
// goroutine of the call that caused the event, so they must be quick and
// must not call back into the Queue; they are never called with a lock
// held.
type Hooks struct {
	// Joined is called once an entry is in the line.
	Joined func(JoinInfo)
	// Granted is called once per entry, when its turn comes.
	Granted func(GrantInfo)
	// Released is called when a granted entry is removed by its owner.
	Released func(ReleaseInfo)
	// Lost is called when a granted or waiting entry is found gone without
	// its owner removing it (lease expired, key deleted, session ended).
	Lost func(LossInfo)
	// CleanupRetried is called each time removing an abandoned entry (a
	// cancelled or failed call's) fails and will be tried again.
	CleanupRetried func(CleanupInfo)
	// YieldRequested is called once per entry when its holder learns of a
	// request to yield: only holders that call YieldRequested learn of
	// one, on the goroutine that watches for it.
	YieldRequested func(YieldInfo)
}

// Kind says what sort of entry an event is about.
type Kind string

// The kinds of entry.
const (
	Exclusive Kind = "exclusive" // Join, a Mutex, an RWMutex writer, an election candidate
	Shared    Kind = "shared"    // JoinShared, an RWMutex reader
	Permit    Kind = "permit"    // a semaphore permit
	// Admission: a tenant's caller in its tenant's admission line (see
	// WithTenant), as List reports it; its Limit is the tenant's share.
	Admission Kind = "admission"
)

// JoinInfo describes a join.
type JoinInfo struct {
	Name  string // lock name
	Key   string
	Token int64 // create revision
	Kind  Kind
	Ahead int // entries that blocked the new one when it joined (-1: unknown)
}

// GrantInfo describes a grant.
type GrantInfo struct {
	Name  string
	Key   string
	Token int64
	Kind  Kind
	Wait  time.Duration // from the start of the join to the grant
	Ahead int           // entries that blocked it when it joined (-1: unknown)
}

// ReleaseInfo describes a release by the owner.
type ReleaseInfo struct {
	Name  string
	Key   string
	Token int64
	Kind  Kind
	Held  time.Duration // from the grant to the release
}

// LossInfo describes a lost entry.
type LossInfo struct {
	Name    string
	Key     string
	Token   int64
	Kind    Kind
	Granted bool          // it was held, not waiting
	Held    time.Duration // from the grant to the loss being noticed (0 if not granted)
	Reason  error         // matches ErrLost, and ErrSessionExpired when the lease ended
}

// CleanupInfo describes a failed attempt to remove an abandoned entry.
type CleanupInfo struct {
	Name    string
	Key     string
	Attempt int   // 1 for the first retry
	Err     error // why the attempt failed
}

// The callers below make a nil *Hooks, and nil fields, cost one check.

func (h *Hooks) joined(i JoinInfo) {
	if h != nil && h.Joined != nil {
		h.Joined(i)
	}
}

func (h *Hooks) granted(i GrantInfo) {
	if h != nil && h.Granted != nil {
		h.Granted(i)
	}
}

func (h *Hooks) released(i ReleaseInfo) {
	if h != nil && h.Released != nil {
		h.Released(i)
	}
}

func (h *Hooks) lost(i LossInfo) {
	if h != nil && h.Lost != nil {
		h.Lost(i)
	}
}

func (h *Hooks) cleanupRetried(i CleanupInfo) {
	if h != nil && h.CleanupRetried != nil {
		h.CleanupRetried(i)
	}
}
