package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fairlock/fairlock/robustness/history"
)

// Hold is one hold of one lock that a worker reported, from its grant until
// the worker stopped using it (a LockAll grant is one Hold per lock).
type Hold struct {
	Proc   string
	Op     int64
	Lock   string
	Mode   string // history's: "x", "s", "p", "lead"
	Weight int
	Token  int64
	Start  int64  // the grant returned
	End    int64  // the worker stopped using it, or died
	Why    string // why it ended: "release", "done", "rotate", "killed", "stopped", ...
	Until  []Sample
}

// Sample is a HeldUntil the worker read at T.
type Sample struct{ T, Until int64 }

// until is the latest HeldUntil the holder had read by t: the hold was
// promised to last until then, so nobody may be granted before it.
func (h *Hold) until(t int64) int64 {
	var u int64
	for _, s := range h.Until {
		if s.T <= t {
			u = max(u, s.Until)
		}
	}
	return u
}

// Holds gathers the holds in recs (one process's records in order, or
// several processes' sorted by time). A hold whose end was never written
// ends at its process's death, or at its process's last record.
func Holds(recs []history.Record, procs *Procs) []*Hold {
	type key struct {
		proc string
		op   int64
	}
	open := map[key][]*Hold{}
	last := map[string]int64{}
	var all []*Hold
	for _, r := range recs {
		last[r.Proc] = max(last[r.Proc], r.T)
		k := key{r.Proc, r.Op}
		switch r.Kind {
		case history.Grant:
			locks, tokens := r.Locks, r.Tokens
			if len(locks) == 0 {
				locks, tokens = []string{r.Lock}, []int64{r.Token}
			}
			for i, l := range locks {
				h := &Hold{Proc: r.Proc, Op: r.Op, Lock: l, Mode: r.Mode, Weight: max(r.Weight, 1), Token: tokens[i],
					Start: r.T}
				if r.Until > 0 {
					h.Until = []Sample{{r.T, r.Until}}
				}
				open[k] = append(open[k], h)
				all = append(all, h)
			}
		case history.Until:
			if r.Until <= 0 {
				continue
			}
			for _, h := range open[k] {
				h.Until = append(h.Until, Sample{r.T, r.Until})
			}
		case history.End:
			for _, h := range open[k] {
				h.End, h.Why = r.T, r.Value
			}
			delete(open, k)
		}
	}
	for _, hs := range open {
		for _, h := range hs {
			if d := procs.Died(h.Proc); d != 0 && d >= h.Start {
				h.End, h.Why = d, "killed"
			} else {
				h.End, h.Why = last[h.Proc], "unended"
			}
		}
	}
	slices.SortFunc(all, func(a, b *Hold) int { return cmp.Compare(a.Start, b.Start) })
	return all
}

// Fits says whether holds may all be held at once on one lock.
type Fits func(holds []*Hold) bool

// One: a mutex or a leadership, one holder at a time.
func One(holds []*Hold) bool { return len(holds) <= 1 }

// ReadersOrOneWriter: an RW lock's shared holds together, an exclusive
// one alone.
func ReadersOrOneWriter(holds []*Hold) bool {
	return len(holds) <= 1 || !slices.ContainsFunc(holds, func(h *Hold) bool { return h.Mode != "s" })
}

// WithinLimit: permits whose weights fit in limit.
func WithinLimit(limit int) Fits {
	return func(holds []*Hold) bool {
		sum := 0
		for _, h := range holds {
			sum += h.Weight
		}
		return sum <= limit
	}
}

// Overlap is two holds of one lock at once that fits forbids.
type Overlap struct {
	Earlier, Later *Hold
	Dur            int64  // ns they were both held
	Excuse         string // "" for a violation
}

// Exclusion sweeps the holds of one lock (sorted by start): at each grant,
// the holds still in use must fit with it, less those excused. A hold is
// excused once its holder's HeldUntil has passed while the holder was
// paused or cut off: fairlock promised nothing past HeldUntil, and a
// process that cannot run or hear from etcd cannot stop in time; that is
// what fencing tokens are for. Any other overlap is a violation.
func Exclusion(holds []*Hold, fits Fits, procs *Procs) (overlaps []Overlap) {
	for i, h := range holds {
		var kept, all []*Hold
		for _, o := range holds[:i] {
			if o.End <= h.Start || (o.Proc == h.Proc && o.Op == h.Op) {
				continue
			}
			all = append(all, o)
			if excuse(o, h.Start, procs) == "" {
				kept = append(kept, o)
			}
		}
		if len(all) == 0 || fits(append(slices.Clone(all), h)) {
			continue
		}
		bad := !fits(append(kept, h))
		for _, o := range all {
			ov := Overlap{Earlier: o, Later: h, Dur: min(o.End, h.End) - h.Start, Excuse: excuse(o, h.Start, procs)}
			if ov.Excuse != "" || bad { // a hold kept that fits with h is no overlap
				overlaps = append(overlaps, ov)
			}
		}
	}
	return overlaps
}

// excuse says why hold o may still be in use at t by a later grant, "" when
// it may not.
func excuse(o *Hold, t int64, procs *Procs) string {
	u := o.until(t)
	if u == 0 || t < u {
		return ""
	}
	var why []string
	if procs.Paused(o.Proc, o.Start, t) {
		why = append(why, "paused")
	}
	if procs.Cut(o.Proc, o.Start, t) {
		why = append(why, "cut off")
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s past its HeldUntil", o.Proc, strings.Join(why, " and "))
}
