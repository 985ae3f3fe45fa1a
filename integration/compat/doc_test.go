// Package compat_test is a smoke suite run against a real etcd server
// process, of whatever version, by scripts/compat.sh (make compat): FIFO
// order, a TryLock that writes nothing, a fenced Unlock, and a holder
// process killed while it holds the lock. It is skipped unless
// FAIRLOCK_COMPAT_ENDPOINTS names the server.
package compat_test
