// Package leaseguard tells a process, from its own clock, when the lease of
// a concurrency.Session may be gone: never later than the moment etcd may
// expire it, so that a hold's Done can close before etcd can delete the
// hold's entry and grant it to someone else.
//
// A session's own Done is not enough. etcd's client declares a lease dead
// once TTL has passed since the last keep-alive reply *arrived*; the leader
// counts TTL from when it *received* that keep-alive, which is earlier; and
// the client checks only once a second. So etcd may expire the lease, delete
// its keys and grant the next waiter while the session still looks alive.
//
// # Why the deadline is safe
//
// Which keep-alive is counted. A Guard sends keep-alives of its own on the
// session's lease (Client.KeepAliveOnce: one request, one reply), reading
// its monotonic clock just before each call, so before any resend etcd's
// client makes inside it. Only a request the guard sent
// itself counts, once etcd has answered it with a positive TTL: only for
// those is the send time known. The session's own keep-alives cannot be
// used: etcd's client sends them on a stream of its own and exposes neither
// when it sent a request nor which request a reply answers. Answers may
// arrive out of order; the latest deadline wins.
//
// Why its send time bounds the server's expiry. The request reaches the
// leader after the client sent it. The leader first confirms it still leads
// (a ReadIndex round), renews only a lease that has not expired (an expired
// one is answered "not found" once revoked), and sets the lease to expire
// TTL after the renewal. Revocation goes through raft after that expiry,
// and the lease's keys go with it. So the lease and its keys exist at least
// until send + TTL, in real time.
//
// What a new leader does. Leases are timed by the leader alone. A member
// that becomes leader promotes every lease to a full TTL from its election
// plus an election timeout (with lease checkpointing on, the remaining TTL
// it checkpointed; a renewal clears that checkpoint through raft before it
// is answered). So a change of leader only extends a lease; the extra
// election timeout covers a renewal the old leader answered just before it
// stepped down.
//
// Clock drift. The guard measures send + TTL on this machine's clock, the
// leader measures TTL on its own. Each is an interval on one monotonic
// clock, so the offset between the two clocks does not matter, only their
// rates: a leader clock that runs fast, or a local one that runs slow, ends
// the leader's TTL first. The guard takes TTL×DriftRate off the deadline:
// 0.1%, 2 ms of a 2 s TTL and 10 ms of 10 s. So
//
//	Until = send + TTL − TTL×DriftRate
//
// and Lost(margin) closes at Until − margin, which leaves the holder margin
// to stop what it does.
//
// Cost. One keep-alive round every TTL/3 per session, the first at once,
// beside the session's own, on one stream of the guard's own (under etcd's
// auth, every stream opened costs an authentication); a round that fails is retried after TTL/10 (at
// least 200 ms) and does not move the deadline; a round unanswered after
// one TTL is given up. An answer with no TTL left, or "lease not found",
// means the lease is gone: every Lost channel closes and the guard stops,
// as it does when the session ends. So does a refusal that no retry mends
// (see package internal/etcderr): etcd renews a lease only for a user who
// may write every key bound to it, and refuses the session's own
// keep-alives as well, so the lease will expire.
//
// # What remains
//
// The guard tells a holder when to stop; it cannot stop it. A process
// paused between checking Done (or Until) and acting on it, by a GC pause,
// a stalled VM or a suspended machine (whose monotonic clock stands still),
// may act after the lease is gone and the lock granted to someone else.
// That is what fencing tokens are for: writes into etcd go through
// If(IsOwner()), writes elsewhere carry the token and the store refuses a
// lower one. And a guard knows only what its own keep-alives tell it: when
// they fail while the session's get through, it reports the lease lost
// although it is not. That errs on the safe side.
package leaseguard
