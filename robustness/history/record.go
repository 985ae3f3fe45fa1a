package history

// Kind is what a worker's Record says happened.
type Kind string

// The kinds of Record. An operation (Op) is one attempt at a hold, from
// Call to Release; the records of one operation share its Op number.
const (
	Start    Kind = "start"    // the process connected: Lease is its session's
	Call     Kind = "call"     // an acquisition began (Lock, Locks, Mode, Weight, Tenant)
	Grant    Kind = "grant"    // it returned the hold: Token (Tokens for LockAll), Until
	Fail     Kind = "fail"     // it returned an error: Err
	Until    Kind = "until"    // a sample of the hold's HeldUntil while Done was open
	Fenced   Kind = "fenced"   // a transaction fenced by the hold: Rev when applied, Outcome
	Register Kind = "register" // a fenced read-modify-write of a register: Read, Outcome, Rev
	Seen     Kind = "seen"     // a value read under a hold (Value), at Rev, fenced
	End      Kind = "end"      // the worker stopped using the hold: Value says why ("release", "done")
	Release  Kind = "release"  // the release returned: Err, "" for success
	Observe  Kind = "observe"  // an election observer's report: Key, Token, Value, Gap, Vacant; Lock is the observer
	Stamp    Kind = "stamp"    // an exec job's stamp: Token, Value "start", "alive", "end" or "term"
	Stop     Kind = "stop"     // the process is stopping cleanly
)

// Outcomes of a fenced write.
const (
	OK      = "ok"      // applied
	Refused = "refused" // the fence did not hold: nothing written
	Unknown = "unknown" // no answer: applied or not
)

// Record is one line of a worker's history.
type Record struct {
	T       int64    `json:"t"`              // wall clock, ns since the epoch
	Call    int64    `json:"call,omitempty"` // when the call behind the record began, for those that span one
	Proc    string   `json:"proc"`           // the process: worker name#incarnation
	Kind    Kind     `json:"k"`              // what happened
	Op      int64    `json:"op,omitempty"`   // the operation, numbered per process from 1
	Lock    string   `json:"lock,omitempty"` // the lock's name
	Locks   []string `json:"locks,omitempty"`
	Mode    string   `json:"mode,omitempty"`   // "x" exclusive, "s" shared, "p" permit, "lead"
	Tenant  string   `json:"tenant,omitempty"` // the caller's tenant (queue.WithTenant), "" for none
	Weight  int      `json:"w,omitempty"`
	Token   int64    `json:"tok,omitempty"`
	Tokens  []int64  `json:"toks,omitempty"`
	Until   int64    `json:"until,omitempty"` // HeldUntil, ns since the epoch
	Rev     int64    `json:"rev,omitempty"`   // etcd's revision of the transaction
	Read    int64    `json:"read,omitempty"`
	Outcome string   `json:"out,omitempty"`
	Err     string   `json:"err,omitempty"`
	Lease   int64    `json:"lease,omitempty"`
	Key     string   `json:"key,omitempty"`
	Value   string   `json:"v,omitempty"`
	Gap     bool     `json:"gap,omitempty"`
	Vacant  bool     `json:"vacant,omitempty"`
}

// Fault is one fault the runner injected, written when it ends (or, for
// the last, when the run ends).
type Fault struct {
	Seq     int      `json:"seq"`             // place in the schedule, from 1
	Kind    string   `json:"kind"`            // schedule.Kind
	Target  string   `json:"target"`          // as scheduled: a member index, a workload, a worker
	Victim  string   `json:"victim"`          // as resolved: "m2 (leader)", "mutex-1#1", ...
	Procs   []string `json:"procs,omitempty"` // the worker processes it stopped, cut or killed
	Members []string `json:"members,omitempty"`
	From    int64    `json:"from"`           // ns since the epoch
	To      int64    `json:"to"`             // ns since the epoch; the fault was over then
	Note    string   `json:"note,omitempty"` // why it was skipped, or what it found
}

// Event is one change etcd made, as the runner's watch saw it.
type Event struct {
	T      int64  `json:"t"` // when the watch delivered it
	Rev    int64  `json:"rev"`
	Delete bool   `json:"del,omitempty"`
	Key    string `json:"key"`
	Create int64  `json:"crev,omitempty"`
	Lease  int64  `json:"lease,omitempty"`
	Value  string `json:"v,omitempty"`
}
