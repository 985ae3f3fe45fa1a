// Package semaphore is a fair distributed counting semaphore on etcd v3: at
// most limit permits are held at once, by etcd's record, and they are
// granted in arrival order.
//
// Every Acquire appends a permit entry to the name's ordered line (package
// queue), in one round trip, and waits for its turn; its create revision,
// assigned by etcd, is its place in line and the permit's fencing token.
// Four promises hold together:
//
//   - Limit: an entry holds a permit only while fewer than limit permit
//     entries are older than it, so never more than limit hold at once.
//   - FIFO: nobody is overtaken; permits go in create-revision order.
//   - No idle permit: when any holder leaves, whichever it is, the oldest
//     waiter is let in with one handoff; a permit never stays free while
//     someone waits behind a holder that has not left.
//   - Herd-free: a release wakes only the waiter it lets in (see below),
//     so the watch events per acquisition stay flat as waiters grow.
//
// TryAcquire takes a permit only if one is free, and otherwise writes
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
// keys carry it (NAME/.p/<limit>/<id>), and a join writes only if, in the
// same transaction, no permit entry of another limit exists. So two limits
// never share a line: while anyone holds or waits with one limit, an
// Acquire or TryAcquire with another fails with ErrLimitMismatch and writes
// nothing; once everyone has left, any limit may start afresh. A race
// between two limits on an idle name is settled by etcd's serial order:
// the first join wins, the other fails.
//
// # How waiters watch
//
// The difficulty is that with limit holders any of them may leave first. A
// waiter that watched only its predecessor would miss the release of an
// older holder (an idle permit); one that watched every holder would be
// woken by releases that do not let it in (a herd). Instead, an entry's
// place is k, the number of permit entries older than it, and:
//
//   - k < limit: it holds a permit.
//   - k == limit, the oldest waiter: it watches every one of the limit
//     entries ahead of it, for deletion. Any of them leaving lets it in,
//     and nothing else can: while all of them remain, limit entries are
//     older than it. Entries can only leave the part of the line older
//     than it, never join it (a new entry gets a newer create revision),
//     so these limit keys are all that matters.
//   - k > limit: it watches only its predecessor, for deletion and for a
//     put. It cannot be let in before it is the oldest waiter, and since
//     its own count is its predecessor's plus one, that happens exactly
//     when the predecessor leaves or is granted. A predecessor that is
//     granted says so by "touching" its own key: a put, fenced by its
//     create revision, that keeps value, lease and create revision, made
//     only when someone is behind it, and sent after Acquire has returned
//     the permit (off the grant's path; it is retried until the session
//     ends, and a hold that ends first wakes the successor by its delete).
//
// So a release wakes one waiter, the oldest, which it lets in; that grant's
// touch wakes one more, the next waiter, which becomes the oldest waiter
// and starts watching the holders. At most two watch events per acquisition,
// whatever the number of waiters, and nobody is woken for nothing. (With
// limit 1 the oldest waiter's one entry ahead is its predecessor, and no
// touch is needed: this is fairmutex's line.)
//
// No release is missed. Every watch starts "now" (etcd serves a watch from
// a past revision from a loop that runs every 100 ms), so it covers only
// what happens after its created revision; when that is newer than the
// waiter's last read, the waiter reads the line again before it trusts the
// watch. A touch or a delete that happened between the read and the watch
// is thus seen by the read, and any later one by the watch. A predecessor
// granted before the waiter joined needs no touch: the waiter's own join
// read already counts it as one of fewer than limit older entries, so the
// waiter holds or is the oldest waiter.
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
package semaphore
