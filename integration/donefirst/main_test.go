// Package donefirst_test checks issue 16 at the level of the holds users
// see: a hold's Done closes before etcd can grant the lock to the next in
// line, when its holder is cut off past its TTL; it stays open while its
// keep-alives succeed; and HeldUntil says how long the hold surely lasts,
// less the safety margin.
//
// Every test runs against an in-process three-member cluster whose members
// sit behind bridges, so a holder's connection can be cut
// (Bridge().Blackhole) while the rest of the cluster, and the waiter's
// client, go on. Times are compared on one clock: time.Now in this process.
package donefirst_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
