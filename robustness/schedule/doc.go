// Package schedule draws the robustness suite's fault schedule from a seed:
// a pure function, so that SEED= replays a run's faults (the same kinds,
// targets and times) and a table test pins it down without etcd.
//
// Faults come one at a time, round robin over the kinds in an order the
// seed shuffles, each followed by a quiet spell, for the run's duration;
// then a whole-cluster outage ends the schedule. Targets are named as the
// schedule can know them (a member by index, a worker by name, a workload
// whose holder or waiter is to be killed, "the leader"); the runner
// resolves them when the fault comes and writes down whom it hit.
package schedule
