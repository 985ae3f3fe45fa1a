package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

func one(string) Fits { return One }

// fitsOf: a semaphore's permits fit in its limit, any other lock has one
// holder at a time.
func fitsOf(spec workload.Spec) func(lock string) Fits {
	return func(lock string) Fits {
		if l := spec.LimitOf(lock); l > 0 {
			return WithinLimit(l)
		}
		return One
	}
}

// mismatches: every permit key of lock claims the semaphore's limit.
func (c *run) mismatches(lock string, res *Result) {
	res.Violations = append(res.Violations, c.record.mismatch[lock]...)
}

// checkMutex: exclusion, the fenced register linearizable (porcupine,
// per lock), the unfenced counter's lost increments owned up to.
func checkMutex(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, one, &res)
	ok, n, note := Linearizable(recs, c.dir, spec.Name)
	if !ok { // first: porcupine's verdict is the headline of a mutex run
		res.Violations = append([]string{"the fenced register's history is not linearizable: " + note}, res.Violations...)
	}
	res.Figures = append(res.Figures, fmt.Sprintf("fenced register: %d operations, linearizable: %v", n, ok))
	for _, lock := range spec.Locks {
		incs, unknown := 0, 0
		for _, r := range recs {
			if r.Kind == history.Register && r.Mode == "unfenced" && r.Lock == lock {
				switch r.Outcome {
				case history.OK:
					incs++
				case history.Unknown:
					unknown++
				}
			}
		}
		final, _ := strconv.Atoi(c.record.Final(workload.Data(lock, "counter")))
		res.Figures = append(res.Figures, fmt.Sprintf("unfenced counter %s: %d increments (+%d unknown), ends at %d: %d lost",
			lock, incs, unknown, final, max(incs-final, 0)))
	}
	return res
}

// checkRWMutex: readers together, a writer alone, and no reader sees a
// write in progress: a state "writing:T" read under a read hold whose
// writer T went on to finish its write under its hold.
func checkRWMutex(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, func(string) Fits { return ReadersOrOneWriter }, &res)
	finished := map[string]bool{}
	for _, r := range recs {
		if r.Kind == history.Fenced && r.Outcome == history.OK && strings.HasPrefix(r.Value, "idle:") {
			finished[strings.TrimPrefix(r.Value, "idle:")] = true
		}
	}
	seen, inProgress := 0, 0
	for _, r := range recs {
		if r.Kind != history.Seen || r.Outcome != history.OK {
			continue
		}
		seen++
		if tok, ok := strings.CutPrefix(r.Value, "writing:"); ok {
			inProgress++
			if finished[tok] {
				res.Violations = append(res.Violations, fmt.Sprintf("%s (read token %d) saw the write of token %s in progress "+
					"at revision %d, and that writer went on to finish it under its hold", r.Proc, r.Token, tok, r.Rev))
			}
		}
	}
	res.Figures = append(res.Figures, fmt.Sprintf(
		"%d fenced reads; %d saw a write left unfinished by a writer that lost its hold",
		seen, inProgress))
	return res
}

// checkSemaphore: the weights of the permits in use fit in the limit,
// by the holders' stamps and by etcd's record; no permit idle while the
// oldest waiter fits (its grant follows its let-in within LetinBound).
func checkSemaphore(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, fitsOf(spec), &res)
	c.mismatches(spec.Locks[0], &res)
	return res
}

// checkLockAll: exclusion in every line, every LockAll ends (no deadlock).
func checkLockAll(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, one, &res)
	return res
}
