package main

import (
	"sync/atomic"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// hookCounts counts what the hooks of every hooked contender were told:
// cheap functions, as a metrics adapter's would be, that the compiler
// cannot drop.
var hookCounts struct {
	joined, granted, released, lost, cleanups atomic.Int64
}

var benchHooks = &queue.Hooks{
	Joined:         func(queue.JoinInfo) { hookCounts.joined.Add(1) },
	Granted:        func(queue.GrantInfo) { hookCounts.granted.Add(1) },
	Released:       func(queue.ReleaseInfo) { hookCounts.released.Add(1) },
	Lost:           func(queue.LossInfo) { hookCounts.lost.Add(1) },
	CleanupRetried: func(queue.CleanupInfo) { hookCounts.cleanups.Add(1) },
}

func openHooked(s *concurrency.Session, name string, _ cellSpec) (locker, error) {
	m, err := fairmutex.New(s, name, queue.WithHooks(benchHooks))
	return fairMutex{m}, err
}
