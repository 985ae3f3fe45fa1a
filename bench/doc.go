// Command bench measures fairlock's locks against etcd's own, side by side,
// on one embedded etcd member (fsync on unless -nofsync):
//
//	go run ./bench -out bench/results   # about five minutes on 2 cores
//	go run ./bench -quick               # a shorter run, to check the harness
//
// Contenders, each with the anchor its figures are divided by:
//
//   - mutexes: fairmutex (and fairmutex with every queue hook set, alone
//     only) against etcd's concurrency.Mutex; a herd baseline (etcd v2's
//     exclusive mode ported to v3: put-if-absent on one key, watch it, race
//     again on its delete);
//   - read-write locks: rwmutex against etcd's recipes RWMutex;
//   - semaphores: semaphore against a Curator-style one written here (every
//     waiter watches the whole line and reads it again on every event);
//   - weighted semaphores: semaphore's AcquireN, weights drawn 1 to
//     -wsem-max-weight, against the Curator-style one with weights, as
//     strictly FIFO;
//   - elections: candidates taking turns with Rotate against etcd's
//     concurrency.Election doing Resign, then Campaign;
//   - several locks at once: fairmutex.LockAll against concurrency.Mutex
//     taken one by one in name order;
//   - tenants (-groups tenants): fairmutex with queue.WithTenant, its
//     contenders split among tenants of unequal sizes and shares
//     (-tenant-mixes), holding -tenant-holds each, against the same
//     contenders on a plain fairmutex (FIFO): each tenant's grants against
//     its share (the spread), the smallest tenant's longest wait, and
//     throughput.
//
// Every contender is a separate client with its own session, as separate
// nodes would be; every cell runs on a fresh lock name, in slices taken in
// turns with the other contenders of its row group.
//
// Per cell it reports acquisitions per second; handoff latency (from the
// start of a holder's Unlock to the next waiter's grant, on this process's
// monotonic clock) and wait (Lock start to grant); etcd's own counters per
// acquisition, read in-process from the Prometheus default gatherer (unary
// gRPC calls handled, events sent to watchers); and fairness as overtakes
// (later arrivals granted before an earlier one, arrival being the start of
// the Lock call). It also times an uncontended Lock plus Unlock, counts what
// a TryLock on a held lock costs, runs fairmutex on locks with a long
// uncompacted history (made by long-lived sessions, by a session per
// acquisition, and the latter compacted), and counts the lease keep-alives
// a session holding a lock sends, against one holding nothing.
//
// The tables go to stdout; -out also writes results.md and chart.svg.
package main
