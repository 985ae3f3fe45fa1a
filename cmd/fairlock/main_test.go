// The command's pure decisions, table-tested. They are in package main (a
// command cannot be imported); the command as a whole is tested as users
// run it in integration/cmd.
package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
