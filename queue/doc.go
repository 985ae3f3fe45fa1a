// Package queue is fairlock's ordered line: the one mechanism beneath every
// lock in this module.
//
// Each client that wants a turn appends an entry (a key bound to its session
// lease) under the line's directory in etcd. The entry's create revision,
// assigned by etcd when it is written, fixes its place: the line is served in
// create-revision order, first come first served, across all clients of the
// cluster. The create revision is also the entry's fencing token: it rises
// with every turn and is never reused.
//
// # Kinds of entry
//
// Exclusive entries (Join) are blocked by every older exclusive or shared
// entry; shared entries (JoinShared) only by older exclusive ones, so shared
// entries that arrive together hold together and an exclusive entry is never
// overtaken by shared entries that arrive after it. Permits (JoinPermit) form
// a line of their own per name, served limit at a time. JoinAll joins
// several lines in one transaction.
//
// # Waiting
//
// Waiting is herd-free: Ticket.Wait watches only the entries whose leaving
// can bring its turn (package internal/turn decides which), so a release
// wakes the waiter it lets in, not the line, and a waiter costs etcd one
// watcher. Watches start "now": etcd serves a watch from a past revision in
// a loop that runs every 100 ms, which would stall every handoff. A read
// after the watches are in place covers the gap. A waiter's own entry is
// checked at each wake-up and, for entries deleted by someone else, by one
// read per session every OwnKeyCheckInterval.
//
// # Keys and history
//
// An entry's key is a slot of its session (lease, process nonce, slot
// number). A slot returns to use only once its entry is known to be gone,
// so two live calls never share a key, and a session reuses a handful of
// keys however many times it locks. That keeps the cost of reading a line
// independent of how much uncompacted history etcd holds for it: etcd's
// range reads visit every key ever written under a prefix until it
// compacts. Many short-lived sessions still write new keys each; etcd's
// compaction (--auto-compaction-retention) removes them. A slot whose write
// had an unknown outcome (a transient error, a cancelled call) never
// returns to use: its key is watched for the rest of the session, and an
// entry that a late-applied write puts there is removed at once.
//
// # Errors and retries
//
// Every call that talks to etcd retries transient errors (no leader, lost
// connection) until its ctx ends, and gives up when the session ends (etcd
// #19597). A refusal no retry mends (permission denied, authentication
// failed: under etcd's auth, a user needs read and write on NAME/) is
// returned at once, naming the lock, as an error matching ErrAccessDenied;
// the session's background work (watches, the cleanup worker, the check of
// own keys) stops on one rather than trying again forever. An entry found gone, for whatever reason and on whatever path,
// is one error: it matches ErrLost, and ErrSessionExpired as well when the
// session's lease ended. Leave is fenced: it deletes the entry only if its
// key still has the ticket's create revision, so a late Leave of a lost
// entry deletes nobody else's and reports the loss; a Leave whose first
// reply was lost and whose retry finds the entry gone, while the lease
// lives, reports success.
//
// # Cancellation and cleanup
//
// Every call returns within CleanupTimeout of its ctx's end. A join whose
// ctx ends waits, within that bound, for etcd's answer to its write, then
// removes what it wrote: a cancelled RPC may still be applied after a
// delete sent behind it. Removals are the session's cleanup worker's, one
// per session: it removes a call's entries all at once, fenced on their
// create revisions where known, and goes on retrying, at most every 250 ms,
// past the call's return until it succeeds or the session ends; until then
// the entry holds its place, so "nothing left in etcd" holds once etcd is
// reachable.
//
// # Done
//
// Ticket.Done closes when the entry leaves the line for any reason: Leave,
// its key deleted, or the session ending. The session ends on this client's
// side when its keep-alives give up, which can be before etcd removes the
// entry (for example after the member the client talks to was killed):
// Done closes then too, on purpose. See HeldUntil for the deadline by which
// Done closes at the latest.
//
// # Yield requests
//
// Queue.AskToYield asks the line's current holders to give their holds up:
// per holder, one key beside the line (outside every range an entry waits
// on), bound to the holder's lease and carrying its token, deleted by the
// holder's Leave or Requeue in the same transaction as its entry. A holder
// learns of it on Ticket.YieldRequested, which watches nothing until first
// called, and decides; asking grants nothing and moves nobody.
//
// Keys live under the lock name: `etcdctl get --prefix NAME/` shows the line.
package queue
