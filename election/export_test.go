package election

// For the table tests of the pure logic, in package election_test.
var (
	Apply      = apply
	ByRevision = byRevision
)

// For the table tests of the observer's decisions.
var (
	MayHaveMissed = mayHaveMissed
	WatchEnded    = watchEnded
)

// The ends of a watch, as WatchEnded tells them.
const (
	WatchGoesOn    = watchGoesOn
	WatchBroken    = watchBroken
	WatchCompacted = watchCompacted
)
