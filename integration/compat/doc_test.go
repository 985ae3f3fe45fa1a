// Package compat_test is a smoke suite run against a real etcd server
// process, of whatever version, by scripts/compat.sh (make compat): every
// primitive once. The mutex (FIFO order, a TryLock that writes nothing, a
// fenced Unlock, a holder process killed while it holds the lock), a
// weighted semaphore (no overtaking, the release's hand-off with its
// nested transaction, a TryAcquire that writes nothing, another limit
// refused), the RW lock, LockAll, a request to yield, an election (Rotate,
// Proclaim, ObserveWith with vacancies), and the confined user: auth turned
// on through the client, every primitive as a user whose role grants read
// and write on one prefix only, the fenced write after each hold failing
// quietly, a read-only user refused at once; auth turned off again after.
// It is skipped unless FAIRLOCK_COMPAT_ENDPOINTS names the server.
package compat_test
