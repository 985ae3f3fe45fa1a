// Package history records what the clients of one lock saw, and checks the
// record against the lock's promises.
//
// A test gives every attempt to take the lock an Op (History.Begin) and
// notes on it, as they happen, what its client observed: the entry's create
// revision once known (Joined), the grant (Granted), that the test is about
// to cancel the wait (Cancelling), a failed wait (Failed), a hold seen lost
// (Lost), and the release (Release). Each note gets a place in one total
// order, taken under a mutex, so "A was released before B was granted" means
// exactly that in the test's own process.
//
// The notes are taken on the safe side of the real event in etcd: a grant is
// noted after the call that waited has returned (the real grant is earlier),
// a release and a cancellation before the call that removes the entry starts
// (the real removal is later). So if the lock kept its promises, the noted
// holds cannot overlap either; a checker that finds an overlap has found a
// real one.
//
// Check then verifies:
//
//   - no token is granted twice;
//   - no two conflicting holds overlap (two shared holds do not conflict),
//     unless one of them was reported lost: its Done closed, or its release
//     reported ErrLost;
//   - tokens rise in grant order among conflicting holds; a hold granted
//     after one with a higher token must have been lost already;
//   - grants follow join order (first come, first served): when a hold is
//     granted, every conflicting attempt with an older entry has been
//     granted already, or had begun to be cancelled, or was lost or failed.
//
// The join order comes from create revisions, so it is checked for every
// attempt whose revision is known: all granted ones (their token is their
// revision) and those whose test noted Joined (queue users).
package history
