package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

// checkExec: the command's promise, from its jobs' stamps: no job of one
// holder stamps after the next holder's job has started, unless the first
// one's fairlock (with its job: the machine) was paused. A cut is no
// excuse: fairlock must stop the job before etcd can expire its lease.
func checkExec(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	type job struct {
		proc        string
		token       int64
		first, last int64
		term, ended bool // stamped "term" (got SIGTERM), "end" (ran its course)
	}
	jobs := map[int64]*job{}
	var tokens []int64
	for _, r := range recs {
		if r.Kind != history.Stamp {
			continue
		}
		j := jobs[r.Token]
		if j == nil {
			j = &job{proc: r.Proc, token: r.Token, first: r.T}
			jobs[r.Token] = j
			tokens = append(tokens, r.Token)
		}
		j.last = max(j.last, r.T)
		j.term = j.term || r.Value == "term"
		j.ended = j.ended || r.Value == "end"
	}
	res.Grants = len(jobs)
	slices.Sort(tokens) // in token order: the report is the same from run to run
	var worst int64
	worstWhy := ""
	excused := 0
	for _, ta := range tokens {
		a := jobs[ta]
		for _, tb := range tokens {
			b := jobs[tb]
			if b.token <= a.token || a.last <= b.first {
				continue
			}
			driver, _, _ := strings.Cut(a.proc, "/")
			if c.procs.Paused(driver, a.first, b.first) {
				excused++
				if a.last-b.first > worst {
					worst, worstWhy = a.last-b.first, fmt.Sprintf("%s (token %d) after %s (token %d) started: %s paused",
						a.proc, a.token, b.proc, b.token, driver)
				}
				continue
			}
			res.Violations = append(res.Violations, fmt.Sprintf("%s: the job of token %d (%s) ran until %s, after the job of "+
				"token %d (%s) started at %s", spec.Locks[0], a.token, a.proc, c.at(a.last), b.token, b.proc, c.at(b.first)))
		}
	}
	if worst > 0 {
		res.Worst = fmt.Sprintf("%s: %s; %d excused in all", dur(worst), worstWhy, excused)
	}
	term, cut := 0, 0
	for _, j := range jobs {
		if j.term {
			term++
		}
		if !j.ended {
			cut++
		}
	}
	res.Figures = append(res.Figures, fmt.Sprintf("%d jobs: %d got SIGTERM, %d were stopped before their end", len(jobs),
		term, cut))
	for _, f := range c.faults {
		if f.Kind != "cut-exec" || len(f.Procs) == 0 {
			continue
		}
		for _, t := range tokens {
			j := jobs[t]
			driver, _, _ := strings.Cut(j.proc, "/")
			if driver == f.Procs[0] && j.first <= f.From && j.last >= f.From {
				how := "ran its course"
				switch {
				case j.term && j.ended:
					how = "got SIGTERM, ran its course"
				case j.term:
					how = "got SIGTERM, stopped"
				case !j.ended:
					how = "was stopped without SIGTERM"
				}
				res.Figures = append(res.Figures, fmt.Sprintf("cut-exec #%d: %s's job (token %d) %s %s after the cut",
					f.Seq, j.proc, j.token, how, dur(j.last-f.From)))
			}
		}
	}
	c.outageCheck(spec, recs, history.Stamp, &res)
	return res
}
