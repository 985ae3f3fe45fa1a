package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"},
		{420 * time.Millisecond, "0.4s"},
		{9940 * time.Millisecond, "9.9s"},
		{42 * time.Second, "42s"},
		{2*time.Minute + 5*time.Second, "2m05s"},
		{3*time.Hour + 2*time.Minute + 59*time.Second, "3h02m"},
		{51 * time.Hour, "2d03h"},
	} {
		if got := shortDuration(tc.d); got != tc.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := ageText(12*time.Second, false); got != "≥12s" {
		t.Errorf("ageText of a bound = %q, want ≥12s", got)
	}
}

// entry is a line's entry for the tracker tests: token, state, place.
func entry(token int64, state string, place int) lsEntry {
	return lsEntry{Token: token, State: state, Place: place, Mode: "exclusive", Key: fmt.Sprintf("/a/.x/k%d", token)}
}

// describe is an event as the tracker tests compare it.
func describe(ev watchEvent) string {
	s := ev.Event
	if ev.Token != 0 {
		s += fmt.Sprintf(" %d", ev.Token)
	}
	for _, d := range []struct {
		name string
		v    *float64
	}{{"waited", ev.Waited}, {"held", ev.Held}} {
		if d.v != nil {
			mark := ""
			if !ev.Exact {
				mark = "≥"
			}
			s += fmt.Sprintf(" %s %s%gs", d.name, mark, *d.v)
		}
	}
	return s
}

// The tracker dates what it saw happen exactly, and what began before it
// watched, or while the watch was broken, as a bound.
func TestLineTracker(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tr := newLineTracker("/a")
	steps := []struct {
		at      int
		gap     string
		brokeAt int // with a gap: when the watch broke; 0 for unknown
		entries []lsEntry
		want    []string
		// how long each token has been in its state, as the FOR column
		// shows it, at this step's time
		elapsed map[int64]string
	}{
		{0, "", 0, []lsEntry{entry(5, stateHolding, 1), entry(6, stateWaiting, 2)},
			[]string{"watching", "holding 5", "waiting 6"},
			map[int64]string{5: "≥0.0s", 6: "≥0.0s"}},
		{2, "", 0, []lsEntry{entry(6, stateHolding, 1)},
			[]string{"left 5 held ≥2s", "granted 6 waited ≥2s"},
			map[int64]string{6: "0.0s"}},
		{3, "", 0, []lsEntry{entry(6, stateHolding, 1), entry(7, stateWaiting, 2)},
			[]string{"joined 7"},
			map[int64]string{6: "1.0s", 7: "0.0s"}},
		{5, "", 0, []lsEntry{entry(7, stateHolding, 1)},
			[]string{"left 6 held 3s", "granted 7 waited 2s"},
			map[int64]string{7: "0.0s"}},
		// Uncontended: joined and granted between two reads.
		{6, "", 0, []lsEntry{entry(7, stateHolding, 1), entry(9, stateHolding, 1)},
			[]string{"joined 9", "granted 9 waited 0s"},
			map[int64]string{9: "0.0s"}},
		// The watch broke at 8, after the read at 6: 7 left and 8 came
		// some time between 8 and 10.
		{10, "etcd compacted", 8, []lsEntry{entry(8, stateWaiting, 1), entry(9, stateHolding, 1)},
			[]string{"resync", "left 7 held ≥3s", "joined 8"},
			map[int64]string{8: "≥0.0s", 9: "4.0s"}},
		{12, "", 0, []lsEntry{entry(8, stateHolding, 1)},
			[]string{"left 9 held 6s", "granted 8 waited ≥2s"},
			map[int64]string{8: "0.0s"}},
		// Broken again, when is not known: what ended, ended after the
		// read at 12.
		{20, "lost the connection to etcd", 0, nil,
			[]string{"resync", "left 8 held ≥0s"},
			nil},
	}
	for _, st := range steps {
		r := lineRead{at: at(st.at), gap: st.gap, out: lsOutput{Entries: st.entries}}
		if st.brokeAt > 0 {
			r.brokeAt = at(st.brokeAt)
		}
		evs := tr.update(r)
		var got []string
		for _, ev := range evs {
			got = append(got, describe(ev))
			if ev.Name != "/a" || !ev.Time.Equal(at(st.at)) {
				t.Errorf("at %ds: event %+v: want name /a and the read's time", st.at, ev)
			}
		}
		if strings.Join(got, "; ") != strings.Join(st.want, "; ") {
			t.Errorf("at %ds: events %q, want %q", st.at, got, st.want)
		}
		for token, want := range st.elapsed {
			if got := ageText(tr.elapsed(token, at(st.at))); got != want {
				t.Errorf("at %ds: token %d for %s, want %s", st.at, token, got, want)
			}
		}
	}
	if len(tr.entries) != 0 {
		t.Errorf("the tracker still follows %d entries of an empty line", len(tr.entries))
	}
}

func TestLineTrackerYield(t *testing.T) {
	tr := newLineTracker("/a")
	t0 := time.Unix(1_700_000_000, 0)
	read := func(s int, es ...lsEntry) lineRead {
		return lineRead{at: t0.Add(time.Duration(s) * time.Second), out: lsOutput{Entries: es}}
	}
	tr.update(read(0, entry(5, stateHolding, 1)))
	asked := entry(5, stateHolding, 1)
	asked.YieldRequested, asked.YieldReason = true, "deploy 1.4"
	evs := tr.update(read(1, asked))
	if len(evs) != 1 || evs[0].Event != eventAsked || evs[0].Reason != "deploy 1.4" {
		t.Fatalf("events %+v, want one asked with the reason", evs)
	}
	if evs := tr.update(read(2, asked)); len(evs) != 0 {
		t.Errorf("asked again: %+v, want nothing new", evs)
	}
}

func TestEventLine(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 12, 0, 3, 250_000_000, time.UTC)
	waited, held := 3.5, 42.0
	n := 2
	for _, tc := range []struct {
		ev   watchEvent
		want string
	}{
		{watchEvent{Time: t0, Name: "/jobs/backup", Event: eventWatching, Entries: &n},
			"2025-05-01T12:00:03.250Z watching name=/jobs/backup entries=2"},
		{watchEvent{Time: t0, Event: eventGranted, Place: 1, Mode: "exclusive", Token: 12, Key: "/j/.x/k",
			Value: `db1/7 sh -c 'echo "hi"'`, Waited: &waited, Exact: true},
			`2025-05-01T12:00:03.250Z granted place=1 mode=exclusive token=12 waited=3.5s key=/j/.x/k ` +
				`value="db1/7 sh -c 'echo \"hi\"'"`},
		{watchEvent{Time: t0, Event: eventLeft, Place: 2, Mode: "permit", Limit: 3, Weight: 2, Token: 13, Key: "/j/.p/3/k@2",
			Value: "db1/8", Held: &held},
			`2025-05-01T12:00:03.250Z left place=2 mode="permit(3, weight 2)" token=13 held=≥42s key=/j/.p/3/k@2 value=db1/8`},
		{watchEvent{Time: t0, Event: "foreign", Token: 4, Key: "/j/694d", Value: ""},
			`2025-05-01T12:00:03.250Z foreign place=- mode=- token=4 key=/j/694d value=""`},
		{watchEvent{Time: t0, Event: eventResync, Reason: "etcd compacted its history"},
			`2025-05-01T12:00:03.250Z resync reason="etcd compacted its history"`},
	} {
		if got := eventLine(tc.ev); got != tc.want {
			t.Errorf("eventLine:\n got %s\nwant %s", got, tc.want)
		}
	}
}

// A frame fits the terminal: as wide, one line less than it is high, the
// times that are bounds explained.
func TestScreenLines(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tr := newLineTracker("/a")
	var entries []lsEntry
	for i := range 30 {
		e := entry(int64(10+i), stateWaiting, i+1)
		e.Value = "host/" + strings.Repeat("9", 40) + " ./deploy --everything"
		entries = append(entries, e)
	}
	entries[0].State = stateHolding
	tr.update(lineRead{at: t0, out: lsOutput{Name: "/a", Entries: entries}})
	line := &lsOutput{Name: "/a", Entries: entries}
	lines := screenLines(line, tr, t0.Add(3*time.Second), 70, 12, "")
	if len(lines) != 11 || !strings.HasPrefix(lines[10], "… ") {
		t.Fatalf("frame of %d lines for a terminal 12 high, want 11 ending with what was left out:\n%s",
			len(lines), strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[0], "/a: 1 holding, 29 waiting") || !strings.Contains(lines[3], "≥3.0s") {
		t.Errorf("frame:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 70 {
			t.Errorf("line %q is %d wide, the terminal 70", l, n)
		}
	}
	all := screenLines(line, tr, t0.Add(3*time.Second), 0, 0, "etcd: unreachable")
	if got := all[len(all)-1]; got != "etcd: unreachable" {
		t.Errorf("last line %q, want the status", got)
	}
	if !strings.Contains(strings.Join(all, "\n"), "≥: began before ls saw it") {
		t.Errorf("no note on ≥:\n%s", strings.Join(all, "\n"))
	}
}
