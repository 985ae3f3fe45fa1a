package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// table is one block of results, rendered aligned for the terminal and as
// Markdown for the README.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (t table) text(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n\n", t.title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(t.header, "\t")+"\t")
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
	for _, n := range t.notes {
		fmt.Fprintf(w, "  * %s\n", n)
	}
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	fmt.Fprintf(w, "| %s |\n|", strings.Join(t.header, " | "))
	for i := range t.header {
		if i < 2 {
			fmt.Fprint(w, "---|")
		} else {
			fmt.Fprint(w, "---:|")
		}
	}
	fmt.Fprintln(w)
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.notes {
			fmt.Fprintf(w, "* %s\n", n)
		}
	}
}

// tables lays out every result, figures of a non-anchor contender followed
// by their ratio to its anchor's in the same cell.
func tables(res *results) []table {
	var out []table
	if len(res.Mutex) > 0 {
		out = append(out, cellTable("Mutexes: contenders looping Lock, Unlock on one lock", "acq/s", res.Mutex))
	}
	for _, pct := range readShares(res.RW) {
		var cells []cellResult
		for _, r := range res.RW {
			if r.ReadPct == pct {
				cells = append(cells, r)
			}
		}
		out = append(out, cellTable(fmt.Sprintf("Read-write locks, %d %% reads (RLock, RUnlock) and %d %% writes", pct, 100-pct), "acq/s", cells))
	}
	if len(res.Semaphore) > 0 {
		out = append(out, cellTable(fmt.Sprintf("Semaphores, limit %d: contenders looping Acquire, Release", res.Semaphore[0].Limit), "acq/s", res.Semaphore))
	}
	if len(res.Weighted) > 0 {
		out = append(out, weightedTable(res))
	}
	if len(res.Tenants) > 0 {
		out = append(out, tenantsTable(res))
	}
	if len(res.Election) > 0 {
		t := cellTable("Elections: candidates taking turns (fairlock: Rotate; etcd: Resign, then Campaign)", "terms/s", res.Election)
		t.notes = append(t.notes, "A term is an acquisition: handoff is from the start of the leader's Rotate (Resign) to the next "+
			"leader's Campaign or Rotate returning; overtakes are terms out of arrival order.")
		out = append(out, t)
	}
	if len(res.Multi) > 0 {
		out = append(out, multiTable(res.Multi))
	}
	if len(res.Uncontended) > 0 {
		t := table{title: "Uncontended Lock + Unlock (one contender)",
			header: []string{"lock", "", "p50", "p99", "cycles/s"}}
		for _, r := range res.Uncontended {
			a, ok := findAnchor(r, res.Uncontended)
			ok = ok && r.Err == "" && a.Err == ""
			t.rows = append(t.rows, []string{r.Contender, "",
				withRatio(fmtMs(r.CycleP50, r.Grants), ok, ratioDur(r.CycleP50, a.CycleP50)),
				withRatio(fmtMs(r.CycleP99, r.Grants), ok, ratioDur(r.CycleP99, a.CycleP99)),
				withRatio(fmtRate(r.PerSec), ok, r.PerSec/a.PerSec)})
		}
		t.notes = append(t.notes, "(×) is the ratio to concurrency.Mutex for fairmutex, and to fairmutex for "+nameFairHooks+
			fmt.Sprintf(" (a queue.WithHooks whose every field is an atomic counter), each in %d short turns taken in turns with the others.", uncontendedRounds))
		out = append(out, t)
	}
	if len(res.History) > 0 {
		out = append(out, historyTable(res.History))
	}
	if len(res.TryLock) > 0 {
		t := table{title: "TryLock on a held lock",
			header: []string{"lock", "", "tries", "server calls / TryLock", "revisions / TryLock", "fsyncs / TryLock", "p50", "p99"}}
		for _, r := range res.TryLock {
			if r.Err != "" {
				t.rows = append(t.rows, []string{r.Contender, "", "error", "", "", "", "", ""})
				t.notes = append(t.notes, r.Contender+": "+r.Err)
				continue
			}
			t.rows = append(t.rows, []string{r.Contender, "", fmt.Sprint(r.Tries),
				fmt.Sprintf("%.2f", r.Calls), fmt.Sprintf("%.2f", r.RevMoves), fmt.Sprintf("%.2f", r.Fsyncs), fmtMs(r.P50, 1), fmtMs(r.P99, 1)})
		}
		out = append(out, t)
	}
	if res.KeepAlive != nil {
		out = append(out, keepAliveTable(*res.KeepAlive))
	}
	if len(res.Holds) > 0 {
		out = append(out, holdsTable(res.Holds))
	}
	if len(res.Lines) > 0 {
		out = append(out, lineTable(res.Lines))
	}
	if tg := targetTable(res); len(tg.rows) > 0 {
		out = append(out, tg)
	}
	return out
}

func cellTable(title, unit string, cells []cellResult) table {
	t := table{title: title, header: []string{"n", "lock", unit, "handoff p50", "handoff p99",
		"calls/acq", "calls in Lock (RLock / Lock)", "events/acq", "watch reqs/acq", "fsyncs/acq", "overtakes, in line: max/total", "overtakes, by call start: max/total"}}
	for _, r := range cells {
		if r.Err != "" {
			t.rows = append(t.rows, []string{fmt.Sprint(r.N), r.Contender, "error", "", "", "", "", "", "", "", "", ""})
			t.notes = append(t.notes, fmt.Sprintf("%s n=%d: %s", r.Contender, r.N, r.Err))
			continue
		}
		a, ok := findAnchor(r, cells)
		ok = ok && a.Err == ""
		t.rows = append(t.rows, []string{fmt.Sprint(r.N), r.Contender,
			withRatio(fmtRate(r.PerSec), ok, r.PerSec/a.PerSec),
			withRatio(fmtMs(r.HandoffP50, r.Handoffs), ok && r.Handoffs > 0 && a.Handoffs > 0, ratioDur(r.HandoffP50, a.HandoffP50)),
			withRatio(fmtMs(r.HandoffP99, r.Handoffs), ok && r.Handoffs > 0 && a.Handoffs > 0, ratioDur(r.HandoffP99, a.HandoffP99)),
			withRatio(fmt.Sprintf("%.2f", r.Calls), ok, r.Calls/a.Calls),
			lockCalls(r),
			withRatio(fmt.Sprintf("%.2f", r.Events), ok && a.Events > 0, r.Events/a.Events),
			fmt.Sprintf("%.2f", r.WatchReqs),
			fmt.Sprintf("%.2f", r.Fsyncs),
			fmt.Sprintf("%d/%d", r.JoinedMax, r.Joined), fmt.Sprintf("%d/%d", r.OvertakeMax, r.Overtakes)})
		if r.Contender == nameHerd && r.N > 1 && r.JoinedMax > 10*r.N {
			t.notes = append(t.notes, fmt.Sprintf("herd n=%d: one caller saw %d later callers through before it: "+
				"the releaser's next put lands before any woken waiter's (they need the delete event first), so one "+
				"client takes the lock again and again while the others wait; its rate is an uncontended one.", r.N, r.JoinedMax))
		}
		if r.Violations > 0 {
			t.notes = append(t.notes, fmt.Sprintf("%s n=%d: %d grants broke mutual exclusion", r.Contender, r.N, r.Violations))
		}
	}
	return t
}

// multiTable shows the multi-lock cells: a call waits for several lines,
// so its wait, not a handoff, is the latency that matters.
func multiTable(cells []cellResult) table {
	t := table{title: fmt.Sprintf("Several locks at once: callers each taking k of %d locks, chosen at random", cells[0].Lines),
		header: []string{"callers", "k, lock", "acq/s", "wait p50", "wait p99", "calls/acq", "events/acq", "overtakes, in line: max/total"}}
	for _, r := range cells {
		label := fmt.Sprintf("%d, %s", r.K, r.Contender)
		if r.Err != "" {
			t.rows = append(t.rows, []string{fmt.Sprint(r.N), label, "error", "", "", "", "", ""})
			t.notes = append(t.notes, fmt.Sprintf("%s n=%d k=%d: %s", r.Contender, r.N, r.K, r.Err))
			continue
		}
		a, ok := findAnchor(r, cells)
		ok = ok && a.Err == ""
		t.rows = append(t.rows, []string{fmt.Sprint(r.N), label,
			withRatio(fmtRate(r.PerSec), ok, r.PerSec/a.PerSec),
			withRatio(fmtMs(r.WaitP50, r.Grants), ok, ratioDur(r.WaitP50, a.WaitP50)),
			withRatio(fmtMs(r.WaitP99, r.Grants), ok, ratioDur(r.WaitP99, a.WaitP99)),
			fmt.Sprintf("%.2f", r.Calls), fmt.Sprintf("%.2f", r.Events),
			fmt.Sprintf("%d/%d", r.JoinedMax, r.Joined)})
		if r.Violations > 0 {
			t.notes = append(t.notes, fmt.Sprintf("%s n=%d k=%d: %d grants broke mutual exclusion", r.Contender, r.N, r.K, r.Violations))
		}
	}
	t.notes = append(t.notes, "An acquisition is one call taking all k locks; wait is from its start to holding all of them. "+
		nameLockAll+": fairmutex.LockAll, one transaction joining every line; "+nameSorted+": concurrency.Mutex.Lock on each, in name order. "+
		"Both release with an Unlock per lock. Overtakes count later callers granted first that share a lock with the earlier one.")
	return t
}

func historyTable(rows []historyRow) table {
	t := table{title: fmt.Sprintf("fairmutex, %d contenders, on a lock with past acquisitions not yet compacted", historyContenders),
		header: []string{"past acquisitions", "made by", "fresh lock acq/s", "acq/s", "handoff p99", "calls/acq"}}
	for _, h := range rows {
		r := h.Aged
		if r.Err != "" || h.Fresh.Err != "" {
			t.rows = append(t.rows, []string{fmt.Sprint(h.Past), h.Kind, fmtRate(h.Fresh.PerSec), "error", "", ""})
			t.notes = append(t.notes, fmt.Sprintf("past=%d, %s: %s%s", h.Past, h.Kind, r.Err, h.Fresh.Err))
			continue
		}
		ok := h.Fresh.PerSec > 0
		t.rows = append(t.rows, []string{fmt.Sprint(h.Past), h.Kind, fmtRate(h.Fresh.PerSec),
			withRatio(fmtRate(r.PerSec), ok, h.ratio()),
			withRatio(fmtMs(r.HandoffP99, r.Handoffs), ok && r.Handoffs > 0 && h.Fresh.Handoffs > 0, ratioDur(r.HandoffP99, h.Fresh.HandoffP99)),
			fmt.Sprintf("%.2f", r.Calls)})
	}
	t.notes = append(t.notes, "(×) here is the ratio to the same cell on a fresh lock, measured in slices taken in turns with it. "+
		"A read of the line visits every key written under the lock since the last compaction, and etcd compacts nothing "+
		"unless --auto-compaction-retention is set. Long-lived sessions reuse their entry keys, so their past is a few keys "+
		"(made here by the cell's own two sessions, locking for real); a session per acquisition leaves a key each "+
		"(written here directly, as such sessions leave them); compaction removes those.")
	return t
}

func keepAliveTable(r keepAliveResult) table {
	t := table{title: "Lease keep-alives per session, counted on the client",
		header: []string{"sessions", "", "keep-alive requests / TTL", "keep-alive streams opened / TTL"}}
	if r.Err != "" {
		t.notes = append(t.notes, "error: "+r.Err)
	}
	t.rows = append(t.rows,
		[]string{fmt.Sprintf("%d holding a fairmutex", r.Sessions), "", fmt.Sprintf("%.2f", r.Holding), fmt.Sprintf("%.2f", r.HoldingStreams)},
		[]string{fmt.Sprintf("%d holding nothing", r.Sessions), "", fmt.Sprintf("%.2f", r.Idle), fmt.Sprintf("%.2f", r.IdleStreams)})
	t.notes = append(t.notes, fmt.Sprintf("Lease TTL %v, counted over %.1f TTLs while the history cells ran. etcd's client sends a "+
		"keep-alive about every TTL/3 on one stream per client; the lease guard adds rounds of its own (one stream each) for "+
		"sessions with a hold.", r.TTL, float64(r.Window)/float64(max(r.TTL, 1))))
	if !r.Guarded {
		t.notes = append(t.notes, "The lease guard is not wired into queue in this build (a hold's HeldUntil is zero): "+
			"both rows are etcd's client alone, and the guard's cost is still to be measured.")
	}
	return t
}

// lockCalls shows the server calls made inside Lock (and RLock), per
// acquisition of that kind: the price of waiting, the Unlock's call apart.
func lockCalls(r cellResult) string {
	c, err := contenderNamed(r.Contender)
	switch {
	case err == nil && c.kind == kindRW && r.Reads > 0 && r.Reads < r.Grants:
		return fmt.Sprintf("%.2f / %.2f", r.RLockCalls, r.LockCalls)
	case err == nil && c.kind == kindRW && r.Reads > 0:
		return fmt.Sprintf("%.2f / -", r.RLockCalls)
	default:
		return fmt.Sprintf("%.2f", r.LockCalls)
	}
}

// findAnchor returns the anchor's cell for r: same count and read share.
func findAnchor(r cellResult, all []cellResult) (cellResult, bool) {
	c, err := contenderNamed(r.Contender)
	if err != nil || c.anchor == "" {
		return cellResult{}, false
	}
	for _, a := range all {
		if a.Contender == c.anchor && a.N == r.N && a.ReadPct == r.ReadPct && a.Limit == r.Limit && a.K == r.K {
			return a, true
		}
	}
	return cellResult{}, false
}

// readShares lists the read shares of cells, in order of first appearance.
func readShares(cells []cellResult) []int {
	var out []int
	for _, r := range cells {
		if !slices.Contains(out, r.ReadPct) {
			out = append(out, r.ReadPct)
		}
	}
	return out
}

func withRatio(v string, ok bool, ratio float64) string {
	if !ok || ratio != ratio || ratio == 0 || ratio > 1e9 { // NaN, or nothing to compare
		return v
	}
	return fmt.Sprintf("%s (%s×)", v, fmtRatio(ratio))
}

func ratioDur(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func fmtRatio(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f", r)
	default:
		return fmt.Sprintf("%.3f", r)
	}
}

func fmtRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// fmtMs formats d in milliseconds; "-" when there were no samples.
func fmtMs(d time.Duration, samples int) string {
	if samples == 0 {
		return "-"
	}
	ms := float64(d) / float64(time.Millisecond)
	if ms >= 100 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	if ms >= 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func header(res *results) []string {
	m := res.Machine
	lines := []string{
		fmt.Sprintf("machine: %s, %d cores, %s", m.CPU, m.Cores, m.OS),
		fmt.Sprintf("software: %s, etcd %s (embedded, one member, fsync %s)", m.Go, m.Etcd, m.fsyncText()),
	}
	if m.Source != "" {
		lines = append(lines, "fairlock: "+m.Source)
	}
	lines = append(lines,
		fmt.Sprintf("each cell: %v in %d slices, the contenders of one count taking turns; hold %v; load average at start %s",
			res.Duration, res.Rounds, res.Hold, m.LoadAvg))
	if res.Elapsed > 0 {
		lines = append(lines, fmt.Sprintf("the whole run took %v", res.Elapsed.Round(time.Second)))
	}
	if res.OthersCPU >= 0 {
		lines = append(lines, fmt.Sprintf("other processes used %.0f %% of the machine's CPU during the run", 100*res.OthersCPU))
	}
	if res.FsyncMean > 0 {
		lines = append(lines, fmt.Sprintf("WAL fsync over the run (etcd_disk_wal_fsync_duration_seconds): mean %s, p99 ≤ %v",
			fmtMs(res.FsyncMean, 1), res.FsyncP99))
	}
	return lines
}

const definitions = `acq/s: acquisitions granted in the window per second. Handoff: for a caller that could not be granted when it ` +
	`came (a conflicting hold, or a conflicting caller before it), from the start of the Unlock that let it in (for a ` +
	`reader the last writer's, for a writer the last of any) to its grant, on this process's monotonic clock. calls/acq: unary gRPC ` +
	`calls the server handled (grpc_server_handled_total); calls in Lock: the unary calls a contender's client made ` +
	`inside Lock (RLock), per acquisition of that kind, counted by a client interceptor; events/acq: events sent to watchers ` +
	`(etcd_debugging_mvcc_events_total), watch reqs/acq: watch create and cancel requests (grpc_server_msg_received_total ` +
	`for Watch), fsyncs/acq: WAL fsyncs (every raft write, a failed Txn with a put included, waits for one), ` +
	`each per acquisition; session keep-alives are a stream and not counted. Overtakes by call start: ` +
	`callers that started Lock later but were granted while an earlier one still waited (a reader passing a reader ` +
	`not counted); max is the most one caller suffered. Two calls that start within a few milliseconds reach the ` +
	`server in either order (a descheduled goroutine, a request waiting for a batch), so that count is not zero ` +
	`even for a strict FIFO lock; overtakes in line count only callers whose first server call had already ` +
	`returned when the later caller started, so the server knew of them first: those are the lock's doing. ` +
	`Wait: from the start of a Lock call to its grant. For semaphores, a later caller granted while an earlier one waits ` +
	`counts as an overtake only if no permit was left for the earlier one (callers let in together may return in either order). ` +
	`(×) is the ratio to the anchor in the same row group: concurrency.Mutex for the mutexes, recipes.RWMutex for rwmutex, ` +
	`the Curator-style semaphore for semaphore, concurrency.Election for election, concurrency.Mutex in name order for LockAll.`

func writeText(w io.Writer, res *results) {
	fmt.Fprintln(w)
	for _, l := range header(res) {
		fmt.Fprintln(w, l)
	}
	for _, t := range tables(res) {
		t.text(w)
	}
	fmt.Fprintf(w, "\n%s\n", definitions)
}

func writeMarkdown(w io.Writer, res *results) {
	fmt.Fprintln(w, "## Benchmark results")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated by `go run ./bench -out bench/results` (`make bench`).")
	fmt.Fprintln(w)
	for _, l := range header(res) {
		fmt.Fprintf(w, "* %s\n", l)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "![throughput and p99 handoff against contenders](chart.svg)")
	for _, t := range tables(res) {
		t.markdown(w)
	}
	fmt.Fprintf(w, "\n%s\n", definitions)
}

// writeFiles writes results.md and chart.svg into dir.
func writeFiles(dir string, res *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md strings.Builder
	writeMarkdown(&md, res)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(chart(res)), 0o644)
}
