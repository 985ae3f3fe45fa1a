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
		if !met {
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

	var fu, eu *cellResult
	for i, r := range res.Uncontended {
		switch r.Contender {
		case nameFair:
			fu = &res.Uncontended[i]
		case nameEtcdMutex:
			eu = &res.Uncontended[i]
		}
	}
	if fu != nil && eu != nil && fu.Err == "" && eu.Err == "" {
		add("uncontended Lock+Unlock p50: fairmutex ≤ concurrency.Mutex",
			fmt.Sprintf("%s vs %s", fmtMs(fu.CycleP50, fu.Grants), fmtMs(eu.CycleP50, eu.Grants)), fu.CycleP50 <= eu.CycleP50)
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
	return t
}
