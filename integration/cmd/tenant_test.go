package cmd_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// exec --tenant: teams take turns. Team a holds, a's second job and then
// b's job queue behind it; b's job runs second, and ls shows each entry's
// tenant and the caller still waiting for admission. A caller of a that
// declares another share is refused (exit 78) and writes nothing.
func TestExecTenantsTakeTurns(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	tenant := func(team string) []string { return []string{"--tenant", team, "--share", "1"} }

	a1 := start(t, nil, execArgs(tenant("a"), name, holdUntil(log, release, "a1")...)...)
	eventually(t, "a1 to run", func() bool { return len(lines(t, log)) == 1 })
	a2 := start(t, nil, execArgs(tenant("a"), name, holdUntil(log, release, "a2")...)...)
	waitEntries(t, cli, name, 3) // a1 admitted and in the line (2 entries), a2 waiting for admission
	b1 := start(t, nil, execArgs([]string{"--tenant", "b"}, name, holdUntil(log, release, "b1")...)...)
	waitEntries(t, cli, name, 5)

	ls, code := run(t, nil, "ls", "--wide", name)
	if code != 0 {
		t.Fatalf("ls: exit %d: %s", code, ls.Stderr())
	}
	out := ls.Stdout()
	t.Logf("fairlock ls --wide %s:\n%s", name, out)
	for _, want := range []string{"TENANT", "waiting for admission"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, out)
		}
	}
	for _, team := range []string{" a ", " b "} {
		if !strings.Contains(out, team) {
			t.Errorf("ls output does not show tenant %q:\n%s", strings.TrimSpace(team), out)
		}
	}
	if len(lines(t, log)) != 1 {
		t.Fatalf("log %q: a second job runs while a1 holds", lines(t, log))
	}

	// A caller of a with another share: refused, nothing written.
	rev := revision(t, cli)
	wrong, code := run(t, nil, execArgs([]string{"--tenant", "a", "--share", "2", "--try"}, name, "true")...)
	if code != 78 || !strings.Contains(wrong.Stderr(), "--share 2 differs") {
		t.Errorf("exec --tenant a --share 2: exit %d, stderr %q; want 78 naming the share", code, wrong.Stderr())
	}
	if now := revision(t, cli); now != rev {
		t.Errorf("a refused caller moved the store from revision %d to %d", rev, now)
	}

	writeFile(t, release, "")
	for _, p := range []*proc{a1, a2, b1} {
		p.wantExit(0)
	}
	var order []string
	for _, l := range lines(t, log) {
		if f := strings.Fields(l); f[0] == "start" {
			order = append(order, f[1])
		}
	}
	if strings.Join(order, " ") != "a1 b1 a2" {
		t.Errorf("jobs started in the order %v, want a1 b1 a2 (the teams take turns)", order)
	}
	waitEntries(t, cli, name, 0)
}

// revision returns the store's current revision.
func revision(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "\x00")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}
