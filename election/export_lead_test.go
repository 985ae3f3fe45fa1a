package election

// For the table tests of Lead's decisions, in package election_test.
var (
	LeadEnded     = ended
	LeadAfterTerm = afterTerm
)

// Ending is why a term ends, as LeadEnded tells it.
type Ending = ending

// The endings.
const (
	FnReturned = fnReturned
	TermLost   = termLost
	HandOver   = handOver
	ShutDown   = shutDown
)
