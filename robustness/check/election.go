package check

import (
	"fmt"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

// term is who leads (or nobody), as etcd's record has it and as observers
// report it.
type term struct {
	Vacant bool
	Key    string
	Token  int64
	Value  string
}

func (t term) String() string {
	if t.Vacant {
		return "nobody"
	}
	return fmt.Sprintf("%s (token %d)", t.Value, t.Token)
}

// terms is the sequence of leaders (and vacancies) of an election's line by
// etcd's record: its head after each revision, each change once.
func (r *Record) terms(lock string) []term {
	out := []term{{Vacant: true}} // the run starts on an empty line
	for _, s := range r.Snapshots(lock) {
		t := term{Vacant: true}
		for _, e := range s.Line {
			if e.Kind == Exclusive {
				t = term{Key: e.Key, Token: e.Rev, Value: e.Value}
				break
			}
		}
		if t != out[len(out)-1] {
			out = append(out, t)
		}
	}
	return out
}

// checkElection: one leader at a time (no two leaders with Done open),
// fenced transactions against etcd's record, and every observer's reports
// are etcd's sequence of terms, in order, skipping terms only right after
// a report marked Gap.
func checkElection(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, one, &res)
	lock := spec.Locks[0]
	truth := c.record.terms(lock)
	index := map[term]int{}
	for i, t := range truth {
		if !t.Vacant {
			index[t] = i
		}
	}
	type stream struct {
		proc string
		op   int64
	}
	streams := map[stream][]history.Record{}
	var order []stream
	for _, r := range recs {
		if r.Kind == history.Observe {
			s := stream{r.Proc, r.Op}
			if streams[s] == nil {
				order = append(order, s)
			}
			streams[s] = append(streams[s], r)
		}
	}
	reports, gaps := 0, 0
	for _, s := range order {
		pos := -1 // the report's place in truth, once aligned
	reports:
		for _, r := range streams[s] {
			reports++
			got := term{Vacant: r.Vacant, Key: r.Key, Token: r.Token, Value: r.Value}
			if r.Vacant {
				got = term{Vacant: true}
			}
			if r.Gap {
				gaps++
			}
			switch {
			case pos < 0 && got.Vacant:
				continue // a vacancy places nothing: etcd's record has many
			case pos < 0 || r.Gap:
				i, ok := index[got]
				if got.Vacant {
					i, ok = nextVacant(truth, pos)
				}
				if !ok || i < pos {
					res.Violations = append(res.Violations, fmt.Sprintf("%s (stream %d) reported %s at %s: not etcd's next "+
						"term after %s", s.proc, s.op, got, c.at(r.T), at(truth, pos)))
					break reports
				}
				pos = i
			case pos+1 < len(truth) && truth[pos+1] == got:
				pos++
			default:
				res.Violations = append(res.Violations, fmt.Sprintf("%s (stream %d) reported %s at %s; etcd's next term "+
					"after %s was %s (no Gap reported)", s.proc, s.op, got, c.at(r.T), at(truth, pos), at(truth, pos+1)))
				break reports
			}
		}
	}
	res.Figures = append(res.Figures, fmt.Sprintf("terms in etcd's record: %d; observer reports checked: %d in %d "+
		"streams, "+
		"%d marked Gap", len(truth), reports, len(order), gaps))
	return res
}

func nextVacant(truth []term, pos int) (int, bool) {
	for i := pos + 1; i < len(truth); i++ {
		if truth[i].Vacant {
			return i, true
		}
	}
	return 0, false
}

func at(truth []term, i int) string {
	if i < 0 || i >= len(truth) {
		return "(none)"
	}
	return truth[i].String()
}
