// Package election is fair leader election and rotation on etcd v3.
//
// Candidates line up in one fairlock line (package queue): Campaign appends
// an entry holding the candidate's value and waits until it is the oldest
// entry, that is, until every candidate that arrived before it has gone.
// So candidates lead in arrival order, across every client of the cluster,
// and a waiting candidate watches only the entry right in front of it: a
// hand-off wakes one candidate, never the whole field.
//
// # Rotation
//
// Rotate is the leader's "your turn": in one transaction it deletes its
// entry (fenced: only if it still leads) and appends a new one with the same
// value at the tail of the line, then waits for its turn again. The next
// candidate in line leads as soon as that transaction commits, and since
// the rotating leader is back in line in the same instant, the order never
// drifts: with k candidates that rotate, each leads once in every k terms,
// in a fixed order. Nobody else in line: the leader leads again at once.
// Doing the same with etcd's concurrency.Election takes a Resign and a new
// Campaign, two transactions between which the leader is out of the line.
//
// # Hand-offs without a stall
//
// etcd serves a watch that starts at a past revision from a loop that runs
// every 100 ms. etcd's own Campaign watches from the revision of its read,
// so every contested hand-off can wait up to 100 ms for that loop. A
// candidate here creates its watches "now", served at once, and reads once
// to make sure it missed nothing (see package queue), so a term begins one
// watch event after the last one ended.
//
// # Fencing
//
// Leadership is held through the session's lease and can be lost without
// the leader knowing in time: a GC pause or a partition outlasts the lease,
// and the next candidate leads while the old leader still thinks it does.
// Every term has a token (Token), the create revision of the leader's entry,
// which rises with every term. Guard writes to etcd with If(e.IsOwner());
// send Token with writes elsewhere and have the store refuse any token
// lower than one it has seen. Done closes when the term ends, HeldUntil
// tells how long it surely lasts.
//
// Proclaim, Resign and Rotate are fenced themselves: after the lease was
// lost they report ErrLost and write nothing, and the next leader's entry
// is never touched. A Resign whose outcome is unknown (ctx ended, etcd
// unreachable) leaves the Election leading, so that another Resign can
// finish the job; etcd's Election.Resign forgets its leadership after a
// failed request, so its retry deletes nothing and the key lingers until
// the lease expires (etcd #22123).
//
// # Observing
//
// Observe reports the leader, then every change of leader or of its value,
// in revision order, with none skipped while etcd keeps the history. It
// keeps a copy of the whole line, read once and then followed by one
// watch of the line's range, and works out the leader after every revision
// of it, also when one watch response carries several. A watch that breaks
// (the member lost its raft leader, the connection was reset) is resumed
// from the revision after the last one applied, so the terms that passed
// meanwhile are reported once the member serves again. Only when etcd has
// compacted that history does the observer read the line again, and its
// next report has Gap set: terms may be missing there. ObserveWith with
// ObserveOptions.Empty also reports the moments when nobody leads.
//
// etcd's Election.Observe follows the leader's key alone and reports
// neither deletes nor an empty line; after a read that finds no leader it
// takes the first put its watch delivers as the new leader, which, after a
// gap in the connection, can be a candidate that has already gone or was
// never the oldest (etcd #18163), and it gives up when the history it
// needs is compacted.
//
// An election's entries are exclusive entries of the line named by the
// election's name: `etcdctl get --prefix NAME/` shows the candidates,
// leader first by create revision.
//
// # A leader's loop in one call
//
// Lead campaigns, runs a function while leading (its context ends with the
// term), and resigns, whatever happened; with RotateEvery it hands the lead
// on every period and runs the function again at its next term, and with
// RotateWhenAsked a request to yield hands it on too. A ctx that ends is a
// clean shutdown: Lead resigns and returns nil.
package election
