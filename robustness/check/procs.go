package check

import (
	"slices"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/schedule"
)

// Window is a stretch of time, ns since the epoch.
type Window struct{ From, To int64 }

func (w Window) overlaps(from, to int64) bool { return w.From <= to && from <= w.To }

// Procs is what the faults did to each worker process.
type Procs struct {
	paused map[string][]Window // SIGSTOP (the process, or its whole tree)
	cut    map[string][]Window // its links to the cluster cut, either way
	died   map[string]int64    // SIGKILL
	exec   map[string][]Window // a cut-exec on the process
}

// NewProcs reads the faults' victims.
func NewProcs(faults []history.Fault) *Procs {
	p := &Procs{paused: map[string][]Window{}, cut: map[string][]Window{}, died: map[string]int64{},
		exec: map[string][]Window{}}
	for _, f := range faults {
		w := Window{f.From, f.To}
		for _, proc := range f.Procs {
			switch schedule.Kind(f.Kind) {
			case schedule.PauseClient:
				p.paused[proc] = append(p.paused[proc], w)
			case schedule.IsolateClient, schedule.OneWayClient:
				p.cut[proc] = append(p.cut[proc], w)
			case schedule.CutExec:
				p.cut[proc] = append(p.cut[proc], w)
				p.exec[proc] = append(p.exec[proc], w)
			case schedule.KillHolder, schedule.KillWaiter:
				if _, ok := p.died[proc]; !ok {
					p.died[proc] = f.From
				}
			}
		}
	}
	return p
}

// Paused reports whether proc was paused at some time in [from, to].
func (p *Procs) Paused(proc string, from, to int64) bool { return within(p.paused[proc], from, to) }

// Cut reports whether proc's links were cut at some time in [from, to].
func (p *Procs) Cut(proc string, from, to int64) bool { return within(p.cut[proc], from, to) }

// Died is when proc was killed, 0 if it was not.
func (p *Procs) Died(proc string) int64 { return p.died[proc] }

func within(ws []Window, from, to int64) bool {
	return slices.ContainsFunc(ws, func(w Window) bool { return w.overlaps(from, to) })
}
