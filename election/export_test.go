package election

// For the table tests of the pure logic, in package election_test.
var (
	Apply      = apply
	ByRevision = byRevision
)
