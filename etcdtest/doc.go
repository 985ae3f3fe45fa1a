// Package etcdtest starts a real, single-member etcd inside the process, for
// tests and examples of code that uses fairlock (or etcd at all): nothing to
// install, no mock. Its data lives in a new temporary directory that Close
// removes.
//
// In a test, New starts a member for that test and stops it when the test
// ends:
//
//	func TestNightly(t *testing.T) {
//		c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: etcdtest.New(t)})
//		...
//	}
//
// Start is the same without a test: the caller closes the member. The
// command etcdtest/cmd/testetcd runs one in a process of its own, for
// trying fairlock by hand (go run ./etcdtest/cmd/testetcd -addr
// 127.0.0.1:2379, from a checkout) and for test suites that are not written
// in Go or that must share one member.
//
// A member starts in about a second. It listens on free loopback ports, with
// fsync off by default in New (the tests' data is thrown away) and on by
// default in Start (as in production).
//
// This package lives in a module of its own, so that it pulls etcd's server
// into your tests' dependencies, not into those of the fairlock library.
package etcdtest
