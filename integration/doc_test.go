// Package integration_test holds fairlock's fault suite. Every fault test
// runs on an in-process etcd cluster of three members, with bridges between
// clients and members, and injects a fault while the lock is held and
// awaited: a stopped leader, a leader partitioned from its peers, a cut,
// dropped or held-back connection, an expired or revoked lease, compacted
// history, a lost reply, a crashed client. Each records what its clients saw
// in a history (package integration/history) and checks it: no two holds
// overlap unless one was reported lost, tokens rise, grants follow join
// order, and nothing is left in etcd once everyone has left. TestMisuse
// gives every exported call of queue, fairmutex and rwmutex bad input.
//
// Flags, as in go test ./integration -args -seed=N: -seed=N replays
// TestRandomFaults (the seed is printed when it fails); -soak=D runs it for D
// instead of a few seconds.
package integration_test
