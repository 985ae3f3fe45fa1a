package cmd_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestElectExitsWithTheCommandsStatus(t *testing.T) {
	name := lockName(t)
	p, code := run(t, nil, "elect", name, "--", "sh", "-c", `[ -n "$FAIRLOCK_TOKEN" ] && exit 5`)
	if code != 5 {
		t.Fatalf("exit %d, want 5; stderr: %s", code, p.Stderr())
	}
	waitEntries(t, etcd(t), name, 0)
}

// Two candidates with --rotate take turns: each term's command is stopped,
// the lead passes on, and the command starts again on the next term, with a
// higher token.
func TestElectRotateTakesTurns(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	log := filepath.Join(t.TempDir(), "log")
	candidate := func(who string) *proc {
		script := fmt.Sprintf(`echo "%s $FAIRLOCK_TOKEN" >> %s; sleep 60 & wait`, who, log)
		return start(t, nil, "elect", "--rotate", "1s", "--grace", "2s", name, "--", "sh", "-c", script)
	}
	a := candidate("a")
	eventually(t, "a to lead", func() bool { return len(lines(t, log)) == 1 })
	b := candidate("b")
	waitEntries(t, cli, name, 2)
	eventually(t, "four terms", func() bool { return len(lines(t, log)) >= 4 })

	got := lines(t, log)[:4]
	var last int64
	for i, l := range got {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != []string{"a", "b"}[i%2] {
			t.Fatalf("terms = %q, want a, b, a, b", got)
		}
		tok, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || tok <= last {
			t.Fatalf("terms = %q: tokens must rise", got)
		}
		last = tok
	}
	// SIGTERM reaches the leader's command (exit 143) or makes a waiting
	// candidate leave the line (exit 143 as well).
	a.signal(syscall.SIGTERM)
	b.signal(syscall.SIGTERM)
	a.wantExit(143)
	b.wantExit(143)
	waitEntries(t, cli, name, 0)
}
