package check

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/fairlock/fairlock/robustness/history"
)

// Record is etcd's record of the run: every line's entries after each
// revision that changed it, rebuilt from the runner's watches.
type Record struct {
	lines map[string][]Snapshot // by lock, in revision order
	final map[string]string     // every other key's last value ("" once deleted)
	last  int64
	// mismatch: permit entries whose key claims another limit than the
	// semaphore's (by lock).
	mismatch map[string][]string
}

// Snapshot is a lock's line as it stood from revision Rev on.
type Snapshot struct {
	Rev  int64
	T    int64   // when a watch first delivered the revision
	Line []Entry // oldest first
}

// MergeEvents merges the streams of several watches of the same keys (the
// runner watches through every member, so that a paused member's stream
// does not delay the record): one event per revision and key, stamped with
// the earliest delivery, in revision order.
func MergeEvents(streams ...[]history.Event) []history.Event {
	type id struct {
		rev int64
		key string
	}
	seen := map[id]int{}
	var out []history.Event
	for _, s := range streams {
		for _, e := range s {
			k := id{e.Rev, e.Key}
			if i, ok := seen[k]; ok {
				out[i].T = min(out[i].T, e.T)
				continue
			}
			seen[k] = len(out)
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return cmp.Or(cmp.Compare(out[i].Rev, out[j].Rev), cmp.Compare(out[i].Key, out[j].Key)) < 0
	})
	return out
}

// NewRecord replays events (merged, in revision order). Entries present
// before the first event are unknown to it: the runner starts watching
// before any worker starts. limits are the semaphores' limits by lock: a
// permit's turn is judged by the semaphore's limit, not the one its key
// claims.
func NewRecord(events []history.Event, limits map[string]int) *Record {
	r := &Record{lines: map[string][]Snapshot{}, final: map[string]string{}, mismatch: map[string][]string{}}
	cur := map[string]map[string]Entry{} // lock → key → entry
	for i := 0; i < len(events); {
		rev, t := events[i].Rev, events[i].T
		changed := map[string]bool{}
		for ; i < len(events) && events[i].Rev == rev; i++ {
			e := events[i]
			t = min(t, e.T)
			en, ok := ParseKey(e.Key)
			if !ok {
				r.final[e.Key] = e.Value
				if e.Delete {
					r.final[e.Key] = ""
				}
				continue
			}
			if cur[en.Lock] == nil {
				cur[en.Lock] = map[string]Entry{}
			}
			changed[en.Lock] = true
			if e.Delete {
				delete(cur[en.Lock], e.Key)
				continue
			}
			en.Rev, en.Lease, en.Value = e.Create, e.Lease, e.Value
			if l := limits[en.Lock]; en.Kind == Permit && l != 0 && en.Limit != l {
				r.mismatch[en.Lock] = append(r.mismatch[en.Lock], fmt.Sprintf("revision %d: permit %s claims limit %d, "+
					"the semaphore's is %d", rev, e.Key, en.Limit, l))
				en.Limit = l
			}
			cur[en.Lock][e.Key] = en
		}
		for lock := range changed {
			line := make([]Entry, 0, len(cur[lock]))
			for _, en := range cur[lock] {
				line = append(line, en)
			}
			slices.SortFunc(line, func(a, b Entry) int { return cmp.Compare(a.Rev, b.Rev) })
			r.lines[lock] = append(r.lines[lock], Snapshot{Rev: rev, T: t, Line: line})
		}
		r.last = rev
	}
	return r
}

// Snapshots is every state of lock's line, in revision order.
func (r *Record) Snapshots(lock string) []Snapshot { return r.lines[lock] }

// LineAt is lock's line as it stood at revision rev.
func (r *Record) LineAt(lock string, rev int64) []Entry {
	ss := r.lines[lock]
	i := sort.Search(len(ss), func(i int) bool { return ss[i].Rev > rev })
	if i == 0 {
		return nil
	}
	return ss[i-1].Line
}

// Final is the last value of a key that is no entry ("" when deleted or
// never written).
func (r *Record) Final(key string) string { return r.final[key] }

// LastRev is the newest revision in the record.
func (r *Record) LastRev() int64 { return r.last }

// Left is what the record shows still in the lines at its end.
func (r *Record) Left() []Entry {
	var out []Entry
	for _, ss := range r.lines {
		out = append(out, ss[len(ss)-1].Line...)
	}
	return out
}

// Letin is when, by etcd's record, an entry's turn came: the first
// revision at which it was entitled, and when that revision was seen.
type Letin struct {
	Rev, T int64
}

// Letins is when each entry (by lock and create revision) was let in.
func (r *Record) Letins() map[Token]Letin {
	out := map[Token]Letin{}
	for lock, ss := range r.lines {
		for _, s := range ss {
			for i, ok := range Entitled(s.Line) {
				tk := Token{lock, s.Line[i].Rev}
				if _, seen := out[tk]; ok && !seen {
					out[tk] = Letin{s.Rev, s.T}
				}
			}
		}
	}
	return out
}

// Token names an entry: its lock and create revision.
type Token struct {
	Lock string
	Rev  int64
}

// entitledAt reports whether the entry with create revision tok held its
// turn in lock's line at rev, and whether it was there at all.
func (r *Record) entitledAt(lock string, tok, rev int64) (entitled, present bool) {
	line := r.LineAt(lock, rev)
	ent := Entitled(line)
	for i, e := range line {
		if e.Rev == tok {
			return ent[i], true
		}
	}
	return false, false
}
