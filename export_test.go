package fairlock

// ConnCause exposes connCause to the tests of package fairlock_test.
var ConnCause = connCause
