// Package semaphore is a fair distributed counting semaphore on etcd v3: at
// most limit permits are held at once, by etcd's record, and they are
// granted in arrival order. A permit may weigh more than one (AcquireN):
// then the limit is a budget (GPU memory, connections, bandwidth) and a
// permit takes its weight of it.
//
// Every Acquire appends a permit entry to the name's ordered line (package
// queue), in one round trip, and waits for its turn; its create revision,
// assigned by etcd, is its place in line and the permit's fencing token.
// Four promises hold together:
//
//   - Limit: an entry holds a permit only while the weights of the entries
//     older than it and its own fit in the limit, so the weights held never
//     exceed it.
//   - FIFO: nobody is overtaken; permits go in create-revision order, and a
//     light permit does not pass a heavy one that waits, even when it would
//     fit (as golang.org/x/sync/semaphore.Weighted), so heavy waiters are
//     never starved.
//   - No idle capacity: when any holder leaves, whichever it is, the
//     waiters that now fit are let in at once; capacity never stays free
//     while the oldest waiter could use it.
//   - Herd-free: a release wakes only the waiters it lets in and the one
//     waiter behind them (see below), so the watch events per acquisition
//     stay flat as waiters grow.
//
// TryAcquire takes a permit only if it fits at once, and otherwise writes
// nothing (the store revision does not move). Release is fenced: it deletes
// the entry only if it still has the permit's create revision, so a late
// Release of a lost permit deletes nothing and reports ErrLost. A permit's
// session ending frees the permit for the next waiter; a waiter whose
// session ends gets an error, never a permit; a cancelled Acquire removes
// its entry before it returns.
//
// # One limit per name
//
// Everyone using a name as a semaphore must agree on its limit. The entry
// keys carry it (NAME/.p/<limit>/<id>, with @<weight> after the id for a
// weight above 1), and a join writes only if, in the same transaction, no
// permit entry of another limit exists. So two limits never share a line:
// while anyone holds or waits with one limit, an Acquire or TryAcquire
// with another fails with ErrLimitMismatch and writes nothing; once
// everyone has left, any limit may start afresh. A race between two limits
// on an idle name is settled by etcd's serial order: the first join wins,
// the other fails. Weights mix freely in one line; weight-1 permits have
// the keys and costs they had before weights existed.
//
// # How waiters watch
//
// The difficulty is that any of the holders may leave first, and that one
// release may let in several waiters (a heavy holder leaving) or none (a
// heavy waiter that still does not fit). A waiter that watched only its
// predecessor would miss the release of an older holder (idle capacity);
// one that watched every holder would be woken by releases that do not let
// it in (a herd). Since entries are let in strictly in order, the holders
// are always a prefix of the line. An entry reads the newest limit+1
// entries older than it and their weights (from their keys), and:
//
//   - their weights and its own fit in the limit: it holds a permit.
//   - their weights fit but its own does not: it is the oldest waiter.
//     Every entry ahead of it holds; any of them leaving may let it in, and
//     nothing else can (no entry ever joins ahead of it), so it watches the
//     line's deletes: one watch, woken by holders leaving (and by a waiter
//     behind it giving up, which costs it a read).
//   - otherwise someone ahead waits, and so does its predecessor. It cannot
//     be let in before it is the oldest waiter, which happens exactly when
//     its predecessor leaves or is let in, so it watches only its
//     predecessor: for its deletion, and for a put, its "touch", which says
//     it was let in.
//
// The touch is the releaser's: a Release reads the head of the line (a
// serializable read, no fsync), works out whom its leaving lets in (package
// internal/turn, LetIn), and touches them in its own delete's transaction:
// a put that keeps value, lease and create revision, applied only while
// the touched entry is still there. So one write per release, however many
// it lets in, and the wake-up of the waiters behind does not depend on the
// grantees' processes (a grantee whose Acquire gave up and left its entry
// in line is let in and its successor woken all the same). A view of the
// line outdated by other holders leaving at the same moment may touch an
// entry that is not let in (its successor reads and goes back to
// watching) or miss one that is; a grantee that finds itself let in
// without a touch, and someone behind it, touches itself. The same holds
// when a holder's lease ends or its key is deleted: no release ran, so the
// grantee touches itself once it sees its grant, and until its process
// does, its successor waits.
//
// So a release wakes the waiters it lets in (each watching the holders, or
// its predecessor that it touched) and one more, the waiter behind the last
// of them, which becomes the oldest waiter and watches the line's deletes.
// Nobody is woken for nothing but by a waiter behind the oldest one giving
// up. With weight-1 permits that is at most two watch events per
// acquisition, whatever the number of waiters. (With limit 1 the oldest
// waiter's one entry ahead is its predecessor, and no touch is needed:
// this is fairmutex's line.)
//
// No release is missed. Every watch starts "now" (etcd serves a watch from
// a past revision from a loop that runs every 100 ms), so it covers only
// what happens after its created revision; when that is newer than the
// waiter's last read, the waiter reads the line again before it trusts the
// watch. A touch or a delete that happened between the read and the watch
// is thus seen by the read, and any later one by the watch. A predecessor
// let in before the waiter joined needs no touch: the waiter's own join
// read already counts it among the holders.
//
// # Semaphores and mutexes on one name
//
// Permits live in their own sub-range of the name (NAME/.p/<limit>/), apart
// from the exclusive and shared entries of fairmutex, rwmutex and queue
// tickets. So a Semaphore and a fairmutex.Mutex on the same name are
// independent lines: neither blocks nor is blocked by the other, and
// holding a Mutex on "/x" does not exclude the holders of a Semaphore on
// "/x". queue.List on the name shows both lines, permits with their Kind
// and Limit.
//
// # Fencing
//
// A lease-based permit can be lost without its holder knowing in time (a
// GC pause or a partition outlasting the lease), and the permit granted to
// someone else. Every permit has a token (Token), the create revision of
// its entry, which rises with every grant. Guard writes to etcd with
// If(p.IsOwner()); send Token with writes elsewhere and have the store
// refuse tokens it no longer accepts. Done closes when the permit ends, and
// HeldUntil tells how long it surely lasts.
//
// # Work scoped to a permit
//
// Do(ctx, n, fn) is AcquireN, fn and Release, done right (see fairmutex's
// Do): fn's context ends with the permit, and the permit goes back with a
// bounded context of its own whatever happened.
package semaphore
