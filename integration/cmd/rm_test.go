package cmd_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A key written by hand without a lease wedges the line; ls says so and
// exits 3, and rm un-wedges it.
func TestRmStrayKeyUnwedgesTheLine(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	stray := name + "/.x/stray"
	ran := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, stray, "by hand"); err != nil {
		t.Fatal(err)
	}

	w := start(t, nil, execArgs(nil, name, "touch", ran)...)
	waitEntries(t, cli, name, 2)

	p, code := run(t, nil, "ls", "--json", name)
	if code != 3 {
		t.Fatalf("ls --json of a wedged line: exit %d, want 3; stderr: %s", code, p.Stderr())
	}
	if !strings.Contains(p.Stdout(), `"wedges": true`) {
		t.Errorf("ls --json does not flag the stray key:\n%s", p.Stdout())
	}
	p, code = run(t, nil, "ls", name)
	if code != 3 || !strings.Contains(p.Stderr(), "fairlock rm "+name+" "+stray) {
		t.Errorf("ls: exit %d, stderr %q; want 3 and a hint to rm the stray key", code, p.Stderr())
	}
	prefix := name[:strings.LastIndex(name, "/")]
	p, code = run(t, nil, "ls", "--prefix", prefix)
	if code != 3 || !strings.Contains(p.Stderr(), "fairlock rm "+name+" "+stray) {
		t.Errorf("ls --prefix %s: exit %d, stderr %q; want 3 and a hint to rm the stray key", prefix, code, p.Stderr())
	}
	if exists(ran) || w.exited() {
		t.Fatal("the waiter ran behind a stray key")
	}

	// The command ls suggests, as printed, names the hold by its token.
	_, suggested, ok := strings.Cut(strings.TrimSpace(p.Stderr()), ": fairlock ")
	args := strings.Fields(suggested)
	if !ok || len(args) != 5 || args[0] != "rm" || args[3] != "--token" {
		t.Fatalf("ls suggests %q, want rm NAME KEY --token N", suggested)
	}
	p, code = run(t, nil, args...)
	if code != 0 {
		t.Fatalf("rm: exit %d; stderr: %s", code, p.Stderr())
	}
	oneLine(t, "rm's report", p.Stdout())
	for _, want := range []string{"removed", stray, "no lease", `"by hand"`} {
		if !strings.Contains(p.Stdout(), want) {
			t.Errorf("rm's report %q does not contain %q", p.Stdout(), want)
		}
	}
	w.wantExit(0)
	if !exists(ran) {
		t.Fatal("the waiter exited 0 without running its command")
	}

	// Gone already: exit 1, one line.
	p, code = run(t, nil, "rm", name, stray)
	if code != 1 {
		t.Fatalf("rm of a missing key: exit %d, want 1", code)
	}
	oneLine(t, "stderr", p.Stderr())
}
