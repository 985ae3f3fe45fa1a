// Package fairmutex is a fair (first-come, first-served) distributed mutex
// on etcd v3.
//
// Every Lock appends an entry to the lock's ordered line (package queue) and
// waits, watching only the entry right in front of it, until it is the oldest.
// So the lock is granted in arrival order across every client of the
// cluster, a release wakes only the next waiter, and the handoff never waits on
// etcd's 100 ms watch resync loop, which stalls etcd's own
// concurrency.Mutex on every contended handoff.
//
// An uncontended Lock and every TryLock take one round trip; a TryLock that
// fails writes nothing. Unlock is fenced: it deletes the entry only if it
// still has the hold's create revision, so a late Unlock of a lost hold
// never deletes someone else's entry, and reports ErrLost.
//
// # Fencing
//
// A lease-based lock can be lost without the holder knowing in time: a long
// GC pause or a network partition outlasts the lease, and another client is
// granted the lock while the old holder still thinks it holds it. No lock can
// prevent that; fencing makes it harmless. Every hold has a token (Token),
// the create revision of its entry, which rises with every grant. Guard
// writes to etcd with If(m.IsOwner()); send Token with writes elsewhere and
// have the store refuse any token lower than one it has already seen.
//
// LockAll takes several locks at once without deadlock, whatever order
// callers name them in: one transaction joins every line (see LockAll).
//
// A Mutex, an rwmutex writer and an exclusive queue ticket on the same name
// exclude one another: they are the same kind of entry in the same line.
// With queue.WithEtcdMutexInterop, a Mutex also waits for holders of etcd's
// own concurrency.Mutex (and etcdctl lock) on the same name; etcd's Mutex
// always waits for fairlock's entries.
//
// # Work scoped to a hold
//
// Do is Lock, a function, Unlock, done right: the function's context ends
// when the hold does (lost, Unlock elsewhere, Done closing at HeldUntil at
// the latest) or ctx does, the release runs with a bounded context of its
// own whatever happened (a panic included), and the error says whether the
// hold was lost meanwhile. Prefer it to Lock and Unlock whenever the work
// fits in one function call.
package fairmutex
