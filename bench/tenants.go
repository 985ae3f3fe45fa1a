package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
)

// The tenants' row group: fairmutex with queue.WithTenant, the contenders
// split among tenants of unequal sizes, against the same contenders on a
// plain fairmutex (FIFO), in turns in the same run, at each hold of
// -tenant-holds.

// Names of the tenants contenders, used by -only and in the tables.
const (
	nameTenants = "fairmutex+tenants"
	nameFIFO    = "fairmutex-fifo"
)

// tenantGroup is one tenant of a mix: how many contenders it has, and its
// share.
type tenantGroup struct{ callers, share int }

// tenantMix is a tenants cell's contenders, tenant by tenant: contenders
// 0 to callers-1 are the first tenant's, and so on.
type tenantMix []tenantGroup

// parseMix reads a mix written as tenants joined by '+', each "callers"
// or "callers:share" (share 1 if not given): "6:2+2" is a tenant of six
// contenders and share 2 beside one of two contenders and share 1.
func parseMix(s string) (tenantMix, error) {
	var m tenantMix
	for _, f := range strings.Split(s, "+") {
		callers, share, found := strings.Cut(strings.TrimSpace(f), ":")
		g := tenantGroup{share: 1}
		var err error
		if g.callers, err = strconv.Atoi(callers); err != nil || g.callers < 1 {
			return nil, fmt.Errorf("mix %q: want at least 1 contender per tenant, got %q", s, callers)
		}
		if found {
			if g.share, err = strconv.Atoi(share); err != nil || g.share < 1 {
				return nil, fmt.Errorf("mix %q: want a share of at least 1, got %q", s, share)
			}
		}
		// Its contenders are all a tenant has to wait with: fewer than
		// its share cannot take it, and the spread would count that
		// against the lock.
		if g.callers < g.share {
			return nil, fmt.Errorf("mix %q: a tenant of share %d needs at least %d contenders, got %d",
				s, g.share, g.share, g.callers)
		}
		m = append(m, g)
	}
	if len(m) < 2 || len(m) > 26 {
		return nil, fmt.Errorf("mix %q: want 2 to 26 tenants", s)
	}
	return m, nil
}

// parseTenantFlags reads -tenant-mixes and -tenant-holds; an empty
// -tenant-mixes means no tenants cells.
func parseTenantFlags(mixes, holds string) ([]tenantMix, []time.Duration, error) {
	if strings.TrimSpace(mixes) == "" {
		return nil, nil, nil
	}
	var ms []tenantMix
	for _, s := range strings.Split(mixes, ",") {
		m, err := parseMix(s)
		if err != nil {
			return nil, nil, fmt.Errorf("-tenant-mixes: %w", err)
		}
		ms = append(ms, m)
	}
	var hs []time.Duration
	for _, s := range strings.Split(holds, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return nil, nil, fmt.Errorf("-tenant-holds: want durations of 0 or more, got %q", s)
		}
		hs = append(hs, d)
	}
	return ms, hs, nil
}

// String writes m as parseMix reads it, shares of 1 left out.
func (m tenantMix) String() string {
	var parts []string
	for _, g := range m {
		p := strconv.Itoa(g.callers)
		if g.share != 1 {
			p += ":" + strconv.Itoa(g.share)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "+")
}

// contenders is how many contenders the mix has in all.
func (m tenantMix) contenders() int {
	n := 0
	for _, g := range m {
		n += g.callers
	}
	return n
}

// tenantOf returns the tenant of contender i.
func (m tenantMix) tenantOf(i int) int {
	for t, g := range m {
		if i < g.callers {
			return t
		}
		i -= g.callers
	}
	panic(fmt.Sprintf("bench: contender %d beyond mix %s", i, m))
}

func (m tenantMix) shares() []int {
	out := make([]int, len(m))
	for t, g := range m {
		out[t] = g.share
	}
	return out
}

// small returns the tenants with the fewest contenders.
func (m tenantMix) small() []int {
	least := m[0].callers
	for _, g := range m {
		least = min(least, g.callers)
	}
	var out []int
	for t, g := range m {
		if g.callers == least {
			out = append(out, t)
		}
	}
	return out
}

// inLineBound is the most grants that a caller of tenant t should see go
// to others while it is in line, by the design (queue's "Tenants"): the
// lock's line holds at most share entries of each tenant, so each time
// one of t's callers is admitted it joins behind at most the other
// tenants' shares' worth of entries; a caller waits for its tenant's
// callers ahead of it (at most callers-1, FIFO within the tenant), through
// ceil(callers/share) admissions.
func (m tenantMix) inLineBound(t int) int {
	others := 0
	for u, g := range m {
		if u != t {
			others += g.share
		}
	}
	g := m[t]
	return (g.callers+g.share-1)/g.share*others + g.callers - 1
}

// tenantName is tenant t's name in the lock and in the tables: A, B, ...
func tenantName(t int) string { return string(rune('A' + t)) }

// tenanted is a locker whose contender belongs to a tenant of the cell's
// mix, for the book (the FIFO anchor's contenders too, without telling
// the lock).
type tenanted interface {
	tenant() int
}

// tenantMutex is a fairmutex of one of the mix's tenants, told to the lock
// (queue.WithTenant) or not (the FIFO anchor).
type tenantMutex struct {
	fairMutex
	t int
}

func (m tenantMutex) tenant() int { return m.t }

// token is the hold's fencing token: for a mutex, its place in the order
// of grants.
func (m tenantMutex) token() int64 { return m.m.Token() }

func openTenantMutex(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	t := spec.mix.tenantOf(spec.member)
	m, err := fairmutex.New(s, name, queue.WithTenant(tenantName(t), spec.mix[t].share))
	return tenantMutex{fairMutex{m}, t}, err
}

func openFIFOMutex(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	m, err := fairmutex.New(s, name)
	return tenantMutex{fairMutex{m}, spec.mix.tenantOf(spec.member)}, err
}

// shareGrant is one grant of a tenants cell: the tenant granted, whether
// every tenant of the cell was waiting then, and the hold's token, which
// orders the grants as the lock made them (byToken).
type shareGrant struct {
	tenant int
	all    bool
	token  int64
}

// byToken returns the grants in the lock's order, by token: the order in
// which the contenders' Lock calls returned and were booked is the lock's
// only as far as the machine ran them in time, and with eight contenders
// on two cores a grant is often booked after the next one.
func byToken(grants []shareGrant) []shareGrant {
	out := slices.Clone(grants)
	slices.SortStableFunc(out, func(a, b shareGrant) int { return cmp.Compare(a.token, b.token) })
	return out
}

// spread returns the worst deviation, in grants, of any tenant's grants
// from its entitlement, over every window of consecutive grants each made
// while all tenants waited: in a window of n grants a tenant is entitled
// to n × its share / the sum of shares. A grant made while some tenant
// did not wait belongs to no window, and splits the run it falls in.
//
// A tenant's grants minus its entitlement, counted from the start of a
// run, is d; over the window between two points of the run, the deviation
// is the difference of d at its ends, so the worst over a run's windows
// is the largest d of the run less the smallest (0 at the start counts).
func spread(grants []shareGrant, shares []int) float64 {
	total := 0
	for _, s := range shares {
		total += s
	}
	d := make([]float64, len(shares))
	lo := make([]float64, len(shares))
	hi := make([]float64, len(shares))
	worst := 0.0
	for _, g := range grants {
		if !g.all || g.tenant < 0 || g.tenant >= len(shares) {
			clear(d)
			clear(lo)
			clear(hi)
			continue
		}
		for t, s := range shares {
			d[t] -= float64(s) / float64(total)
			if t == g.tenant {
				d[t]++
			}
			lo[t], hi[t] = min(lo[t], d[t]), max(hi[t], d[t])
			worst = max(worst, hi[t]-lo[t])
		}
	}
	return worst
}

// tenantBook is a tenants cell's part of a recorder's book, kept under
// the recorder's mutex.
//
// It books every grant twice, for two readings of "a tenant waits":
//
//   - in line: one of its callers is known to etcd and not yet granted
//     (its first server call has returned: it has its place in the
//     admission line, or in the lock's line). The reading, and
//     what the engine alone answers for; but a tenant of one contender
//     stops waiting at each of its grants until its next Lock's first
//     call returns, so its windows are short. The figures read it by
//     etcd's revisions (inLineByRevision); the flag booked here, by the
//     machine's clock, serves where tokens are unknown.
//   - looping: one of its contenders is between the start of a Lock and
//     the return of the Unlock that ends that hold. Every contender loops
//     straight back, so this is the demand a client sees; a tenant whose
//     contender is late back in line (Unlock, then the admission, then
//     the join) loses turns, and this reading counts that too.
type tenantBook struct {
	looping []int // per tenant: contenders between a Lock's start and its Unlock's return
	// arrivals: every Lock call of the cell, for the reading of "in line"
	// by etcd's revisions (inLineByRevision).
	arrivals []*arrival
	// Every grant, in order, its all set by the reading: every tenant in
	// line, and every tenant looping.
	inLine, loop []shareGrant
	waits        [][]time.Duration // per tenant: every wait, Lock start to grant
	// inLineMax, per tenant: the most grants made to others while one of
	// its callers was in line (from its first server call's return to its
	// grant): what the design bounds (tenantMix.inLineBound).
	inLineMax []int
}

func newTenantBook(m tenantMix) *tenantBook {
	n := len(m)
	return &tenantBook{looping: make([]int, n), waits: make([][]time.Duration, n), inLineMax: make([]int, n)}
}

// grant books a's grant after waiting wait, with grantsInLine grants
// made to other callers while a was in line; pending are the callers
// still waiting, a no longer among them.
func (b *tenantBook) grant(a *arrival, wait time.Duration, grantsInLine int, pending map[int64]*arrival) {
	inLine := make([]bool, len(b.looping))
	inLine[a.tenant] = true
	for _, p := range pending {
		if p.tenant >= 0 && !p.joined.IsZero() {
			inLine[p.tenant] = true
		}
	}
	allLooping := true
	for _, n := range b.looping {
		allLooping = allLooping && n > 0
	}
	b.inLine = append(b.inLine, shareGrant{tenant: a.tenant, all: !slices.Contains(inLine, false), token: a.token})
	b.loop = append(b.loop, shareGrant{tenant: a.tenant, all: allLooping, token: a.token})
	b.waits[a.tenant] = append(b.waits[a.tenant], wait)
	b.inLineMax[a.tenant] = max(b.inLineMax[a.tenant], grantsInLine)
}

// revCaller is what the reading of "in line" by etcd's revisions needs of
// a Lock call: its tenant, the revision etcd first knew of it at (its
// first call's), its token (0: never granted) and the revision of its
// release (0: unknown).
type revCaller struct {
	tenant                int
	join, token, released int64
}

// inLineByRevision books the grants of tokens (booked, in any order) in
// the lock's order, each with whether every tenant had a caller in line
// at the revision the grant was made, by etcd's record rather than the
// machine's clock: a caller is in line from the revision of its first
// call to its grant. A mutex grants an entry at its creation or at its
// predecessor's release, whichever is later: the revision of the grant.
// So a caller that joins just after another tenant's caller was granted
// is not counted as waiting for that grant, however late its Lock's
// return was booked.
func inLineByRevision(callers []revCaller, tokens []int64, tenants int) []shareGrant {
	booked := map[int64]bool{}
	for _, t := range tokens {
		booked[t] = true
	}
	var granted []revCaller
	for _, c := range callers {
		if c.token > 0 && booked[c.token] {
			granted = append(granted, c)
		}
	}
	slices.SortFunc(granted, func(a, b revCaller) int { return cmp.Compare(a.token, b.token) })
	out := make([]shareGrant, len(granted))
	var released int64
	for i, g := range granted {
		at := max(g.token, released)
		released = g.released
		in := make([]bool, tenants)
		for _, c := range callers {
			if c.tenant >= 0 && c.tenant < tenants && c.join > 0 && c.join <= at && (c.token == 0 || c.token >= g.token) {
				in[c.tenant] = true
			}
		}
		out[i] = shareGrant{tenant: g.tenant, all: !slices.Contains(in, false), token: g.token}
	}
	return out
}

// revCallers returns what inLineByRevision needs of the book's arrivals.
func (b *tenantBook) revCallers() []revCaller {
	out := make([]revCaller, len(b.arrivals))
	for i, a := range b.arrivals {
		out[i] = revCaller{tenant: a.tenant, join: a.joinRev, token: a.token, released: a.releaseRev}
	}
	return out
}

// tenantFigures are a tenants cell's figures over all its slices.
type tenantFigures struct {
	Mix    tenantMix
	Hold   time.Duration
	Grants []int // per tenant
	// The spread, the worst of any slice, and the grants made in windows
	// (while every tenant waited), for either reading of "waits" (see
	// tenantBook): every tenant in line, every tenant looping.
	Spread, SpreadLoop       float64
	InWindows, InWindowsLoop int
	// Of the tenants with the fewest contenders: the median and the
	// longest wait of their callers, and the most grants to others while
	// one was in line, against the design's bound.
	SmallWaitP50   time.Duration
	SmallWaitMax   time.Duration
	SmallInLineMax int
	SmallBound     int
	LeftKeys       int // keys left under a slice's lock once its contenders had returned, the most of any slice
}

// summarizeTenants merges the tenant books of a cell's slices.
func summarizeTenants(spec cellSpec, cellSlices []slice) *tenantFigures {
	f := &tenantFigures{Mix: spec.mix, Hold: spec.hold, Grants: make([]int, len(spec.mix))}
	small := spec.mix.small()
	for _, t := range small {
		f.SmallBound = max(f.SmallBound, spec.mix.inLineBound(t))
	}
	var waits []time.Duration
	for _, sl := range cellSlices {
		f.LeftKeys = max(f.LeftKeys, sl.leftKeys)
		r := sl.rec
		r.mu.Lock()
		b := r.tenants
		tokens := make([]int64, len(b.inLine))
		for i, g := range b.inLine {
			tokens[i] = g.token
		}
		inLine := b.inLine // as booked, where tokens are unknown
		if !slices.Contains(tokens, 0) {
			inLine = inLineByRevision(b.revCallers(), tokens, len(spec.mix))
		}
		for i, g := range inLine {
			f.Grants[g.tenant]++
			f.InWindows += count(g.all)
			f.InWindowsLoop += count(b.loop[i].all)
		}
		f.Spread = max(f.Spread, spread(inLine, spec.mix.shares()))
		f.SpreadLoop = max(f.SpreadLoop, spread(byToken(b.loop), spec.mix.shares()))
		for _, t := range small {
			waits = append(waits, b.waits[t]...)
			f.SmallInLineMax = max(f.SmallInLineMax, b.inLineMax[t])
		}
		r.mu.Unlock()
	}
	f.SmallWaitP50, f.SmallWaitMax = percentile(waits, 50), percentile(waits, 100)
	return f
}

// count is 1 for true.
func count(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tenantSpecs returns the tenants cells, a pair (tenants, FIFO) per mix and
// hold, each pair to be run in turns.
func (rn *runner) tenantSpecs() [][]cellSpec {
	var out [][]cellSpec
	for _, hold := range rn.cfg.tenantHolds {
		for _, mix := range rn.cfg.tenantMixes {
			specs := rn.specs(kindTenants, cellSpec{n: mix.contenders(), mix: mix})
			for i := range specs {
				specs[i].hold = hold
			}
			out = append(out, specs)
		}
	}
	return out
}

// tenants measures the tenants row group into res.
func (rn *runner) tenants(ctx context.Context, res *results) error {
	if !rn.cfg.group("tenants") {
		return nil
	}
	for _, specs := range rn.tenantSpecs() {
		cells, err := rn.rows(ctx, specs)
		if err != nil {
			return err
		}
		for _, r := range cells {
			if f := r.Tenants; f != nil && f.LeftKeys > 0 {
				rn.failed = append(rn.failed, fmt.Sprintf("%s mix=%s hold=%v: %d keys left under the lock after the window",
					r.Contender, f.Mix, f.Hold, f.LeftKeys))
			}
		}
		res.Tenants = append(res.Tenants, cells...)
	}
	return nil
}

// tenantPairs returns the tenants cells of res with their FIFO anchors.
func tenantPairs(res *results) (pairs [][2]cellResult) {
	for _, r := range res.Tenants {
		if r.Contender != nameTenants || r.Tenants == nil {
			continue
		}
		for _, a := range res.Tenants {
			if a.Contender == nameFIFO && a.Tenants != nil && a.Tenants.Mix.String() == r.Tenants.Mix.String() &&
				a.Tenants.Hold == r.Tenants.Hold {
				pairs = append(pairs, [2]cellResult{r, a})
			}
		}
	}
	return pairs
}

// tenantsTable shows the tenants cells.
func tenantsTable(res *results) table {
	t := table{title: "Tenants: fairmutex with queue.WithTenant against the same contenders without tenants (FIFO)",
		header: []string{"contenders per tenant (:share)", "lock, hold", "acq/s", "handoff p50", "calls/acq", "events/acq",
			"grants per tenant", "spread, all in line (grants in windows)", "spread, all looping",
			"small tenant: wait p50", "small tenant: longest wait",
			"small tenant: grants to other callers while in line, max (bound)"}}
	left := 0
	for _, r := range res.Tenants {
		f := r.Tenants
		if f == nil {
			continue
		}
		label := fmt.Sprintf("%s, %v", r.Contender, f.Hold)
		if r.Err != "" {
			t.rows = append(t.rows, []string{f.Mix.String(), label, "error", "", "", "", "", "", "", "", "", ""})
			t.notes = append(t.notes, fmt.Sprintf("%s mix=%s hold=%v: %s", r.Contender, f.Mix, f.Hold, r.Err))
			continue
		}
		left += f.LeftKeys
		rate, waitP50, wait := fmtRate(r.PerSec), fmtMs(f.SmallWaitP50, r.Grants), fmtMs(f.SmallWaitMax, r.Grants)
		handoff, calls, events := fmtMs(r.HandoffP50, r.Handoffs), fmt.Sprintf("%.2f", r.Calls), fmt.Sprintf("%.2f", r.Events)
		for _, p := range tenantPairs(res) {
			if a := p[1]; p[0].Tenants == f && a.Err == "" {
				rate = withRatio(rate, a.PerSec > 0, r.PerSec/a.PerSec)
				handoff = withRatio(handoff, r.Handoffs > 0 && a.Handoffs > 0, ratioDur(r.HandoffP50, a.HandoffP50))
				calls = withRatio(calls, a.Calls > 0, r.Calls/a.Calls)
				events = withRatio(events, a.Events > 0, r.Events/a.Events)
				waitP50 = withRatio(waitP50, true, ratioDur(f.SmallWaitP50, a.Tenants.SmallWaitP50))
				wait = withRatio(wait, true, ratioDur(f.SmallWaitMax, a.Tenants.SmallWaitMax))
			}
		}
		grants := make([]string, len(f.Grants))
		for i, g := range f.Grants {
			grants[i] = strconv.Itoa(g)
		}
		bound := strconv.Itoa(f.SmallInLineMax)
		if r.Contender == nameTenants {
			bound += fmt.Sprintf(" (%d)", f.SmallBound)
		}
		t.rows = append(t.rows, []string{f.Mix.String(), label, rate, handoff, calls, events, strings.Join(grants, " : "),
			fmt.Sprintf("%.2f (%.0f %%)", f.Spread, 100*float64(f.InWindows)/float64(max(r.Grants, 1))),
			fmt.Sprintf("%.2f", f.SpreadLoop), waitP50, wait, bound})
		if f.LeftKeys > 0 {
			t.notes = append(t.notes, fmt.Sprintf("%s mix=%s hold=%v: %d keys left under the lock once every contender "+
				"had returned", r.Contender, f.Mix, f.Hold, f.LeftKeys))
		}
		if r.Violations > 0 {
			t.notes = append(t.notes, fmt.Sprintf("%s mix=%s hold=%v: %d grants broke mutual exclusion",
				r.Contender, f.Mix, f.Hold, r.Violations))
		}
	}
	t.notes = append(t.notes,
		"A mix names the tenants A, B, ... in order: \"6:2+2\" is A with six contenders and share 2, B with two and "+
			"share 1. Every contender is a client with its own session, on a fresh lock per slice, looping Lock, hold, "+
			"Unlock; "+nameFIFO+" is the same contenders on a plain fairmutex, run in turns with "+nameTenants+
			" (its (×) is against "+nameFIFO+").",
		"Spread: the worst deviation, in grants, of a tenant's grants from its entitlement (share / sum of shares) over "+
			"any window of consecutive grants made while every tenant waited, the grants in the lock's order (by token: "+
			"a loaded machine books the contenders' returns out of order). All in line: every tenant had a caller "+
			"known to etcd and not yet granted at the revision of the grant (from the revision its first server call "+
			"returned at to its own grant's: the creation of the granted entry, or its predecessor's release if later), "+
			"the issue's reading, shown with the share "+
			"of the grants made so; a tenant of one contender leaves the line at each grant, so its windows are short. "+
			"All looping: every tenant had a contender between the start of a Lock and the return of its Unlock (each "+
			"loops straight back), which also counts the turns a tenant loses while its contender is on its way back "+
			"(Unlock, admission, join). Perfect weighted round-robin gives 0.50 at shares 1:1, 0.67 at 2:1, 0.75 for four "+
			"tenants of share 1; FIFO's grows with the cell.",
		"Small tenant: the tenants with the fewest contenders. Longest wait: from the start of a Lock to its grant. "+
			"Grants to other callers while in line: made between the return of the caller's first server call (its place in "+
			"the admission line, or in the lock's line for FIFO) and its grant; the bound is the design's: its tenant's "+
			"callers ahead of it, and the other tenants' shares once per admission.",
		"After each slice, once every contender's Lock or Unlock had returned (the Locks cancelled at the window's end "+
			"included) and before the sessions closed, the keys under the lock's name were counted: "+
			fmt.Sprintf("%d left in all.", left))
	return t
}

// tenantTargets checks the targets for tenants: each tenant's share
// within one grant of its entitlement, the small tenant's wait bounded by
// the other shares, throughput at least 0.6× the plain mutex.
func tenantTargets(res *results, add func(target, measured string, met bool)) {
	holds := map[time.Duration]bool{}
	for _, p := range tenantPairs(res) {
		holds[p[0].Tenants.Hold] = true
	}
	for _, hold := range sortedDurations(holds) {
		var spreads, loops, bounds, rates []string
		spreadOK, loopOK, boundOK, rateOK := true, true, true, true
		for _, p := range tenantPairs(res) {
			r, a := p[0], p[1]
			f := r.Tenants
			if f.Hold != hold {
				continue
			}
			if r.Err != "" || a.Err != "" {
				spreads, loops = append(spreads, f.Mix.String()+":error"), append(loops, f.Mix.String()+":error")
				spreadOK, loopOK, boundOK, rateOK = false, false, false, false
				continue
			}
			// Shares that are not powers of two make thirds, which floats
			// round: a spread of exactly one grant may come out a hair above.
			spreads = append(spreads, fmt.Sprintf("%s:%.2f (%d grants)", f.Mix, f.Spread, f.InWindows))
			spreadOK = spreadOK && f.Spread <= 1+1e-9 && f.InWindows > 0
			loops = append(loops, fmt.Sprintf("%s:%.2f", f.Mix, f.SpreadLoop))
			loopOK = loopOK && f.SpreadLoop <= 1+1e-9 && f.InWindowsLoop > 0
			bounds = append(bounds, fmt.Sprintf("%s:%d/%d", f.Mix, f.SmallInLineMax, f.SmallBound))
			boundOK = boundOK && f.SmallInLineMax <= f.SmallBound
			if f.Mix.contenders() == 8 && a.PerSec > 0 {
				ratio := r.PerSec / a.PerSec
				rates = append(rates, fmt.Sprintf("%s:%s×", f.Mix, fmtRatio(ratio)))
				rateOK = rateOK && ratio >= 0.6
			}
		}
		add(fmt.Sprintf("tenants, hold %v: every tenant within 1 grant of its share, every window all have a caller in line "+
			"(mix:spread)", hold), strings.Join(spreads, " "), spreadOK)
		add(fmt.Sprintf("tenants, hold %v: the same, every window all loop (mix:spread)", hold),
			strings.Join(loops, " "), loopOK)
		if len(bounds) > 0 {
			add(fmt.Sprintf("tenants, hold %v: small tenant's grants to other callers while in line "+
				"≤ the shares' bound (mix:max/bound)", hold),
				strings.Join(bounds, " "), boundOK)
		}
		if len(rates) > 0 {
			add(fmt.Sprintf("tenants, hold %v, 8 contenders: ≥ 0.6× plain fairmutex acq/s", hold),
				strings.Join(rates, " "), rateOK)
		}
	}
}

// sortedDurations returns the keys of set, longest first.
func sortedDurations(set map[time.Duration]bool) []time.Duration {
	var out []time.Duration
	for d := range set {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	return out
}
