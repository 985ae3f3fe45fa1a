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

// lsJSON is the --json output of ls, as a script reads it.
type lsJSON struct {
	Name    string `json:"name"`
	Entries []struct {
		Place  int    `json:"place"`
		State  string `json:"state"`
		Mode   string `json:"mode"`
		Limit  int    `json:"limit"`
		Token  int64  `json:"token"`
		Key    string `json:"key"`
		Lease  string `json:"lease"`
		TTL    *int64 `json:"ttl"`
		Value  string `json:"value"`
		Wedges bool   `json:"wedges"`
	} `json:"entries"`
}

func TestLsShowsHolderAndWaiters(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")

	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })
	writer := start(t, nil, execArgs(nil, name, "echo", "writer waits")...)
	waitEntries(t, cli, name, 2)
	reader := start(t, nil, execArgs([]string{"--shared"}, name, "echo", "reader waits")...)
	waitEntries(t, cli, name, 3)
	// etcd's own Mutex keeps its keys directly under NAME/: a foreign key.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, name+"/694d7a1c5f0e2b11", "etcdctl lock"); err != nil {
		t.Fatal(err)
	}

	p, code := run(t, nil, "ls", "--json", name)
	if code != 0 {
		t.Fatalf("ls --json: exit %d; stderr: %s", code, p.Stderr())
	}
	var out lsJSON
	if err := json.Unmarshal([]byte(p.Stdout()), &out); err != nil {
		t.Fatalf("ls --json: %v; output:\n%s", err, p.Stdout())
	}
	if out.Name != name || len(out.Entries) != 4 {
		t.Fatalf("ls --json = %+v, want %s with 3 entries and a foreign key", out, name)
	}
	want := []struct {
		place        int
		state, mode  string
		pid          int
		valueCommand string
	}{
		{1, "holding", "exclusive", holder.cmd.Process.Pid, "sh -c "},
		{2, "waiting", "exclusive", writer.cmd.Process.Pid, "echo 'writer waits'"},
		{3, "waiting", "shared", reader.cmd.Process.Pid, "echo 'reader waits'"},
	}
	for i, w := range want {
		e := out.Entries[i]
		if e.Place != w.place || e.State != w.state || e.Mode != w.mode {
			t.Errorf("entry %d = %+v, want place %d, %s, %s", i, e, w.place, w.state, w.mode)
		}
		if !strings.Contains(e.Value, fmt.Sprintf("/%d ", w.pid)) || !strings.Contains(e.Value, w.valueCommand) {
			t.Errorf("entry %d value %q, want host/%d and %q", i, e.Value, w.pid, w.valueCommand)
		}
		if e.Lease == "" || e.TTL == nil || *e.TTL <= 0 || e.Wedges {
			t.Errorf("entry %d: lease %q, ttl %v, wedges %v; want a live lease", i, e.Lease, e.TTL, e.Wedges)
		}
		if i > 0 && e.Token <= out.Entries[i-1].Token {
			t.Errorf("entry %d token %d not above %d: not oldest first", i, e.Token, out.Entries[i-1].Token)
		}
	}
	if f := out.Entries[3]; f.State != "foreign" || f.Key != name+"/694d7a1c5f0e2b11" || f.TTL != nil || f.Value != "etcdctl lock" {
		t.Errorf("foreign entry = %+v", f)
	}

	// The table says the same, one row per entry under a header.
	p, code = run(t, nil, "ls", name)
	if code != 0 {
		t.Fatalf("ls: exit %d; stderr: %s", code, p.Stderr())
	}
	rows := strings.Split(strings.TrimSpace(p.Stdout()), "\n")
	if len(rows) != 5 || !strings.HasPrefix(rows[0], "PLACE") {
		t.Fatalf("ls table:\n%s", p.Stdout())
	}
	for i, prefix := range []string{"1 holding exclusive", "2 waiting exclusive", "3 waiting shared", "- foreign -"} {
		if got := strings.Join(strings.Fields(rows[i+1]), " "); !strings.HasPrefix(got, prefix) {
			t.Errorf("row %d = %q, want it to start %q", i+1, rows[i+1], prefix)
		}
	}

	// --prefix lists the lock among those under its parent, with the
	// line's counts.
	p, code = run(t, nil, "ls", "--json", "--prefix", "/cmdtest")
	if code != 0 {
		t.Fatalf("ls --prefix: exit %d; stderr: %s", code, p.Stderr())
	}
	var locks struct {
		Prefix string `json:"prefix"`
		Locks  []struct {
			Name                     string
			Holding, Waiting, Wedged int
			Modes                    []string
		} `json:"locks"`
	}
	if err := json.Unmarshal([]byte(p.Stdout()), &locks); err != nil {
		t.Fatalf("ls --json --prefix: %v; output:\n%s", err, p.Stdout())
	}
	found := false
	for _, l := range locks.Locks {
		if l.Name == name {
			found = true
			if l.Holding != 1 || l.Waiting != 2 || l.Wedged != 0 || strings.Join(l.Modes, ",") != "exclusive,shared" {
				t.Errorf("ls --prefix: %+v, want 1 holding, 2 waiting, modes exclusive,shared", l)
			}
		}
	}
	if !found || locks.Prefix != "/cmdtest" {
		t.Errorf("ls --prefix /cmdtest = %+v, want %s among the locks", locks, name)
	}
	p, code = run(t, nil, "ls", "--prefix", "/cmdtest")
	if code != 0 || !strings.HasPrefix(p.Stdout(), "NAME") || !strings.Contains(p.Stdout(), name+" ") {
		t.Errorf("ls --prefix: exit %d, table:\n%s", code, p.Stdout())
	}

	writeFile(t, release, "")
	holder.wantExit(0)
	writer.wantExit(0)
	reader.wantExit(0)
	p, code = run(t, nil, "ls", "--json", name)
	if code != 0 {
		t.Fatalf("ls --json: exit %d; stderr: %s", code, p.Stderr())
	}
	out = lsJSON{}
	if err := json.Unmarshal([]byte(p.Stdout()), &out); err != nil || len(out.Entries) != 1 {
		t.Fatalf("ls --json after all ran = %+v, %v; want the foreign key alone", out, err)
	}
}
