package main

import (
	"fmt"
	"strings"
	"time"
)

// targetTable checks the figures the project promises against what was
// measured; a target whose cells were not run is left out.
func targetTable(res *results) table {
	t := table{title: "Targets", header: []string{"target", "", "measured", "met"}}
	add := func(target, measured string, met bool) {
		verdict := "yes"
		switch {
		case strings.HasPrefix(measured, "pending"):
			verdict = "pending"
		case !met:
			verdict = "NO"
		}
		t.rows = append(t.rows, []string{target, "", measured, verdict})
	}
	cell := func(cells []cellResult, name string, n, pct int) (cellResult, bool) {
		for _, r := range cells {
			if r.Contender == name && r.N == n && r.ReadPct == pct && r.Err == "" {
				return r, true
			}
		}
		return cellResult{}, false
	}

	for _, goal := range []struct {
		n     int
		times float64
	}{{2, 20}, {8, 8}, {32, 2.5}} {
		f, ok1 := cell(res.Mutex, nameFair, goal.n, 0)
		e, ok2 := cell(res.Mutex, nameEtcdMutex, goal.n, 0)
		if ok1 && ok2 && e.PerSec > 0 {
			add(fmt.Sprintf("n=%d: fairmutex ≥ %g× concurrency.Mutex acq/s", goal.n, goal.times),
				fmt.Sprintf("%s×", fmtRatio(f.PerSec/e.PerSec)), f.PerSec >= goal.times*e.PerSec)
		}
		h, ok3 := cell(res.Mutex, nameHerd, goal.n, 0)
		if ok1 && ok3 {
			add(fmt.Sprintf("n=%d: fairmutex ≥ herd acq/s", goal.n),
				fmt.Sprintf("%s vs %s", fmtRate(f.PerSec), fmtRate(h.PerSec)), f.PerSec >= h.PerSec)
		}
	}

	var overtakes, handoff, calls, events []string
	overOK, handOK, callsOK, eventsOK := true, true, true, true
	seen := false
	for _, r := range res.Mutex {
		if r.Contender != nameFair || r.Err != "" {
			continue
		}
		seen = true
		overtakes = append(overtakes, fmt.Sprintf("%d:%d", r.N, r.Joined))
		overOK = overOK && r.Joined == 0
		if r.N < 2 {
			continue
		}
		handoff = append(handoff, fmt.Sprintf("%d:%s", r.N, fmtMs(r.HandoffP99, r.Handoffs)))
		handOK = handOK && r.Handoffs > 0 && r.HandoffP99 < 10*time.Millisecond
		calls = append(calls, fmt.Sprintf("%d:%.2f", r.N, r.Calls))
		callsOK = callsOK && r.Calls <= 4.5
		events = append(events, fmt.Sprintf("%d:%.2f", r.N, r.Events))
		eventsOK = eventsOK && r.Events <= 1.1
	}
	if seen {
		add("fairmutex: zero overtakes in line (n:total)", strings.Join(overtakes, " "), overOK)
	}
	if len(handoff) > 0 {
		add("fairmutex: handoff p99 < 10 ms (n:p99)", strings.Join(handoff, " "), handOK)
		add("fairmutex: ≤ 4.5 server calls per acquisition, n ≥ 2", strings.Join(calls, " "), callsOK)
		add("fairmutex: ≤ 1.1 watch events per acquisition, n ≥ 2", strings.Join(events, " "), eventsOK)
	}

	fu, okF := cell(res.Uncontended, nameFair, 1, 0)
	if eu, ok := cell(res.Uncontended, nameEtcdMutex, 1, 0); okF && ok {
		add("uncontended Lock+Unlock p50: fairmutex ≤ concurrency.Mutex",
			fmt.Sprintf("%s vs %s", fmtMs(fu.CycleP50, fu.Grants), fmtMs(eu.CycleP50, eu.Grants)), fu.CycleP50 <= eu.CycleP50)
	}
	if hu, ok := cell(res.Uncontended, nameFairHooks, 1, 0); okF && ok && fu.CycleP50 > 0 {
		ratio := ratioDur(hu.CycleP50, fu.CycleP50)
		add("uncontended Lock+Unlock p50 with every hook set: within 5 % of none",
			fmt.Sprintf("%s vs %s (%s×)", fmtMs(hu.CycleP50, hu.Grants), fmtMs(fu.CycleP50, fu.Grants), fmtRatio(ratio)), ratio <= 1.05)
	}
	for _, h := range res.History {
		if h.Kind == historyShort {
			continue // what compaction is for; shown, not promised
		}
		ratio := h.ratio()
		target := fmt.Sprintf("fairmutex after %d acquisitions by %s: ≥ 0.9× a fresh lock", h.Past, h.Kind)
		if ratio == 0 {
			add(target, "error", false)
			continue
		}
		add(target, fmt.Sprintf("%s×", fmtRatio(ratio)), ratio >= 0.9)
	}
	for _, r := range res.TryLock {
		if r.Contender == nameFair && r.Err == "" {
			add("fairmutex TryLock on a held lock: 1 call, revision unmoved",
				fmt.Sprintf("%.2f calls, %.2f revisions", r.Calls, r.RevMoves), r.Calls <= 1 && r.RevMoves == 0)
		}
	}

	var rw []string
	rwOK, rwSeen := true, false
	for _, r := range res.RW {
		if r.Contender != nameRW || r.ReadPct != 90 || r.N < 2 || r.Err != "" {
			continue
		}
		if a, ok := cell(res.RW, nameEtcdRW, r.N, 90); ok && a.PerSec > 0 {
			rwSeen = true
			ratio := r.PerSec / a.PerSec
			rw = append(rw, fmt.Sprintf("%d:%s×", r.N, fmtRatio(ratio)))
			rwOK = rwOK && ratio >= 5
		}
	}
	if rwSeen {
		add("rwmutex, 90 % reads: ≥ 5× recipes.RWMutex acq/s, n ≥ 2", strings.Join(rw, " "), rwOK)
	}
	primitiveTargets(res, add)
	scaleTargets(res, add)
	weightedTargets(res, add)
	tenantTargets(res, add)
	return t
}

// primitiveTargets checks the promises of the semaphore, the election,
// LockAll and the lease guard.
func primitiveTargets(res *results, add func(target, measured string, met bool)) {
	var overtakes, handoff, events []string
	overOK, handOK, eventsOK := true, true, true
	lo, hi := 0.0, 0.0
	for _, r := range res.Semaphore {
		if r.Contender != nameSem || r.Err != "" {
			continue
		}
		overtakes = append(overtakes, fmt.Sprintf("%d:%d", r.N, r.Joined))
		overOK = overOK && r.Joined == 0
		handoff = append(handoff, fmt.Sprintf("%d:%s", r.N, fmtMs(r.HandoffP99, r.Handoffs)))
		handOK = handOK && r.Handoffs > 0 && r.HandoffP99 < 10*time.Millisecond
		events = append(events, fmt.Sprintf("%d:%.2f", r.N, r.Events))
		if lo == 0 || r.Events < lo {
			lo = r.Events
		}
		hi = max(hi, r.Events)
		eventsOK = eventsOK && r.Events <= 2.5
	}
	if len(overtakes) > 0 {
		add("semaphore: zero overtakes in line (n:total)", strings.Join(overtakes, " "), overOK)
		add("semaphore: handoff p99 < 10 ms (n:p99)", strings.Join(handoff, " "), handOK)
		add("semaphore: ≤ 2.5 watch events per acquisition, flat in n (max ≤ 1.25× min)", strings.Join(events, " "),
			eventsOK && hi <= 1.25*lo)
	}
	for _, group := range []struct {
		name, what string
		cells      []cellResult
	}{{nameElection, "election under Rotate: terms in arrival order (round robin)", res.Election},
		{nameLockAll, "LockAll: FIFO in every line", res.Multi}} {
		var got []string
		ok, seen := true, false
		for _, r := range group.cells {
			if r.Contender != group.name || r.Err != "" {
				continue
			}
			seen = true
			label := fmt.Sprint(r.N)
			if r.K > 0 {
				label = fmt.Sprintf("%d/k=%d", r.N, r.K)
			}
			got = append(got, fmt.Sprintf("%s:%d", label, r.Joined))
			ok = ok && r.Joined == 0 && r.Violations == 0
		}
		if seen {
			add(group.what+": zero overtakes in line", strings.Join(got, " "), ok)
		}
	}
	if ka := res.KeepAlive; ka != nil && ka.Err == "" {
		extra := ka.Holding - ka.Idle
		if ka.Guarded {
			add("lease guard: ≤ 3 extra keep-alives per session per TTL (one per TTL/3)", fmt.Sprintf("%.2f", extra), extra <= 3.2)
		} else {
			add("lease guard: ≤ 3 extra keep-alives per session per TTL (one per TTL/3)", "pending: guard not wired into queue", false)
		}
	}
}
