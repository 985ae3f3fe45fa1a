package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Control sequences of the screen view (VT100, which every terminal
// emulator speaks): the cursor to the top left, clear the rest of the line,
// clear the rest of the screen.
const (
	cursorHome  = "\x1b[H"
	clearLine   = "\x1b[K"
	clearBelow  = "\x1b[J"
	clearScreen = "\x1b[2J"
	boundMark   = "≥"
	clockLayout = "15:04:05"
)

// screenView redraws the line in place on a terminal, as top(1) does: each
// frame overwrites the last, and the last stays on screen when ls exits.
type screenView struct {
	out     io.Writer
	tr      *lineTracker
	wide    bool
	line    *lsOutput // the latest read; nil before the first
	asOf    time.Time // when it was read
	status  string    // why the line may be stale; "" while the watch runs
	started bool      // the screen was cleared
}

func newScreenView(out io.Writer, tr *lineTracker, wide bool) *screenView {
	return &screenView{out: out, tr: tr, wide: wide}
}

func (v *screenView) show(r lineRead, _ []watchEvent) error {
	v.line, v.asOf, v.status = &r.out, r.at, ""
	return v.redraw(time.Now())
}

func (v *screenView) failed(err error) {
	v.status = fmt.Sprintf("etcd: %s; watching again", oneLine(libMessage(err)))
	if v.line != nil {
		v.status += " (the line as of " + v.asOf.Format(clockLayout) + ")"
	}
	_ = v.redraw(time.Now()) // a write error shows at the next redraw
}

func (v *screenView) redraw(now time.Time) error {
	if v.line == nil && v.status == "" {
		return nil
	}
	cols, rows, _ := terminalSize(os.Stdout)
	if v.wide {
		cols = 0
	}
	var b strings.Builder
	if !v.started {
		b.WriteString(cursorHome + clearScreen)
		v.started = true
	}
	b.WriteString(cursorHome)
	for _, l := range screenLines(v.line, v.tr, now, cols, rows, v.status) {
		b.WriteString(l + clearLine + "\n")
	}
	b.WriteString(clearBelow)
	_, err := io.WriteString(v.out, b.String())
	return err
}

// screenLines is a frame of the screen view: a title, the line's table
// fit to width (0: rows whole), what the times marked ≥ mean, entries that
// wedge the line, and status when the line may be stale. With height > 0
// it keeps to height-1 lines, so that the last newline does not scroll
// the frame.
func screenLines(line *lsOutput, tr *lineTracker, now time.Time, width, height int, status string) []string {
	var lines []string
	if line != nil {
		holding, waiting := 0, 0
		for _, e := range line.Entries {
			switch e.State {
			case stateHolding:
				holding++
			case stateWaiting, stateAdmission:
				waiting++
			}
		}
		lines = append(lines, fmt.Sprintf("%s: %d holding, %d waiting (%s; Ctrl-C to stop)",
			printable(line.Name), holding, waiting, now.Format(clockLayout)), "")
		bound := false
		colFor := column[lsEntry]{header: "FOR", cell: func(e lsEntry) string {
			d, exact := tr.elapsed(e.Token, now)
			bound = bound || !exact
			return ageText(d, exact)
		}}
		var table strings.Builder
		if len(line.Entries) == 0 {
			table.WriteString("nobody holds or waits\n")
		} else {
			cols := withTenants(line.Entries, colPlace, colState, colFor, colMode, colToken, colLease, colKey, colValue)
			_ = writeTable(&table, cols, line.Entries, width) // a Builder takes every write
		}
		for _, c := range line.Capacity {
			fmt.Fprintf(&table, "permits of limit %d: %d of %d in use\n", c.Limit, c.InUse, c.Limit)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")...)
		var notes []string
		if bound {
			notes = append(notes, boundMark+": began before ls saw it, so at least this long")
		}
		for _, e := range line.Entries {
			if e.Wedges {
				notes = append(notes, wedgeNotice(line.Name, e))
			}
		}
		if len(notes) > 0 {
			lines = append(append(lines, ""), notes...)
		}
	}
	if status != "" {
		lines = append(lines, "", status)
	}
	if height > 1 && len(lines) > height-1 {
		more := len(lines) - (height - 2)
		lines = append(lines[:height-2],
			fmt.Sprintf("… %d more lines: a taller terminal, or fairlock ls, shows them", more))
	}
	return lines
}

// ageText is a time in the FOR column or an event: short, with the bound
// mark when it is only a lower bound.
func ageText(d time.Duration, exact bool) string {
	if exact {
		return shortDuration(d)
	}
	return boundMark + shortDuration(d)
}

// shortDuration is d in at most two units: "0.4s", "9.9s", "42s",
// "2m05s", "3h02m", "2d03h".
func shortDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// logView prints one line per event, for a log or a script: text, or a
// JSON object a line. Failures go to stderr, each once while they repeat.
type logView struct {
	out, errs io.Writer
	enc       *json.Encoder // nil: text
	failure   string        // the last failure told, until a read succeeds
}

func newLogView(out, errs io.Writer, asJSON bool) *logView {
	v := &logView{out: out, errs: errs}
	if asJSON {
		v.enc = json.NewEncoder(out)
		v.enc.SetEscapeHTML(false) // values are command lines
	}
	return v
}

func (v *logView) show(_ lineRead, evs []watchEvent) error {
	v.failure = ""
	for _, ev := range evs {
		if ev.Wedges && (ev.Event == eventJoined || ev.Event == ev.State) {
			fmt.Fprintf(v.errs, "fairlock: %s\n", wedgeNotice(ev.Name, lsEntry{Key: ev.Key, Token: ev.Token}))
		}
		var err error
		if v.enc != nil {
			err = v.enc.Encode(ev)
		} else {
			_, err = io.WriteString(v.out, eventLine(ev)+"\n")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *logView) failed(err error) {
	if msg := oneLine(libMessage(err)); msg != v.failure {
		fmt.Fprintf(v.errs, "fairlock: ls --watch: %s; watching again\n", msg)
		v.failure = msg
	}
}

func (v *logView) redraw(time.Time) error { return nil }

// eventLine is ev as a line of the text log: the time, the event, and
// key=value fields (logfmt), the value last since it is the longest.
func eventLine(ev watchEvent) string {
	var b strings.Builder
	b.WriteString(ev.Time.Format("2006-01-02T15:04:05.000Z07:00") + " " + ev.Event)
	field := func(k, v string) { b.WriteString(" " + k + "=" + logfmtValue(v)) }
	seconds := func(k string, s *float64) {
		if s != nil {
			field(k, ageText(time.Duration(*s*float64(time.Second)), ev.Exact))
		}
	}
	switch ev.Event {
	case eventWatching:
		field("name", ev.Name)
		if ev.Entries != nil {
			field("entries", strconv.Itoa(*ev.Entries))
		}
	case eventResync:
		field("reason", ev.Reason)
	default:
		field("place", placeText(lsEntry{Place: ev.Place}))
		field("mode", modeName(ev.Mode, ev.Limit, ev.Weight))
		field("token", strconv.FormatInt(ev.Token, 10))
		seconds("waited", ev.Waited)
		seconds("held", ev.Held)
		if ev.Event == eventAsked {
			field("reason", ev.Reason)
		}
		field("key", ev.Key)
		field("value", ev.Value)
	}
	return b.String()
}

// logfmtValue quotes v when a logfmt reader would not take it bare.
func logfmtValue(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r == 0x7f }) < 0 {
		return v
	}
	return strconv.Quote(v)
}
