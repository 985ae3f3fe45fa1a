package check_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fairlock/fairlock/robustness/check"
	"github.com/fairlock/fairlock/robustness/history"
)

// fake is a synthetic run, written the way the runner writes one: the
// checkers read it back with check.Run. Times are small numbers of
// nanoseconds; the run has no final outage (so the liveness check after
// it stays out of the way).
type fake struct {
	t      *testing.T
	dir    string
	meta   check.Meta
	recs   []history.Record
	events []history.Event
	faults []history.Fault
	procs  []any
}

func newFake(t *testing.T, workers ...string) *fake {
	f := &fake{t: t, dir: t.TempDir()}
	for _, w := range workers {
		name, _, _ := strings.Cut(w, "#")
		workload := name[:strings.LastIndex(name, "-")]
		if strings.Contains(name, "-observer-") {
			workload = "election"
		}
		f.meta.Workers = append(f.meta.Workers, check.WorkerMeta{Name: name, Workload: workload, Procs: []string{w}})
	}
	return f
}

func (f *fake) rec(r history.Record) { f.recs = append(f.recs, r) }

// put and del write etcd's record.
func (f *fake) put(rev int64, key string, crev int64, value string) {
	f.events = append(f.events, history.Event{T: rev, Rev: rev, Key: key, Create: crev, Value: value})
}

func (f *fake) del(rev int64, key string, crev int64) {
	f.events = append(f.events, history.Event{T: rev, Rev: rev, Key: key, Create: crev, Delete: true})
}

// hold writes a whole hold: grant at from (HeldUntil until), end at to.
func (f *fake) hold(proc, lock, mode string, op, token, from, until, to int64) {
	f.rec(history.Record{T: from - 1, Proc: proc, Kind: history.Call, Op: op, Lock: lock, Mode: mode})
	f.rec(history.Record{T: from, Proc: proc, Kind: history.Grant, Op: op, Lock: lock, Mode: mode, Token: token,
		Until: until, Weight: 1})
	f.rec(history.Record{T: to, Proc: proc, Kind: history.End, Op: op, Value: "release"})
}

func (f *fake) check() check.Report {
	f.t.Helper()
	if err := check.WriteMeta(f.dir, f.meta); err != nil {
		f.t.Fatal(err)
	}
	write := func(path string, vs ...any) {
		w, err := history.Create(filepath.Join(f.dir, path))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, v := range vs {
			w.Write(v)
		}
		w.Close()
	}
	var rs, es, fs []any
	for _, r := range f.recs {
		rs = append(rs, r)
	}
	for _, e := range f.events {
		es = append(es, e)
	}
	for _, fl := range f.faults {
		fs = append(fs, fl)
	}
	write("hist/all.jsonl", rs...)
	write("etcd/watch-m1.jsonl", es...)
	write("faults.jsonl", fs...)
	write("procs.jsonl", f.procs...)
	rep, err := check.Run(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func result(t *testing.T, rep check.Report, workload string) check.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Workload == workload {
			return r
		}
	}
	t.Fatalf("no result for %s in\n%s", workload, rep)
	return check.Result{}
}

// wantViolations asserts that workload's violations are exactly as many
// as want, each containing its text.
func wantViolations(t *testing.T, rep check.Report, workload string, want ...string) {
	t.Helper()
	got := result(t, rep, workload).Violations
	if len(got) != len(want) {
		t.Fatalf("%s: %d violations, want %d:\n%s", workload, len(got), len(want), rep)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("%s violation %d = %q, want it to say %q", workload, i, got[i], w)
		}
	}
}

const lockA = "/robustness/mutex/a"

// A mutex granted while another holder's HeldUntil still stood is a
// violation, whatever that holder's state; once its HeldUntil has passed,
// an overlap is excused only while the earlier holder was paused or cut.
func TestMutexOverlap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second int64 // when mutex-2 is granted; mutex-1 holds 100-2100, HeldUntil 1000
		paused bool
		want   []string
	}{
		{"granted before HeldUntil", 800, true, []string{"granted at"}},
		{"after HeldUntil, holder running", 1500, false, []string{"granted at"}},
		{"after HeldUntil, holder paused", 1500, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, "mutex-1#1", "mutex-2#1")
			f.put(10, lockA+"/.x/k1", 10, "mutex-1#1")
			f.put(11, lockA+"/.x/k2", 11, "mutex-2#1")
			f.hold("mutex-1#1", lockA, "x", 1, 10, 100, 1000, 2100)
			f.hold("mutex-2#1", lockA, "x", 1, 11, tc.second, 3000, 2500)
			if tc.paused {
				f.faults = append(f.faults, history.Fault{Seq: 1, Kind: "pause-client", Procs: []string{"mutex-1#1"},
					From: 200, To: 2000})
			}
			rep := f.check()
			wantViolations(t, rep, "mutex", tc.want...)
			if tc.want == nil && !strings.Contains(result(t, rep, "mutex").Worst, "paused past its HeldUntil") {
				t.Fatalf("worst overlap %q: want the excuse", result(t, rep, "mutex").Worst)
			}
		})
	}
}

// A transaction fenced by a hold that etcd applied while, by etcd's
// record, the hold's turn had not come is a violation (a Lock that did not
// wait); and two read-modify-writes of the register that read the same
// value and both wrote are not linearizable: porcupine says so and draws it.
func TestMutexFencedAndRegister(t *testing.T) {
	f := newFake(t, "mutex-1#1", "mutex-2#1")
	f.put(10, lockA+"/.x/k1", 10, "mutex-1#1")
	f.put(11, lockA+"/.x/k2", 11, "mutex-2#1")
	f.hold("mutex-1#1", lockA, "x", 1, 10, 100, 5000, 900)
	f.hold("mutex-2#1", lockA, "x", 1, 11, 2000, 5000, 2900) // no overlap by the stamps
	f.rec(history.Record{T: 400, Call: 200, Proc: "mutex-1#1", Kind: history.Register, Op: 1, Lock: lockA, Mode: "fenced",
		Token: 10, Read: 0, Outcome: history.OK, Rev: 12})
	f.rec(history.Record{T: 2400, Call: 2200, Proc: "mutex-2#1", Kind: history.Register, Op: 1, Lock: lockA,
		Mode: "fenced", Token: 11, Read: 0, Outcome: history.OK, Rev: 13})
	f.put(12, "/robustness/data/mutex/a/register", 12, "1")
	f.put(13, "/robustness/data/mutex/a/register", 12, "1")
	rep := f.check()
	wantViolations(t, rep, "mutex", "not linearizable", "its turn had not come")
	html := filepath.Join(f.dir, "mutex-linearizability.html")
	if _, err := os.Stat(html); err != nil {
		t.Fatalf("no visualisation: %v", err)
	}

	// A write refused by its fence is no write: a holder that read 0, was
	// paused and lost its hold meanwhile leaves the history linearizable.
	f = newFake(t, "mutex-1#1", "mutex-2#1")
	f.rec(history.Record{T: 3000, Call: 200, Proc: "mutex-1#1", Kind: history.Register, Op: 1, Lock: lockA,
		Mode: "fenced", Token: 10, Read: 0, Outcome: history.Refused})
	f.rec(history.Record{T: 2400, Call: 2200, Proc: "mutex-2#1", Kind: history.Register, Op: 1, Lock: lockA,
		Mode: "fenced", Token: 11, Read: 0, Outcome: history.OK})
	wantViolations(t, f.check(), "mutex")
}

// Permits whose weights exceed the limit at once are a violation; a
// reader that sees a write in progress whose writer went on to finish it
// under its hold is one too.
func TestSemaphoreAndRWMutex(t *testing.T) {
	f := newFake(t, "semaphore-1#1", "semaphore-2#1", "rwmutex-1#1", "rwmutex-2#1")
	sem := "/robustness/sem"
	for _, h := range []struct {
		proc     string
		tok      int64
		w        int
		from, to int64
	}{{"semaphore-1#1", 10, 2, 100, 900}, {"semaphore-2#1", 11, 2, 300, 700}} {
		f.rec(history.Record{T: h.from, Proc: h.proc, Kind: history.Grant, Op: 1, Lock: sem, Mode: "p", Token: h.tok,
			Weight: h.w, Until: 5000})
		f.rec(history.Record{T: h.to, Proc: h.proc, Kind: history.End, Op: 1, Value: "release"})
	}
	rw := "/robustness/rw"
	f.rec(history.Record{T: 100, Proc: "rwmutex-1#1", Kind: history.Fenced, Op: 1, Lock: rw, Token: 20,
		Value: "writing:20", Outcome: history.OK})
	f.rec(history.Record{T: 150, Proc: "rwmutex-2#1", Kind: history.Seen, Op: 1, Lock: rw, Token: 21,
		Value: "writing:20", Outcome: history.OK})
	f.rec(history.Record{T: 200, Proc: "rwmutex-1#1", Kind: history.Fenced, Op: 1, Lock: rw, Token: 20,
		Value: "idle:20", Outcome: history.OK})
	rep := f.check()
	wantViolations(t, rep, "semaphore", "granted at")
	wantViolations(t, rep, "rwmutex", "saw the write of token 20 in progress")
}

// Observers must report etcd's terms in order; a term skipped without a
// Gap is a violation, one skipped right after a Gap is not.
func TestElectionObservers(t *testing.T) {
	el := "/robustness/election"
	f := newFake(t, "election-observer-1#1")
	f.put(20, el+"/.x/a", 20, "e1:1")
	f.put(21, el+"/.x/b", 21, "e2:1")
	f.del(22, el+"/.x/a", 20)
	f.del(23, el+"/.x/b", 21)
	f.put(24, el+"/.x/c", 24, "e3:1")
	obs := func(op int64, key string, tok int64, value string, gap bool) {
		f.rec(history.Record{T: int64(len(f.recs)), Proc: "election-observer-1#1", Kind: history.Observe, Op: op,
			Lock: el, Key: key, Token: tok, Value: value, Vacant: key == "", Gap: gap})
	}
	obs(1, "", 0, "", false) // before anyone: places nothing
	obs(1, el+"/.x/a", 20, "e1:1", false)
	obs(1, el+"/.x/b", 21, "e2:1", false)
	obs(1, "", 0, "", false)
	obs(1, el+"/.x/c", 24, "e3:1", false) // all of them, in order
	obs(2, el+"/.x/a", 20, "e1:1", false)
	obs(2, el+"/.x/c", 24, "e3:1", true) // skipped two terms, said so
	obs(3, el+"/.x/a", 20, "e1:1", false)
	obs(3, el+"/.x/c", 24, "e3:1", false) // skipped two terms silently
	wantViolations(t, f.check(), "election", "stream 3) reported e3:1 (token 24)")
}

// No job of one exec holder stamps after the next holder's job started,
// unless its fairlock was paused.
func TestExecPromise(t *testing.T) {
	for _, paused := range []bool{false, true} {
		f := newFake(t, "exec-1#1", "exec-2#1")
		stamp := func(proc string, tok, t int64, what string) {
			f.rec(history.Record{T: t, Proc: proc, Kind: history.Stamp, Token: tok, Value: what})
		}
		stamp("exec-1#1/1", 5, 100, "start")
		stamp("exec-1#1/1", 5, 200, "alive")
		stamp("exec-2#1/1", 7, 250, "start")
		stamp("exec-1#1/1", 5, 300, "end")
		stamp("exec-2#1/1", 7, 400, "end")
		var want []string
		if paused {
			f.faults = append(f.faults, history.Fault{Seq: 1, Kind: "pause-client", Procs: []string{"exec-1#1"},
				From: 150, To: 280})
		} else {
			want = []string{"the job of token 5 (exec-1#1/1) ran until"}
		}
		wantViolations(t, f.check(), "exec", want...)
	}
}

// A waiter granted more than LetinBound after etcd let it in is a
// violation, a member fault under way or not: a waiter has other
// endpoints.
func TestLetinBound(t *testing.T) {
	const s = int64(1e9)
	f := newFake(t, "mutex-1#1", "mutex-2#1")
	f.events = []history.Event{
		{T: 1 * s, Rev: 10, Key: lockA + "/.x/k1", Create: 10},
		{T: 1 * s, Rev: 11, Key: lockA + "/.x/k2", Create: 11},
		{T: 2 * s, Rev: 12, Key: lockA + "/.x/k1", Create: 10, Delete: true},
	}
	f.hold("mutex-1#1", lockA, "x", 1, 10, 1*s, 9*s, 2*s)
	f.hold("mutex-2#1", lockA, "x", 1, 11, 5*s, 9*s, 6*s) // 3 s after its turn came
	f.faults = append(f.faults, history.Fault{Seq: 1, Kind: "stop-follower", Members: []string{"m2"},
		Victim: "m2 (follower)", From: 1 * s, To: 5 * s})
	wantViolations(t, f.check(), "mutex", "granted 3s after etcd let token [11] in")
}

// A worker that exits on its own with a failure fails the run; one killed
// by a fault or stopped cleanly does not.
func TestWorkerExits(t *testing.T) {
	f := newFake(t, "mutex-1#1")
	f.procs = []any{
		map[string]any{"proc": "mutex-1#1", "pid": 10},
		map[string]any{"proc": "mutex-1#1", "exit": "signal: killed"},
		map[string]any{"proc": "mutex-1#2", "exit": "<nil>"},
		map[string]any{"proc": "mutex-1#3", "exit": "exit status 2"},
	}
	rep := f.check()
	if len(rep.General) != 2 || !strings.Contains(rep.General[0], "mutex-1#3 exited: exit status 2") {
		t.Fatalf("general findings %q: want the failed worker (and the missing outage)", rep.General)
	}
}
