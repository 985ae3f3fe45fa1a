package main

import (
	"cmp"
	"slices"
	"time"
)

// lineTracker follows a line through the reads of ls --watch: when each
// entry was seen to join, or to be granted, and whether that time is
// exact or only a bound (the entry began before ls saw it). etcd keeps no
// timestamps, so this is all ls can know.
type lineTracker struct {
	name    string
	entries map[int64]*tracked // by token: keys are reused, tokens never
	last    time.Time          // when the latest read was made
	started bool
}

// tracked is what a tracker knows of one entry.
type tracked struct {
	e     lsEntry   // as of the latest read
	since time.Time // joined, or granted once holding
	exact bool      // since is when it happened; else it happened before
}

// Events of ls --watch, in the order they are reported within one read.
const (
	eventWatching = "watching" // the first read: how many entries
	eventResync   = "resync"   // a read after a broken watch: what changed meanwhile is dated by this read
	eventLeft     = "left"
	eventJoined   = "joined"
	eventGranted  = "granted"
	eventAsked    = "asked" // a holder asked to yield
	// At the first read each entry is reported by its state: holding,
	// waiting or foreign.
)

// watchEvent is one event of ls --watch, a line of its log; its JSON
// field names are stable.
type watchEvent struct {
	Time    time.Time `json:"time"`
	Name    string    `json:"name"`
	Event   string    `json:"event"`
	Place   int       `json:"place,omitempty"`
	State   string    `json:"state,omitempty"`
	Mode    string    `json:"mode,omitempty"`
	Limit   int       `json:"limit,omitempty"`
	Weight  int       `json:"weight,omitempty"`
	Token   int64     `json:"token,omitempty"`
	Key     string    `json:"key,omitempty"`
	Lease   string    `json:"lease,omitempty"`
	Value   string    `json:"value,omitempty"`
	Wedges  bool      `json:"wedges,omitempty"` // no lease: it blocks the line until removed
	Waited  *float64  `json:"waited,omitempty"` // seconds
	Held    *float64  `json:"held,omitempty"`   // seconds
	Exact   bool      `json:"exact"`            // false: waited or held is a lower bound
	Entries *int      `json:"entries,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

func newLineTracker(name string) *lineTracker {
	return &lineTracker{name: name, entries: map[int64]*tracked{}}
}

// update takes a read of the line and returns what changed since the
// previous one. When the watch ran unbroken since then (r.gap is ""), a
// change happened at r.at: the watch event that prompted the read.
// Otherwise r.gap says why the watch broke, and a change happened
// somewhere between r.brokeAt (or the previous read) and r.at: what began
// then is dated r.at and what ended then is dated r.brokeAt, both marked
// as bounds, so that no time shown is ever more than the truth.
func (t *lineTracker) update(r lineRead) []watchEvent {
	entries, now, gap := r.out.Entries, r.at, r.gap
	var evs []watchEvent
	if !t.started {
		n := len(entries)
		evs = append(evs, watchEvent{Time: now, Name: t.name, Event: eventWatching, Entries: &n})
		for _, e := range entries {
			t.entries[e.Token] = &tracked{e: e, since: now}
			evs = append(evs, t.event(e.State, e, now))
		}
		t.started, t.last = true, now
		return evs
	}
	exact, end := gap == "", now
	if !exact {
		end = t.last
		if r.brokeAt.After(end) && r.brokeAt.Before(now) {
			end = r.brokeAt
		}
		evs = append(evs, watchEvent{Time: now, Name: t.name, Event: eventResync, Reason: gap})
	}
	present := make(map[int64]bool, len(entries))
	for _, e := range entries {
		present[e.Token] = true
	}
	for _, e := range sortedTracked(t.entries) {
		if present[e.e.Token] {
			continue
		}
		ev := t.event(eventLeft, e.e, now)
		e.took(&ev, end, exact)
		evs = append(evs, ev)
		delete(t.entries, e.e.Token)
	}
	for _, e := range entries {
		tr, known := t.entries[e.Token]
		if !known {
			tr = &tracked{e: e, since: now, exact: exact}
			t.entries[e.Token] = tr
			evs = append(evs, t.event(eventJoined, e, now))
			if e.State == stateHolding {
				ev := t.event(eventGranted, e, now)
				waited := 0.0
				ev.Waited, ev.Exact = &waited, exact
				evs = append(evs, ev)
			}
		} else if e.State == stateHolding && tr.e.State != stateHolding {
			ev := t.event(eventGranted, e, now)
			tr.took(&ev, end, exact)
			evs = append(evs, ev)
			tr.since, tr.exact = now, exact
		}
		if e.YieldRequested && (!known || !tr.e.YieldRequested) {
			ev := t.event(eventAsked, e, now)
			ev.Reason = e.YieldReason
			evs = append(evs, ev)
		}
		tr.e = e
	}
	t.last = now
	return evs
}

// took sets ev's waited or held: how long tr was in its state up to end.
func (tr *tracked) took(ev *watchEvent, end time.Time, exact bool) {
	d := end.Sub(tr.since).Seconds()
	if tr.e.State == stateHolding {
		ev.Held = &d
	} else {
		ev.Waited = &d
	}
	ev.Exact = exact && tr.exact
}

// elapsed returns how long the entry of token has been in its state at
// now, and whether exactly (else at least that long).
func (t *lineTracker) elapsed(token int64, now time.Time) (time.Duration, bool) {
	tr, ok := t.entries[token]
	if !ok {
		return 0, false
	}
	return max(now.Sub(tr.since), 0), tr.exact
}

// event is an event of kind about e.
func (t *lineTracker) event(kind string, e lsEntry, now time.Time) watchEvent {
	return watchEvent{
		Time: now, Name: t.name, Event: kind, Place: e.Place, State: e.State, Mode: e.Mode,
		Limit: e.Limit, Weight: e.Weight, Token: e.Token, Key: e.Key, Lease: e.Lease, Value: e.Value, Wedges: e.Wedges,
	}
}

// sortedTracked returns the tracked entries oldest first, so that events
// come in line order.
func sortedTracked(m map[int64]*tracked) []*tracked {
	out := make([]*tracked, 0, len(m))
	for _, tr := range m {
		out = append(out, tr)
	}
	slices.SortFunc(out, func(a, b *tracked) int { return cmp.Compare(a.e.Token, b.e.Token) })
	return out
}
