// Package fairlock connects to etcd and hands out fair distributed locks in
// a few lines:
//
//	c, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: []string{"localhost:2379"}})
//	if err != nil {
//		return err // an unreachable cluster is an error naming why, never a hang
//	}
//	defer c.Close() // revokes the session: every entry goes at once
//
//	m, err := c.Mutex("/jobs/nightly")
//	if err != nil {
//		return err
//	}
//	return m.Do(ctx, func(ctx context.Context) error {
//		// Held until this returns; ctx ends if the hold does.
//		// A write fenced by the hold: applied only while it lasts.
//		resp, err := c.Etcd().Txn(ctx).If(m.IsOwner()).Then(clientv3.OpPut("/results/nightly", "done")).Commit()
//		if err == nil && !resp.Succeeded {
//			err = fairlock.ErrLost // the hold ended first: nothing was written
//		}
//		return err
//	})
//
// Do locks, runs the function with a context that ends when the hold ends
// (lost, or at HeldUntil at the latest) or ctx does, and unlocks with a
// bounded context of its own whatever happened, a panic included; every
// hold has one (RWMutex.Do and RDo, Semaphore.Do, and Election.Lead for a
// leader's loop, with rotation). Lock and Unlock remain for holds that do
// not fit in one function call. The README's version of this code compiles
// in a test; see also the package Example.
//
// A Client is one etcd client and one session (a lease kept alive in the
// background). Every lock it makes is held through that session: when the
// process dies, the lease expires after Config.TTL and its holds and places
// in line vanish; when it calls Close, they vanish at once.
//
// The locks themselves live in the packages fairmutex (a FIFO mutex, and
// LockAll for several at once), rwmutex (a fair read-write lock), semaphore
// (a fair counting semaphore), election (leader election that rotates) and
// queue (the ordered line beneath them all); Client only makes them, on its
// session, with the Config's identity stored in every entry so that
// Queue.List tells who holds and who waits, and with its hooks and logger.
// Code that manages its own clientv3.Client and concurrency.Session can use
// those packages directly.
//
// The errors of those packages are here under the same names and as the
// same values (ErrLost, ErrLocked, ErrNoPermit, ...), so that a user of
// Client matches them with errors.Is without importing the lock packages.
package fairlock
