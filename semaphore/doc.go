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
//   - Herd-free: a release wakes only the waiters it lets in and at most
//     the one waiter behind them (see below), so the watch events per
//     acquisition stay flat as waiters grow.
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
// Any holder may leave first, and one release may let in several waiters
// (a heavy holder leaving) or none (a heavy waiter that still does not
// fit). The holders are always a prefix of the line, so a waiter behind
// another waiter watches only its predecessor, for its delete and for the
// "touch" that says it was let in, and the oldest waiter watches the
// line's deletes. A release touches, in its own delete's transaction, the
// waiters it lets in: one write however many, and their successors wake
// whether or not the grantees' processes run. So a release wakes the
// waiters it lets in and at most one more, the waiter behind them, which
// becomes the oldest waiter: with weight-1 permits, at most two watch
// events per acquisition, whatever the number of waiters. Package queue's
// documentation ("Waiting", "Permits") has the protocol.
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
