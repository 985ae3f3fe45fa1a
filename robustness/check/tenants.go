package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

// Fairness among tenants, by the design (docs/tenants.md, "How it works"):
// a tenant's caller waits in its tenant's admission line (permits of limit
// share) and joins the lock's line once admitted, so the lock's line holds
// at most share entries of each tenant, and its FIFO order is a weighted
// round-robin of the tenants that wait. What the checker holds the record
// to:
//
//   - Shares, exactly: at every revision, each tenant's entries in the
//     lock's line are no more than its admitted callers (so no more than its
//     share), and each entry joins the line with an admission of its own
//     (the tenant's, the same lease) in etcd's record. No fault excuses a
//     breach: a release removes both entries in one transaction, and a
//     lease takes both with it. One thing is no breach: a stray, the late
//     copy of a join whose first attempt timed out and whose retry
//     succeeded, applied by etcd after the entry was released (a member cut
//     off from the others forwards the proposal it kept once it is back).
//     The session quarantined that key when its entry went, and removes
//     whatever appears there (queue/quarantine.go). A stray is an entry
//     that joined without an admission, that no caller was ever granted,
//     and that is gone within StrayBound; it counts for nothing else.
//   - Runs, with one grant of slack: while every other tenant of the lock
//     waits (an entry in the lock's line whose turn has not come, or a
//     caller admitted and not yet in the line), a tenant gets at most share
//     + 1 grants in a row. Share, because the line holds at most share of
//     its entries ahead of any other tenant's; the one more because an
//     admitted caller that its release could not hand its place
//     (queue/handover.go) joins the line one or two round trips after its
//     admission, and meanwhile the tenant's next caller, admitted by the
//     release before, may join first. A second extra grant needs another
//     tenant's admitted caller kept out of the line for a whole hold: a run
//     longer than share + 1 is excused only by a fault that can do that,
//     under way at some time from a TTL before the run to its end: any
//     member fault or the outage (a join sent to a silent member waits
//     AttemptTimeout before its next attempt, the cluster may be without a
//     leader), or a pause, cut or kill of another tenant's worker (its
//     admitted caller cannot join, and a dead or cut-off caller's admission
//     stays until its lease expires, a TTL later).
//
// A tenant's admission is not a grant: the let-in bound and exclusion are
// about the entry in the lock's line (holdChecks).

// checkTenants: exclusion on the mutex and capacity on the semaphore, as
// for those workloads; shares and runs on each lock against etcd's record.
func checkTenants(c *run, spec workload.Spec, recs []history.Record) Result {
	var res Result
	c.holdChecks(spec, recs, fitsOf(spec), &res)
	granted := map[Token]bool{}
	for _, r := range recs {
		if r.Kind == history.Grant {
			granted[Token{r.Lock, r.Token}] = true
		}
	}
	for _, lock := range spec.Locks {
		c.mismatches(lock, &res)
		c.fairness(spec, lock, granted, &res)
	}
	return res
}

// StrayBound: a stray (see above) is gone within it of its appearance.
// The quarantine's watch wakes at once and the session's cleanup removes
// it, each attempt bounded by AttemptTimeout: the bound of a let-in.
const StrayBound = LetinBound

// TenantGrant is a grant of a lock of tenants, in etcd's order (the
// revision that let it in, then its token), and whether every other tenant
// of the lock was waiting at that revision.
type TenantGrant struct {
	Tenant        string
	Token         int64
	T             int64 // when etcd's record let it in
	OthersWaiting bool
}

// TenantRun is grants of one tenant in a row, every other tenant waiting
// at each.
type TenantRun struct {
	Tenant string
	Grants []TenantGrant
}

// Runs reads grants (in etcd's order): the longest run of each tenant, and
// every run longer than its tenant's share plus one. A grant that came
// while some other tenant was not waiting belongs to no run.
func Runs(grants []TenantGrant, shares map[string]int) (longest map[string]int, over []TenantRun) {
	longest = map[string]int{}
	var cur *TenantRun
	end := func() {
		if cur != nil && len(cur.Grants) > shares[cur.Tenant]+1 {
			over = append(over, *cur)
		}
		cur = nil
	}
	for _, g := range grants {
		switch {
		case !g.OthersWaiting:
			end()
			continue
		case cur == nil || cur.Tenant != g.Tenant:
			end()
			cur = &TenantRun{Tenant: g.Tenant}
		}
		cur.Grants = append(cur.Grants, g)
		longest[g.Tenant] = max(longest[g.Tenant], len(cur.Grants))
	}
	end()
	return longest, over
}

// transit is an admitted caller on its way to the lock's line: admitted
// at From, in the line at To (by etcd's record).
type transit struct {
	tenant   string
	from, to int64
}

// fairness checks lock's tenants (spec's) against etcd's record: shares
// and runs (see the top of this file).
func (c *run) fairness(spec workload.Spec, lock string, granted map[Token]bool, res *Result) {
	shares, workers := map[string]int{}, map[string]string{}
	var names []string
	for i, t := range spec.Tenants {
		if t.Lock == lock {
			shares[t.Name], workers[t.Name] = t.Share, fmt.Sprintf("%s-%d", spec.Name, i+1)
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	// Every revision that changed the lock's line or an admission line,
	// with when the record first saw it.
	when := map[int64]int64{}
	for _, line := range append([]string{lock}, admissionLines(lock, names)...) {
		for _, s := range c.record.Snapshots(line) {
			when[s.Rev] = s.T
		}
	}
	revs := make([]int64, 0, len(when))
	for r := range when {
		revs = append(revs, r)
	}
	slices.Sort(revs)

	waiting := map[int64]map[string]bool{} // by revision
	strays := map[int64]int64{}            // token → when it appeared, while in the line
	wasStray := map[int64]bool{}
	var longestStray int64
	var transits []transit
	var breach []string
	breachAt := map[string]int64{} // tenant → the revision its open breach began
	badLimit, badEntry := map[string]bool{}, map[string]bool{}
	for _, rev := range revs {
		line := c.record.LineAt(lock, rev)
		entitled := Entitled(line)
		admitted, admissions := map[string]int{}, map[string][]Entry{}
		for _, t := range names {
			adm := c.record.LineAt(AdmissionLine(lock, t), rev)
			for i, ok := range Entitled(adm) {
				if adm[i].Limit != shares[t] && !badLimit[adm[i].Key] {
					badLimit[adm[i].Key] = true
					res.Violations = append(res.Violations, fmt.Sprintf("%s: admission entry %s claims share %d, "+
						"tenant %s's is %d", lock, adm[i].Key, adm[i].Limit, t, shares[t]))
				}
				if ok {
					admitted[t]++
					admissions[t] = append(admissions[t], adm[i])
				}
			}
		}
		present := map[int64]bool{}
		for _, e := range line {
			present[e.Rev] = true
		}
		for tok, from := range strays {
			if present[tok] {
				continue
			}
			delete(strays, tok)
			longestStray = max(longestStray, when[rev]-from)
			if when[rev]-from > int64(StrayBound) {
				res.Violations = append(res.Violations, fmt.Sprintf("%s: stray entry, token %d (a late copy of a "+
					"join, no caller's) stayed in the lock's line from %s to %s, more than %v", lock, tok, c.at(from),
					c.at(when[rev]), StrayBound))
			}
		}
		c.joins(lock, rev, line, admissions, granted, strays, wasStray, when, &transits, res)
		inLine, w := map[string]int{}, map[string]bool{}
		for i, e := range line {
			if _, ok := shares[e.Tenant]; !ok {
				if !badEntry[e.Key] {
					badEntry[e.Key] = true
					res.Violations = append(res.Violations, fmt.Sprintf("%s: entry %s (token %d) has no tenant of the "+
						"lock's (tenant %q)", lock, e.Key, e.Rev, e.Tenant))
				}
				continue
			}
			if _, stray := strays[e.Rev]; stray {
				continue
			}
			inLine[e.Tenant]++
			if !entitled[i] {
				w[e.Tenant] = true
			}
		}
		for _, t := range names {
			over := inLine[t] > admitted[t]
			switch _, open := breachAt[t]; {
			case over && !open:
				breachAt[t] = rev
				breach = append(breach, fmt.Sprintf("%s: at revision %d (%s) tenant %s (share %d) had %d entries "+
					"in the lock's line and %d callers admitted: line %s", lock, rev, c.at(when[rev]), t, shares[t],
					inLine[t], admitted[t], describe(line)))
			case !over && open:
				delete(breachAt, t)
			}
			w[t] = w[t] || admitted[t] > inLine[t]
		}
		waiting[rev] = w
	}
	for tok, from := range strays {
		res.Violations = append(res.Violations, fmt.Sprintf("%s: stray entry, token %d (a late copy of a join, "+
			"no caller's) from %s was still in the line at the end", lock, tok, c.at(from)))
	}
	if len(wasStray) > 0 {
		res.Figures = append(res.Figures, fmt.Sprintf("%s: %d stray entries (late copies of joins, no caller's), "+
			"the longest gone after %s", lock, len(wasStray), dur(longestStray)))
	}
	res.Violations = append(res.Violations, breach...)

	// The grants, in etcd's order.
	var grants []TenantGrant
	seen := map[int64]bool{}
	for _, s := range c.record.Snapshots(lock) {
		for _, e := range s.Line {
			in, ok := c.letins[Token{lock, e.Rev}]
			if seen[e.Rev] || !ok || shares[e.Tenant] == 0 || wasStray[e.Rev] {
				continue
			}
			seen[e.Rev] = true
			g := TenantGrant{Tenant: e.Tenant, Token: e.Rev, T: in.T, OthersWaiting: true}
			for _, t := range names {
				if t != e.Tenant && !waiting[in.Rev][t] {
					g.OthersWaiting = false
				}
			}
			grants = append(grants, g)
		}
	}
	slices.SortFunc(grants, func(a, b TenantGrant) int {
		return cmp.Or(cmp.Compare(c.letins[Token{lock, a.Token}].Rev, c.letins[Token{lock, b.Token}].Rev),
			cmp.Compare(a.Token, b.Token))
	})
	longest, over := Runs(grants, shares)
	excused := 0
	for _, r := range over {
		first, last := r.Grants[0], r.Grants[len(r.Grants)-1]
		why := c.runExcuse(r.Tenant, workers, first.T-int64(c.meta.TTL), last.T)
		if why != "" {
			excused++
			continue
		}
		res.Violations = append(res.Violations, fmt.Sprintf("%s: tenant %s (share %d) got %d grants in a row "+
			"(tokens %d to %d, let in from %s to %s) while every other tenant waited, more than share + 1; "+
			"no fault excuses it (the other tenants' callers took up to %s from admission to the lock's line meanwhile)",
			lock, r.Tenant, shares[r.Tenant], len(r.Grants), first.Token, last.Token, c.at(first.T), c.at(last.T),
			dur(longestTransit(transits, r.Tenant, first.T, last.T))))
	}
	var parts []string
	for _, t := range names {
		n := 0
		for _, g := range grants {
			if g.Tenant == t {
				n++
			}
		}
		parts = append(parts, fmt.Sprintf("%s (share %d) %d grants, longest run %d", t, shares[t], n, longest[t]))
	}
	res.Figures = append(res.Figures, fmt.Sprintf("%s: %s; runs over share + 1: %d, %d excused by a fault",
		lock, strings.Join(parts, "; "), len(over), excused))
	if len(transits) > 0 {
		ds := make([]int64, len(transits))
		for i, t := range transits {
			ds[i] = t.to - t.from
		}
		slices.Sort(ds)
		res.Figures = append(res.Figures, fmt.Sprintf("%s: admission to the lock's line: median %s, p99 %s, max %s "+
			"(%d joins)", lock, dur(ds[len(ds)/2]), dur(ds[len(ds)*99/100]), dur(ds[len(ds)-1]), len(ds)))
	}
}

// joins checks the entries that joined lock's line at rev (line, as it
// stood then): each with an admitted admission of its own (its tenant's,
// its lease's, serving no other entry in the line), or a stray (see the
// top of this file). A caller's entry (one that was granted) whose
// admission an earlier entry of its lease holds makes that one the stray,
// if nobody was granted it: a late copy of the caller's previous join may
// come in just before its next one.
func (c *run) joins(lock string, rev int64, line []Entry, admissions map[string][]Entry, granted map[Token]bool,
	strays map[int64]int64, wasStray map[int64]bool, when map[int64]int64, transits *[]transit, res *Result) {
	type leaseOf struct {
		tenant string
		lease  int64
	}
	isStray := func(tok int64) bool { _, ok := strays[tok]; return ok }
	served := map[leaseOf]int{}
	for _, e := range line {
		if e.Rev < rev && !isStray(e.Rev) {
			served[leaseOf{e.Tenant, e.Lease}]++
		}
	}
	for _, e := range line {
		if e.Rev != rev || e.Tenant == "" {
			continue
		}
		var own []Entry
		for _, a := range admissions[e.Tenant] {
			if a.Lease == e.Lease {
				own = append(own, a)
			}
		}
		l := leaseOf{e.Tenant, e.Lease}
		if served[l] >= len(own) && granted[Token{lock, e.Rev}] {
			k := slices.IndexFunc(line, func(o Entry) bool {
				return o.Rev < rev && o.Tenant == e.Tenant && o.Lease == e.Lease && !isStray(o.Rev) &&
					!granted[Token{lock, o.Rev}]
			})
			if k >= 0 {
				strays[line[k].Rev], wasStray[line[k].Rev] = when[line[k].Rev], true
				served[l]--
			}
		}
		switch {
		case served[l] < len(own):
			a := own[served[l]]
			served[l]++
			if in, ok := c.letins[Token{a.Lock, a.Rev}]; ok {
				*transits = append(*transits, transit{e.Tenant, in.T, when[rev]})
			}
		case !granted[Token{lock, e.Rev}]:
			strays[e.Rev], wasStray[e.Rev] = when[rev], true
		default:
			res.Violations = append(res.Violations, fmt.Sprintf("%s: token %d (tenant %s, lease %x) joined the "+
				"lock's line at revision %d (%s) without an admission: its tenant's admission line then %s",
				lock, e.Rev, e.Tenant, e.Lease, rev, c.at(when[rev]),
				describe(c.record.LineAt(AdmissionLine(lock, e.Tenant), rev))))
		}
	}
}

func admissionLines(lock string, tenants []string) []string {
	out := make([]string, len(tenants))
	for i, t := range tenants {
		out[i] = AdmissionLine(lock, t)
	}
	return out
}

// runExcuse names the faults that excuse a run of tenant's beyond share +
// 1 (see the top of this file) under way at some time in [from, to], ""
// for none. workers maps each tenant to its worker.
func (c *run) runExcuse(tenant string, workers map[string]string, from, to int64) string {
	var why []string
	for _, f := range c.faults {
		if f.To < from || to < f.From {
			continue
		}
		hit := len(f.Members) > 0
		for t, w := range workers {
			if t != tenant && slices.ContainsFunc(f.Procs, func(p string) bool { return strings.HasPrefix(p, w+"#") }) {
				hit = true
			}
		}
		if hit {
			why = append(why, fmt.Sprintf("#%d %s %s", f.Seq, f.Kind, f.Victim))
		}
	}
	return strings.Join(why, ", ")
}

// longestTransit is the longest time one of the other tenants' callers
// (not tenant's) took from admission to the lock's line, of those in
// transit at some time in [from, to].
func longestTransit(ts []transit, tenant string, from, to int64) int64 {
	var d int64
	for _, t := range ts {
		if t.tenant != tenant && t.from <= to && from <= t.to {
			d = max(d, t.to-t.from)
		}
	}
	return d
}
