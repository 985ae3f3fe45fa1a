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
// Entries are exclusive (Join) or shared (JoinShared). An exclusive entry is
// blocked by every older entry; a shared entry only by older exclusive ones.
// So shared entries that arrive together hold together, and an exclusive
// entry waits for everything in front of it without being overtaken by
// shared entries that arrive after it.
//
// Waiting is herd-free: Ticket.Wait watches only the newest entry that blocks
// the ticket, so a release wakes the one waiter it concerns (or the run of
// shared waiters right behind an exclusive one), never the whole line.
//
// A Ticket whose session ends, or whose key is deleted by anyone, is lost:
// Wait and Position report ErrLost or ErrSessionExpired, Done is closed, and
// Leave reports ErrLost without deleting anything, because its fenced delete
// only removes the key if it still has the ticket's create revision.
//
// Keys live under the lock name: `etcdctl get --prefix NAME/` shows the line.
package queue
