package check

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/schedule"
	"github.com/fairlock/fairlock/robustness/workload"
)

// The liveness bounds the checkers hold fairlock to.
const (
	// LetinBound: a waiter returns within it of etcd letting it in (the
	// revision at which its turn came), unless its own process was paused
	// or cut off meanwhile. It holds through member faults: a waiter whose
	// member is paused or cut off has other endpoints. Its watch then
	// stays silent, and the session's check of its waiters, every
	// OwnKeyCheckInterval, reads the line for it through another member;
	// a call whose attempt went to the silent member makes its next one
	// through the next member after AttemptTimeout. At worst a join whose
	// reply the silent member kept, then a read that went there too: two
	// attempts, plus half a second for a loaded machine.
	LetinBound = 2*queue.AttemptTimeout + 500*time.Millisecond
	// AfterOutage: once the cluster is back from the final outage, every
	// worker is granted again within it.
	AfterOutage = 30 * time.Second
)

// holdChecks runs what every workload of holds shares: exclusion per lock
// (fits says what may be held together), fenced transactions against
// etcd's record, every wait ending, let-in latency, and grants after the
// outage.
func (c *run) holdChecks(spec workload.Spec, recs []history.Record, fits func(lock string) Fits, res *Result) []*Hold {
	holds := Holds(recs, c.procs)
	for _, r := range recs {
		if r.Kind == history.Grant {
			res.Grants++
		}
	}
	byLock := map[string][]*Hold{}
	for _, h := range holds {
		byLock[h.Lock] = append(byLock[h.Lock], h)
	}
	var worst *Overlap
	excused := 0
	for _, lock := range spec.Locks {
		for _, ov := range Exclusion(byLock[lock], fits(lock), c.procs) {
			if ov.Excuse == "" {
				res.Violations = append(res.Violations, fmt.Sprintf("%s: %s (token %d, %s) granted at %s while %s (token %d, %s) "+
					"was in use from %s to %s, its HeldUntil %s", lock, ov.Later.Proc, ov.Later.Token, ov.Later.Mode,
					c.at(ov.Later.Start), ov.Earlier.Proc, ov.Earlier.Token, ov.Earlier.Mode, c.at(ov.Earlier.Start),
					c.at(ov.Earlier.End), c.heldUntil(ov.Earlier.until(ov.Later.Start))))
				continue
			}
			excused++
			if worst == nil || ov.Dur > worst.Dur {
				worst = &ov
			}
		}
	}
	if worst != nil {
		res.Worst = fmt.Sprintf("%s on %s (%s, token %d, after %s, token %d): %s; %d excused in all", dur(worst.Dur),
			worst.Later.Lock, worst.Earlier.Proc, worst.Earlier.Token, worst.Later.Proc, worst.Later.Token, worst.Excuse,
			excused)
	}
	c.fencedChecks(recs, res)
	c.waitChecks(recs, res)
	c.letinChecks(recs, res)
	c.outageCheck(spec, recs, history.Grant, res)
	return holds
}

// heldUntil is a HeldUntil as the report says it.
func (c *run) heldUntil(u int64) string {
	if u <= 0 {
		return "not known"
	}
	return c.at(u)
}

// fencedChecks: every transaction fenced by a hold that etcd applied (at
// revision Rev) must find the hold's entry entitled in etcd's record at
// that revision.
func (c *run) fencedChecks(recs []history.Record, res *Result) {
	n := 0
	for _, r := range recs {
		if r.Outcome != history.OK || r.Rev == 0 || (r.Kind == history.Register && r.Mode != "fenced") {
			continue
		}
		locks, tokens := r.Locks, r.Tokens
		if len(locks) == 0 {
			locks, tokens = []string{r.Lock}, []int64{r.Token}
		}
		n++
		for i, lock := range locks {
			entitled, present := c.record.entitledAt(lock, tokens[i], r.Rev)
			switch {
			case !present:
				res.Violations = append(res.Violations, fmt.Sprintf("%s: %s's transaction fenced by token %d applied at "+
					"revision %d, but etcd's record has no such entry then", lock, r.Proc, tokens[i], r.Rev))
			case !entitled:
				res.Violations = append(res.Violations, fmt.Sprintf("%s: %s's transaction fenced by token %d applied at "+
					"revision %d, when by etcd's record its turn had not come (line: %s)", lock, r.Proc, tokens[i], r.Rev,
					describe(c.record.LineAt(lock, r.Rev))))
			}
		}
	}
	res.Figures = append(res.Figures, fmt.Sprintf("%d fenced transactions checked against etcd's record", n))
}

func describe(line []Entry) string {
	var parts []string
	for _, e := range line {
		s := fmt.Sprintf("%c%d", e.Kind, e.Rev)
		if e.Weight > 1 {
			s += fmt.Sprintf("@%d", e.Weight)
		}
		if e.Tenant != "" && !e.Admission {
			s += "#" + e.Tenant
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// waitChecks: every wait ends: a call that used up its patience is a
// violation, unless its process was paused or cut off, or the cluster
// was out, meanwhile.
func (c *run) waitChecks(recs []history.Record, res *Result) {
	calls := map[string]int64{}
	key := func(r history.Record) string { return fmt.Sprintf("%s/%d", r.Proc, r.Op) }
	var longest int64
	for _, r := range recs {
		switch r.Kind {
		case history.Call:
			calls[key(r)] = r.T
		case history.Grant, history.Fail:
			from, ok := calls[key(r)]
			if !ok {
				continue
			}
			delete(calls, key(r))
			waited := r.T - from
			if r.Kind == history.Grant {
				longest = max(longest, waited)
			}
			if r.Kind == history.Fail && waited >= int64(workload.Patience-time.Second) &&
				strings.Contains(r.Err, "deadline exceeded") && !c.excusedWait(r.Proc, from, r.T) {
				res.Violations = append(res.Violations, fmt.Sprintf("%s waited %s from %s without a grant (op %d)",
					r.Proc, dur(waited), c.at(from), r.Op))
			}
		}
	}
	res.Figures = append(res.Figures, fmt.Sprintf("longest wait granted: %s", dur(longest)))
}

// excusedWait: proc was paused or cut off, or the whole cluster was out,
// at some time in [from, to].
func (c *run) excusedWait(proc string, from, to int64) bool {
	if c.procs.Paused(proc, from, to) || c.procs.Cut(proc, from, to) {
		return true
	}
	return slices.ContainsFunc(c.faults, func(f history.Fault) bool {
		return schedule.Kind(f.Kind) == schedule.Outage && f.From <= to && from <= f.To
	})
}

// letinChecks: a grant returns within LetinBound of etcd's letting it in.
func (c *run) letinChecks(recs []history.Record, res *Result) {
	var lat []int64
	var worstMember int64
	missing := 0
	for _, r := range recs {
		if r.Kind != history.Grant {
			continue
		}
		locks, tokens := r.Locks, r.Tokens
		if len(locks) == 0 {
			locks, tokens = []string{r.Lock}, []int64{r.Token}
		}
		var in Letin
		found := true
		for i, l := range locks {
			li, ok := c.letins[Token{l, tokens[i]}]
			if !ok {
				found = false
				break
			}
			if li.T > in.T {
				in = li
			}
		}
		if !found {
			missing++
			continue
		}
		d := r.T - in.T
		lat = append(lat, d)
		member := c.memberFaultAt(in.T, r.T)
		if member != "" {
			worstMember = max(worstMember, d)
		}
		if d > int64(LetinBound) && !c.excusedWait(r.Proc, in.T, r.T) {
			why := ""
			if member != "" {
				why = " (meanwhile: " + member + ")"
			}
			res.Violations = append(res.Violations, fmt.Sprintf("%s: %s granted %s after etcd let token %v in at revision %d "+
				"(%s), more than %v%s", strings.Join(locks, ","), r.Proc, dur(d), tokens, in.Rev, c.at(in.T),
				LetinBound, why))
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.Figures = append(res.Figures, fmt.Sprintf(
			"let-in to grant: median %s, p99 %s, max %s; max during a member fault %s",
			dur(lat[len(lat)/2]), dur(lat[len(lat)*99/100]), dur(lat[len(lat)-1]), dur(worstMember)))
	}
	if missing > 0 {
		res.Figures = append(res.Figures,
			fmt.Sprintf("%d grants not in etcd's record (an entry etcd never let in?)", missing))
	}
}

// memberFaultAt names the member faults under way in [from, to], "" for
// none.
func (c *run) memberFaultAt(from, to int64) string {
	var names []string
	for _, f := range c.faults {
		if len(f.Members) > 0 && f.From <= to && from <= f.To {
			names = append(names, fmt.Sprintf("%s %s", f.Kind, f.Victim))
		}
	}
	return strings.Join(names, ", ")
}

// outageCheck: every worker of spec (observers included) did kind again
// within AfterOutage of the cluster's return from the final outage.
func (c *run) outageCheck(spec workload.Spec, recs []history.Record, kind history.Kind, res *Result) {
	if c.meta.OutageEnd == 0 {
		return
	}
	first := map[string]int64{}
	for _, r := range recs {
		k := kind
		if strings.Contains(r.Proc, "-observer-") {
			k = history.Observe
		}
		name, _, _ := strings.Cut(r.Proc, "#")
		if r.Kind == k && r.T > c.meta.OutageEnd {
			if _, ok := first[name]; !ok {
				first[name] = r.T
			}
		}
	}
	var slowest int64
	var names []string
	for _, w := range c.meta.Workers {
		if w.Workload == spec.Name {
			names = append(names, w.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		t, ok := first[n]
		if !ok || t-c.meta.OutageEnd > int64(AfterOutage) {
			res.Violations = append(res.Violations, fmt.Sprintf("%s: no %s within %v of the cluster's return from the outage",
				n, kind, AfterOutage))
			continue
		}
		slowest = max(slowest, t-c.meta.OutageEnd)
	}
	res.Figures = append(res.Figures,
		fmt.Sprintf("after the outage: every worker's first %s within %s", kind, dur(slowest)))
}
