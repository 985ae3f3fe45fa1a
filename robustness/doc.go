// Package robustness is fairlock's robustness suite, Jepsen-style: a real
// three-member etcd cluster of separate OS processes on loopback, faults
// (killed and paused members, paused and killed clients, partitions and
// one-way cuts through TCP proxies the suite runs, a whole-cluster outage)
// on a schedule drawn from a seed, workloads of every primitive and of the
// fairlock command in client processes of their own, and a checker per
// workload that fails the run on one violation.
//
// The pieces, one package each:
//
//   - history: the JSON lines every process writes (wall-clock nanoseconds:
//     all processes share one machine's clock).
//   - proxy: the TCP proxy every client and peer connection goes through,
//     which cuts a connection, a member from the others, or one direction.
//   - schedule: the fault schedule, a pure function of the seed.
//   - cluster: the etcd processes and their proxies.
//   - workload: what each worker process does, through fairlock's public
//     API only.
//   - check: the checkers, pure functions of the histories.
//   - cmd/robustness runs it all and prints the report; cmd/worker is the
//     one worker binary the run starts many times.
//
// make robustness runs it (DUR, SEED); docs/robustness.md says what it
// proves and how to read the report.
package robustness
