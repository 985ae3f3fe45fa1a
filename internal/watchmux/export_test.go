package watchmux

// Holds is holds, for the tests.
var Holds = holds
