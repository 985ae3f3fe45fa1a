// Package integration_test holds fairlock's fault suite: every test runs on
// an in-process etcd cluster of three members with bridges between clients
// and members, and injects a fault (a stopped leader, a cut or dropped
// connection, an expired lease, a compacted history, a crashed client) while
// the lock is held and awaited. Each test records what its clients saw in a
// history (package integration/history) and checks it: no two holds overlap
// unless one was reported lost, tokens rise, grants follow join order, and
// nothing is left in etcd once everyone has left.
//
// TestRandomFaults runs a seeded random mix of contenders, cancellations and
// faults; -seed=N replays a seed (it is printed when the test fails) and
// -soak=D runs it for D instead of a few seconds.
package integration_test
