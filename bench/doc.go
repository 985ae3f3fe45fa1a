// Command bench measures fairlock's locks against etcd's own, side by side,
// on one embedded etcd member (fsync on unless -nofsync):
//
//	go run ./bench -out bench/results
//
// Contenders: fairmutex and rwmutex (this module); etcd's
// concurrency.Mutex, the FIFO anchor; a herd baseline (etcd v2's exclusive
// mode ported to v3: put-if-absent on one key, watch it, race again on its
// delete); and etcd's recipes RWMutex, the read-write anchor. Every
// contender is a separate client with its own session, as separate nodes
// would be, and every cell runs a fresh lock name for a fixed duration.
//
// Per contender and number of contenders it reports acquisitions per
// second; handoff latency (from the start of a holder's Unlock to the next
// waiter's grant, on this process's monotonic clock); etcd's own counters
// per acquisition, read in-process from the Prometheus default gatherer
// (unary gRPC calls handled, events sent to watchers); and fairness as
// overtakes (later arrivals granted before an earlier one, arrival being the
// start of the Lock call). It also times an uncontended Lock plus Unlock and
// counts what a TryLock on a held lock costs.
//
// The tables go to stdout; -out also writes results.md and chart.svg.
package main
