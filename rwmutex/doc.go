// Package rwmutex is a fair (first-come, first-served) distributed
// reader/writer lock on etcd v3.
//
// It stands on the same ordered line as package fairmutex (package queue):
// a reader appends a shared entry, a writer an exclusive one, and the line
// is served strictly in arrival order. A reader waits only for the writers
// that arrived before it; a writer waits for everyone that arrived before
// it. So readers that arrive together hold together, a writer queued behind
// readers goes before every reader that arrives after it, and neither side
// can starve the other. Each waiter watches only the newest entry that
// blocks it, so a release wakes the writer behind it, or the run of readers
// behind a writer, never the whole line.
//
// A writer is the same kind of entry as a fairmutex.Mutex holder or an
// exclusive queue ticket: on one name they all exclude one another, and
// readers wait for all of them.
//
// An uncontended Lock or RLock, and every TryLock or TryRLock, takes one
// round trip; a TryLock or TryRLock that fails writes nothing. Unlock and
// RUnlock are fenced: they delete the entry only if it still has the hold's
// create revision, so a late release of a lost hold never deletes someone
// else's entry, and reports ErrLost.
//
// A waiter whose session ends (its lease expired or was revoked) gets an
// error, ErrSessionExpired or ErrLost, never the lock, and the next in line
// is served. (etcd's own recipes.RWMutex grants the lock to such a writer:
// etcd issue 16221.) A cancelled Lock or RLock removes its entry before it
// returns.
//
// # Fencing
//
// A lease-based lock can be lost without the holder knowing in time: a long
// GC pause or a network partition outlasts the lease, and another client is
// granted the lock while the old holder still thinks it holds it. A write
// hold has a token (Token), the create revision of its entry, which rises
// with every grant. Guard writes to etcd with If(rw.IsOwner()); send Token
// with writes elsewhere and have the store refuse any token lower than one
// it has already seen.
//
// # Work scoped to a hold
//
// Do and RDo are Lock or RLock, a function, and the release, done right
// (see fairmutex's Do): the function's context ends with the hold, and the
// hold goes back with a bounded context of its own whatever happened. RDo
// releases its own read hold, never another's.
package rwmutex
