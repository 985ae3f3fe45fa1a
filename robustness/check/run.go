package check

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/schedule"
	"github.com/fairlock/fairlock/robustness/workload"
)

// run is a kept run, read back.
type run struct {
	dir    string
	meta   Meta
	faults []history.Fault
	recs   []history.Record // every worker's, by time
	record *Record
	procs  *Procs
	letins map[Token]Letin
}

// checker checks one workload's records.
type checker func(c *run, spec workload.Spec, recs []history.Record) Result

// checkers: one per workload of workload.Specs, by name.
var checkers = map[string]checker{
	"mutex":     checkMutex,
	"rwmutex":   checkRWMutex,
	"semaphore": checkSemaphore,
	"election":  checkElection,
	"lockall":   checkLockAll,
	"exec":      checkExec,
	"tenants":   checkTenants,
}

// Run checks the run kept in dir.
func Run(dir string) (Report, error) {
	c := &run{dir: dir}
	var err error
	if c.meta, err = ReadMeta(dir); err != nil {
		return Report{}, err
	}
	if c.faults, err = history.ReadFile[history.Fault](filepath.Join(dir, "faults.jsonl")); err != nil {
		return Report{}, err
	}
	if c.recs, err = history.ReadRecords(filepath.Join(dir, "hist")); err != nil {
		return Report{}, err
	}
	watches, _ := filepath.Glob(filepath.Join(dir, "etcd", "watch-*.jsonl"))
	var streams [][]history.Event
	rep := Report{Seed: c.meta.Seed, Dir: dir}
	for _, w := range watches {
		evs, err := history.ReadFile[history.Event](w)
		if err != nil {
			return Report{}, err
		}
		var kept []history.Event
		for _, e := range evs {
			if e.Rev == 0 {
				rep.General = append(rep.General, "etcd's record is incomplete: "+filepath.Base(w)+" lost events (compaction)")
				continue
			}
			kept = append(kept, e)
		}
		streams = append(streams, kept)
	}
	if len(streams) == 0 {
		return Report{}, fmt.Errorf("fairlock: robustness: no record of etcd's in %s", dir)
	}
	limits := map[string]int{}
	for _, s := range workload.Specs() {
		for _, l := range s.Locks {
			if lim := s.LimitOf(l); lim > 0 {
				limits[l] = lim
			}
		}
	}
	c.record = NewRecord(MergeEvents(streams...), limits)
	c.procs = NewProcs(c.faults)
	c.letins = c.record.Letins()

	for _, f := range c.faults {
		line := fmt.Sprintf("#%-2d %-14s %s %s for %s -> %s", f.Seq, f.Kind, f.Target, c.at(f.From), dur(f.To-f.From),
			f.Victim)
		if f.Note != "" {
			line += " (" + f.Note + ")"
		}
		rep.Faults = append(rep.Faults, line)
	}
	for _, spec := range workload.Specs() {
		check, ok := checkers[spec.Name]
		if !ok {
			return Report{}, fmt.Errorf("fairlock: robustness: no checker for workload %q", spec.Name)
		}
		res := check(c, spec, c.recsOf(spec))
		res.Workload = spec.Name
		res.Faults = c.faultsOn(spec)
		rep.Results = append(rep.Results, res)
	}
	exits, err := history.ReadFile[procExit](filepath.Join(dir, "procs.jsonl"))
	if err != nil {
		return Report{}, err
	}
	for _, e := range exits {
		// A worker stops cleanly (exit status 0) or is killed by a fault
		// or by the runner at the end; anything else is a failure of its.
		if e.Exit != "" && e.Exit != "<nil>" && e.Exit != "signal: killed" {
			rep.General = append(rep.General, fmt.Sprintf("worker %s exited: %s (see logs/)", e.Proc, e.Exit))
		}
	}
	for _, l := range c.meta.Left {
		rep.General = append(rep.General, "key left under a lock at the end: "+l)
	}
	for _, u := range c.meta.Unstopped {
		rep.General = append(rep.General, "worker did not stop within its time: "+u+" (see logs/)")
	}
	if c.meta.OutageEnd == 0 {
		rep.General = append(rep.General, "the run ended before its final outage")
	}
	return rep, nil
}

// procExit is a line of procs.jsonl: a worker process started (Pid) or
// ended (Exit, as os/exec words it).
type procExit struct {
	Proc string `json:"proc"`
	Pid  int    `json:"pid"`
	Exit string `json:"exit"`
}

// recsOf is the records of spec's workers.
func (c *run) recsOf(spec workload.Spec) []history.Record {
	var out []history.Record
	for _, r := range c.recs {
		if c.workloadOf(r.Proc) == spec.Name {
			out = append(out, r)
		}
	}
	return out
}

// workloadOf maps a process ("mutex-1#2", "exec-1#1/7") to its workload.
func (c *run) workloadOf(proc string) string {
	name, _, _ := strings.Cut(proc, "#")
	for _, w := range c.meta.Workers {
		if w.Name == name {
			return w.Workload
		}
	}
	return ""
}

// faultsOn counts the faults that could touch spec's workers: every
// member fault, and the client faults on its own processes.
func (c *run) faultsOn(spec workload.Spec) int {
	n := 0
	for _, f := range c.faults {
		if len(f.Procs) == 0 && len(f.Members) == 0 && !strings.Contains(f.Victim, spec.Name) {
			continue // skipped, or another workload's exec
		}
		if len(f.Members) > 0 || slices.ContainsFunc(f.Procs, func(p string) bool { return c.workloadOf(p) == spec.Name }) ||
			(schedule.Kind(f.Kind) == schedule.KillHolder || schedule.Kind(f.Kind) == schedule.KillWaiter) &&
				f.Target == spec.Name {
			n++
		}
	}
	return n
}
