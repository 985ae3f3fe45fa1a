// Package queue is fairlock's ordered line: the one mechanism beneath every
// lock of this module (fairmutex, rwmutex, semaphore, election). This page
// is where its protocol is explained; the method docs state contracts.
//
// Each client that wants a turn appends an entry, a key bound to its
// session's lease, under the line's name. The entry's create revision,
// assigned by etcd when it is written, is its place: the line is served in
// create-revision order, first come first served, across every client of
// the cluster. It is also the fencing token of the turn: it rises with
// every entry and is never reused.
//
// # Kinds of entry
//
// Exclusive entries (Join) are blocked by every older exclusive or shared
// entry; shared entries (JoinShared) only by older exclusive ones, so
// shared entries that arrive together hold together and an exclusive entry
// is never overtaken by shared entries that arrive after it. Permits
// (JoinPermitN) form a line of their own per name, apart from the other
// kinds, served while the weights of the permits let in, the next one's
// included, fit in the semaphore's limit; one limit per name at a time
// (ErrLimitMismatch). JoinAll joins several lines in one transaction, so
// that its entries share one create revision.
//
// # Joining
//
// A join is one transaction: if the entry's key does not exist, put the
// entry and read the newest entries that block it (as many as the decision
// needs: package internal/turn); else read the key. A retry after a lost
// reply finds the entry written by the first attempt and takes it as its
// own instead of writing a second one. The Try joins guard the put with
// "nothing blocks me" instead, and write nothing when it fails: the store's
// revision does not move.
//
// # Keys
//
// An entry's key names a slot of its session (lease, process nonce, slot
// number). A slot returns to use only once its entry is known gone, so two
// live calls never share a key, and a session reuses a handful of keys
// however often it locks: that keeps a line's reads as cheap after months
// as on the first day, since etcd's range reads visit every key written
// under a prefix until it compacts them. A slot whose write had an unknown
// outcome (a transient error, a ctx that ended first) never returns to use:
// it is quarantined, its key watched for the rest of the session, and an
// entry that a late-applied write puts there is removed at once. So an
// entry found on a free slot's key after a lost reply is always the call's
// own (package internal/slot has the slot's life).
//
// # Waiting
//
// Ticket.Wait decides from the last read (package internal/turn, Decide)
// and watches only what can bring the turn: the entry ahead of it (for an
// exclusive or shared entry, or a permit behind another waiter), or, for
// the oldest permit waiter, every delete in its line (any holder leaving
// may let it in). A release thus wakes the waiter it lets in, not the line,
// and a waiter costs etcd one watcher, as etcd's own Mutex does.
//
// Watches start now. etcd serves a watch that starts at a past revision
// from a loop that runs every 100 ms (watchResyncPeriod), and would stall
// every handoff; so each watch starts at etcd's current revision and
// reports it, and once every watch is in place, one read covers what
// happened between the last read and then (turn.MustReread). A read that
// only has to reflect a known revision (that of the delete that woke the
// waiter) is served by the member the client talks to, without a round to
// the leader. Each read also checks the waiter's own entry; between
// wake-ups, a session checks all its waiters' entries in one read every
// OwnKeyCheckInterval, and a session that ends is noticed at once.
//
// # Permits
//
// A release may let in several waiters (a heavy holder leaving) or none (a
// heavy waiter that still does not fit), and the holders are always a
// prefix of the line. A waiter behind another waiter watches its
// predecessor's delete and its "touch", a put that keeps value, lease and
// create revision, which says the predecessor was let in. The releaser
// reads the head of the line, works out whom its leaving lets in
// (turn.LetIn) and touches them in its own delete's transaction, each
// touch applied only if its entry is still there; so a release is one
// write however many it lets in, and the wake-up of the waiters behind
// does not depend on the grantees' processes. A grantee let in some other
// way (a holder's lease ended, its key deleted, a view of the line the
// releaser could not keep up with) touches itself once it sees its grant.
// So a release wakes the waiters it lets in and at most one more, the
// waiter behind the last of them, which becomes the oldest waiter; with
// weight-1 permits, at most two watch events per acquisition, whatever the
// number of waiters.
//
// # Leaving
//
// Leave is a fenced delete: only if the key still has the ticket's create
// revision. A late Leave of a lost entry deletes nobody else's entry and
// reports the loss; a Leave whose first reply was lost and whose retry
// finds the entry gone, while the lease lives, reports success. A holder's
// request to yield goes in the same transaction.
//
// # Errors and retries
//
// Every call that talks to etcd retries transient errors (no leader, lost
// connection) until its ctx ends, and gives up when the session ends (etcd
// #19597). A refusal no retry mends (permission denied, authentication
// failed: under etcd's auth, a user needs read and write on NAME/) is
// returned at once, naming the lock, as an error matching ErrAccessDenied;
// the session's background work (watches, the cleanup worker, the check of
// own keys) stops on one rather than trying again forever. An entry found
// gone, for whatever reason and on whatever path, is one error: it matches
// ErrLost, and ErrSessionExpired as well when the session's lease ended.
// Compare errors with errors.Is.
//
// # Cancellation and cleanup
//
// Every call returns within CleanupTimeout of its ctx's end. A join whose
// ctx ends waits, within that bound, for etcd's answer to its write, then
// removes what it wrote: a cancelled RPC may still be applied after a
// delete sent behind it. Removals are the session's cleanup worker's: it
// removes a call's entries in one transaction, fenced on their create
// revisions where known, and goes on retrying, at most every 250 ms, past
// the call's return until it succeeds or the session ends; until then the
// entries hold their places, so "nothing left in etcd" holds once etcd is
// reachable.
//
// # Done
//
// Ticket.Done closes when the entry leaves the line for any reason (Leave,
// its key deleted, the session ending) and at the latest at HeldUntil,
// before etcd can expire the lease. The session ends on this client's side
// when its keep-alives give up, which can be before etcd removes the entry
// (after the member the client talks to was killed, say): Done closes then
// too, on purpose. A session's watched entries share one watch stream
// (package internal/watchmux).
//
// # Tenants
//
// FIFO is fair among callers, not among the teams behind them. A Queue
// WithTenant serves its callers through an admission line of their
// tenant's own under the lock's name (N/.q/<tenant>/): an ordinary line of
// permits whose limit is the tenant's share, in which the caller waits
// first, herd-free as in any line. An admitted caller then joins the
// lock's own line, its entry tagged with its tenant. The lock's line so
// holds at most share entries of each tenant at a time, and its FIFO order
// is a round-robin of the tenants that wait, weighted by share: when a
// tenant's caller leaves, the tenant's next caller is admitted and joins
// the lock's line behind the other tenants' callers already there. A
// tenant that arrives behind a long line of another tenant's callers waits
// for at most the other tenants' shares' worth of grants. Callers without
// a tenant join the lock's line directly, as always.
//
// The release that admits a caller hands it over: its own transaction
// also puts the admitted caller's exclusive entry in the lock's line, on
// a key named after the caller's admission entry and bound to the
// caller's lease, so that the tenant's next caller is in the lock's line
// the moment its last one leaves, whatever the length of the holds; the
// caller finds that entry with the read that tells it it is admitted, and
// holds it. The put is guarded (the caller still waits, and is the one
// admitted; the callers of its tenant ahead of it are in the lock's line
// already; nobody joined a short admission line since it was read, or
// the release reads it again); where a guard fails, the caller joins the
// lock's line itself once admitted. Whatever removes an admission entry removes that key
// too. A caller admitted at once, its tenant's line being empty, puts
// both entries in one transaction.
//
// The hold is the entry in the lock's line: its token, IsOwner, Done and
// HeldUntil are those of any hold. Its release removes both entries in one
// transaction; a loss or a cancellation takes the admission entry with
// the hold, and a TryJoin puts both in one guarded transaction or writes
// nothing. A tenant's caller makes a read or two more than a caller
// without a tenant (the admission line's), and waits in the lock's line as
// any caller does. Since a caller's place in the lock's line
// exists only once it is admitted, a Queue WithTenant serves the calls
// that wait for the turn (Acquire, AcquireShared, AcquirePermitN) and the
// Try calls, and refuses Join, JoinShared, JoinPermitN, JoinAll and
// Requeue (ErrTenantUnsupported). Every caller of a tenant on a lock must
// declare the same share: the admission line is a permit line, and its
// limit is the share (ErrShareMismatch otherwise).
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
