package cmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// yieldJSON is the --json output of yield, as a script reads it.
type yieldJSON struct {
	Name  string `json:"name"`
	Asked []struct {
		Mode   string `json:"mode"`
		Limit  int    `json:"limit"`
		Token  int64  `json:"token"`
		Key    string `json:"key"`
		Lease  string `json:"lease"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	} `json:"asked"`
}

// lsYield is the part of ls --json about yield requests.
type lsYield struct {
	Entries []struct {
		State          string `json:"state"`
		Key            string `json:"key"`
		YieldRequested bool   `json:"yield_requested"`
		YieldReason    string `json:"yield_reason"`
	} `json:"entries"`
}

func storeRevision(t *testing.T) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := etcd(t).Get(ctx, "\x00")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func TestYieldOnAnEmptyLineExits3AndWritesNothing(t *testing.T) {
	name := lockName(t)
	before := storeRevision(t)
	p, code := run(t, nil, "yield", "--reason", "anyone?", name)
	if code != 3 {
		t.Fatalf("yield on an empty line: exit %d, want 3; stderr: %s", code, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), "nobody holds "+name) || p.Stdout() != "" {
		t.Errorf("yield on an empty line: stdout %q, stderr %q", p.Stdout(), p.Stderr())
	}
	oneLine(t, "stderr", p.Stderr())
	p, code = run(t, nil, "yield", "--json", name)
	if code != 3 {
		t.Fatalf("yield --json on an empty line: exit %d, want 3", code)
	}
	var out yieldJSON
	if err := json.Unmarshal([]byte(p.Stdout()), &out); err != nil || out.Name != name || out.Asked == nil || len(out.Asked) != 0 {
		t.Errorf("yield --json on an empty line = %+v, %v; output %q; want asked: []", out, err, p.Stdout())
	}
	if after := storeRevision(t); after != before {
		t.Errorf("store revision moved from %d to %d: yield wrote something", before, after)
	}
}

func TestYieldBadInputExits2(t *testing.T) {
	for _, args := range [][]string{{"yield"}, {"yield", "relative"}, {"yield", "/a", "/b"}} {
		if p, code := run(t, nil, args...); code != 2 {
			t.Errorf("fairlock %s: exit %d, want 2; stderr: %s", strings.Join(args, " "), code, p.Stderr())
		}
	}
}

func TestYieldAsksTheHolderOnly(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")

	// --ignore-yield: this test is about who is asked; the holder's command
	// must outlive both requests (yield_exec_test.go has the stopping).
	holder := start(t, nil, execArgs([]string{"--ignore-yield"}, name, holdUntil(log, release, "holder")...)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })
	waiter := start(t, nil, execArgs(nil, name, "echo", "waiter ran")...)
	eventually(t, "the waiter in line", func() bool { return len(keysUnder(t, cli, name+"/.x/")) == 2 })

	p, code := run(t, nil, "yield", "--reason", "deploy 1.4", name)
	if code != 0 {
		t.Fatalf("yield: exit %d; stderr: %s", code, p.Stderr())
	}
	rows := strings.Split(strings.TrimSpace(p.Stdout()), "\n")
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "MODE") {
		t.Fatalf("yield table, want a header and one row:\n%s", p.Stdout())
	}
	if !strings.HasPrefix(rows[1], "exclusive") || !strings.HasSuffix(rows[1], "deploy 1.4") ||
		!strings.Contains(rows[1], fmt.Sprintf("/%d ", holder.cmd.Process.Pid)) {
		t.Errorf("yield row = %q, want the holder (pid %d), exclusive, with the reason", rows[1], holder.cmd.Process.Pid)
	}

	// Asking again writes nothing and reports the first reason.
	before := storeRevision(t)
	p, code = run(t, nil, "yield", "--json", "--reason", "second", name)
	if code != 0 {
		t.Fatalf("yield --json: exit %d; stderr: %s", code, p.Stderr())
	}
	var out yieldJSON
	if err := json.Unmarshal([]byte(p.Stdout()), &out); err != nil {
		t.Fatalf("yield --json: %v; output:\n%s", err, p.Stdout())
	}
	if len(out.Asked) != 1 || out.Asked[0].Reason != "deploy 1.4" || out.Asked[0].Mode != "exclusive" || out.Asked[0].Lease == "" {
		t.Errorf("yield --json = %+v, want the holder with the first reason", out)
	}
	if after := storeRevision(t); after != before {
		t.Errorf("asking again moved the store revision from %d to %d", before, after)
	}

	// ls shows the request on the holder, not on the waiter.
	p, code = run(t, nil, "ls", "--json", name)
	if code != 0 {
		t.Fatalf("ls --json: exit %d; stderr: %s", code, p.Stderr())
	}
	var ls lsYield
	if err := json.Unmarshal([]byte(p.Stdout()), &ls); err != nil || len(ls.Entries) != 2 {
		t.Fatalf("ls --json = %+v, %v; want the holder and the waiter", ls, err)
	}
	if h, w := ls.Entries[0], ls.Entries[1]; h.State != "holding" || !h.YieldRequested || h.YieldReason != "deploy 1.4" || w.YieldRequested {
		t.Errorf("ls --json entries = %+v, want the holder asked for \"deploy 1.4\", the waiter not", ls.Entries)
	}
	p, code = run(t, nil, "ls", name)
	if code != 0 {
		t.Fatalf("ls: exit %d", code)
	}
	if rows := strings.Split(strings.TrimSpace(p.Stdout()), "\n"); len(rows) != 3 ||
		!strings.HasPrefix(strings.Join(strings.Fields(rows[1]), " "), "1 holding (asked to yield: deploy 1.4) exclusive") ||
		!strings.HasPrefix(strings.Join(strings.Fields(rows[2]), " "), "2 waiting exclusive") {
		t.Errorf("ls table:\n%s", p.Stdout())
	}
	if waiter.exited() {
		t.Fatal("the waiter ran: asking granted it the lock")
	}

	// The holder releases as usual; the request goes with its hold.
	writeFile(t, release, "")
	holder.wantExit(0)
	waiter.wantExit(0)
	if k := keysUnder(t, cli, name+"/"); len(k) != 0 {
		t.Errorf("keys left: %q", k)
	}
}
