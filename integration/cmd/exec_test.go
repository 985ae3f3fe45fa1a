package cmd_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdUntil is a command that records its start with its token in log,
// then holds until the file release exists, then records its end.
func holdUntil(log, release, who string) []string {
	script := fmt.Sprintf(`echo "start %[3]s $FAIRLOCK_TOKEN" >> %[1]s
while [ ! -e %[2]s ]; do sleep 0.02; done
echo "end %[3]s $FAIRLOCK_TOKEN" >> %[1]s`, log, release, who)
	return []string{"sh", "-c", script}
}

func execArgs(flags []string, name string, command ...string) []string {
	args := append([]string{"exec"}, flags...)
	args = append(args, name, "--")
	return append(args, command...)
}

func TestExecRunsOneAfterAnotherWithRisingTokens(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")

	a := start(t, nil, execArgs(nil, name, holdUntil(log, release, "a")...)...)
	b := start(t, nil, execArgs(nil, name, holdUntil(log, release, "b")...)...)
	// Both are in line, and one of them runs: the other waits.
	waitEntries(t, cli, name, 2)
	eventually(t, "a command to start", func() bool { return len(lines(t, log)) == 1 })
	if got := lines(t, log); len(got) != 1 {
		t.Fatalf("log = %q, want one start while the other waits", got)
	}
	writeFile(t, release, "")
	a.wantExit(0)
	b.wantExit(0)

	got := lines(t, log)
	if len(got) != 4 {
		t.Fatalf("log = %q, want start, end, start, end", got)
	}
	var tokens [4]int64
	for i, l := range got {
		f := strings.Fields(l)
		want := []string{"start", "end"}[i%2]
		if len(f) != 3 || f[0] != want {
			t.Fatalf("log line %d = %q, want %q <who> <token>; log: %q", i, l, want, got)
		}
		tok, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || tok <= 0 {
			t.Fatalf("log line %d = %q: FAIRLOCK_TOKEN not a positive number", i, l)
		}
		tokens[i] = tok
	}
	if first, second := strings.Fields(got[0])[1], strings.Fields(got[2])[1]; first == second {
		t.Fatalf("log = %q: the same command ran twice", got)
	}
	if tokens[0] != tokens[1] || tokens[2] != tokens[3] || tokens[2] <= tokens[0] {
		t.Fatalf("tokens %v: want each run's token constant and the second higher", tokens)
	}
	waitEntries(t, cli, name, 0)
}

func TestExecTryOnBusyLockExits75AndRunsNothing(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release, ran := filepath.Join(dir, "log"), filepath.Join(dir, "release"), filepath.Join(dir, "ran")

	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })

	began := time.Now()
	p, code := run(t, nil, execArgs([]string{"--try"}, name, "touch", ran)...)
	took := time.Since(began)
	if code != 75 {
		t.Fatalf("exit %d, want 75; stderr: %s", code, p.Stderr())
	}
	if exists(ran) {
		t.Fatal("--try on a busy lock ran the command")
	}
	// Fast: one connect and one transaction, nothing like a wait in line.
	if took > 10*time.Second {
		t.Errorf("--try took %v", took)
	}
	oneLine(t, "stderr", p.Stderr())
	if !strings.Contains(p.Stderr(), "busy") {
		t.Errorf("stderr %q does not say the lock is busy", p.Stderr())
	}
	if got := keysUnder(t, cli, name+"/."); len(got) != 1 {
		t.Errorf("line after --try = %q, want the holder's entry alone", got)
	}
	writeFile(t, release, "")
	holder.wantExit(0)

	// Free now: --try runs the command.
	_, code = run(t, nil, execArgs([]string{"--try"}, name, "touch", ran)...)
	if code != 0 || !exists(ran) {
		t.Fatalf("--try on a free lock: exit %d, ran %v; want 0, true", code, exists(ran))
	}
}

func TestExecExitsWithTheCommandsStatus(t *testing.T) {
	name := lockName(t)
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 200", 200},
		{"kill -KILL $$", 128 + int(syscall.SIGKILL)},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
	} {
		p, code := run(t, nil, execArgs(nil, name, "sh", "-c", tc.script)...)
		if code != tc.want {
			t.Errorf("sh -c %q: exit %d, want %d; stderr: %s", tc.script, code, tc.want, p.Stderr())
		}
		if p.Stderr() != "" {
			t.Errorf("sh -c %q: stderr %q, want none", tc.script, p.Stderr())
		}
	}
	waitEntries(t, etcd(t), name, 0)
}

func TestExecCommandNotFoundExits127WithoutWaiting(t *testing.T) {
	p, code := run(t, nil, execArgs(nil, lockName(t), "no-such-command-fairlock-test")...)
	if code != 127 {
		t.Fatalf("exit %d, want 127; stderr: %s", code, p.Stderr())
	}
	oneLine(t, "stderr", p.Stderr())
}

// A holder stopped for longer than its TTL loses the lock: the next in line
// runs, and once the holder resumes, past its hold's end, its command is
// killed at once and it exits 1 saying why.
func TestExecStoppedHolderLosesLockAndCommandIsStopped(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, pidFile := filepath.Join(dir, "log"), filepath.Join(dir, "pid")
	// The holder's command records its pid and start; it would run for a
	// minute.
	script := fmt.Sprintf(`echo $$ > %[2]s
echo "a start" >> %[1]s
sleep 60 & wait
echo "a end" >> %[1]s`, log, pidFile)
	a := start(t, nil, execArgs([]string{"--ttl", "2s"}, name, "sh", "-c", script)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })
	b := start(t, nil, execArgs([]string{"--ttl", "2s"}, name, "sh", "-c", `echo "b ran $FAIRLOCK_TOKEN" >> `+log)...)
	waitEntries(t, cli, name, 2)

	a.signal(syscall.SIGSTOP)
	b.wantExit(0)
	if got := lines(t, log); len(got) != 2 || !strings.HasPrefix(got[1], "b ran") {
		t.Fatalf("log = %q, want a start, then b ran", got)
	}
	a.signal(syscall.SIGCONT)
	a.wantExit(1)

	msg := a.Stderr()
	oneLine(t, "stderr", msg)
	for _, want := range []string{"lost the lock on " + name, "SIG"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr %q does not contain %q", msg, want)
		}
	}
	if got := lines(t, log); len(got) != 2 {
		t.Fatalf("log = %q, want a start, b ran (and no a end)", got)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("the holder's command (pid %d) is still there: kill 0 = %v", pid, err)
	}
}

// A command that ignores SIGTERM is killed after --grace.
func TestExecLostHoldKillsCommandAfterGrace(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// Its stderr goes elsewhere: sh reports the sleep that SIGTERM ends.
	script := fmt.Sprintf(`exec 2>/dev/null
trap 'echo term >> %[1]s' TERM
echo start >> %[1]s
while :; do sleep 0.05; done`, log)
	a := start(t, nil, execArgs([]string{"--grace", "1s"}, name, "sh", "-c", script)...)
	eventually(t, "the command to start", func() bool { return len(lines(t, log)) == 1 })
	keys := keysUnder(t, cli, name+"/.")
	if len(keys) != 1 {
		t.Fatalf("line = %q, want one entry", keys)
	}
	// Deleting the holder's entry ends its hold.
	p, code := run(t, nil, "rm", "--force", name, keys[0])
	if code != 0 {
		t.Fatalf("rm: exit %d; stderr: %s", code, p.Stderr())
	}
	a.wantExit(1)
	msg := a.Stderr()
	oneLine(t, "stderr", msg)
	for _, want := range []string{"entry was deleted", "SIGKILL after --grace 1s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr %q does not contain %q", msg, want)
		}
	}
}

func TestExecInterruptedWhileWaitingLeavesTheLine(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, ran := filepath.Join(dir, "log"), filepath.Join(dir, "ran")
	holder := start(t, nil, execArgs(nil, name, "sh", "-c", `echo start >> `+log+`; sleep 60`)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		w := start(t, nil, execArgs(nil, name, "touch", ran)...)
		waitEntries(t, cli, name, 2)
		w.signal(sig)
		w.wantExit(128 + int(sig))
		oneLine(t, "stderr", w.Stderr())
		if got := keysUnder(t, cli, name+"/."); len(got) != 1 {
			t.Fatalf("line after %v = %q, want the holder's entry alone", sig, got)
		}
		if exists(ran) {
			t.Fatalf("the interrupted waiter ran its command")
		}
	}

	// A signal to the holder reaches its command, whose status comes back.
	holder.signal(syscall.SIGTERM)
	holder.wantExit(128 + int(syscall.SIGTERM))
	waitEntries(t, cli, name, 0)
}

func TestExecTimeoutExits124(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release, ran := filepath.Join(dir, "log"), filepath.Join(dir, "release"), filepath.Join(dir, "ran")
	holder := start(t, nil, execArgs(nil, name, holdUntil(log, release, "holder")...)...)
	eventually(t, "the holder's command to start", func() bool { return len(lines(t, log)) == 1 })

	p, code := run(t, nil, execArgs([]string{"--timeout", "1s"}, name, "touch", ran)...)
	if code != 124 {
		t.Fatalf("exit %d, want 124; stderr: %s", code, p.Stderr())
	}
	oneLine(t, "stderr", p.Stderr())
	if exists(ran) {
		t.Fatal("a timed-out exec ran its command")
	}
	if got := keysUnder(t, cli, name+"/."); len(got) != 1 {
		t.Fatalf("line after the timeout = %q, want the holder's entry alone", got)
	}
	writeFile(t, release, "")
	holder.wantExit(0)
}

func TestExecSharedHoldersRunTogether(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	r1 := start(t, nil, execArgs([]string{"--shared"}, name, holdUntil(log, release, "r1")...)...)
	r2 := start(t, nil, execArgs([]string{"--shared"}, name, holdUntil(log, release, "r2")...)...)
	// Both run at once: neither ends before the release.
	eventually(t, "both readers to start", func() bool { return len(lines(t, log)) == 2 })
	waitEntries(t, cli, name, 2)
	writeFile(t, release, "")
	r1.wantExit(0)
	r2.wantExit(0)
}

func TestExecLimitAdmitsThatMany(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	var ps []*proc
	for _, who := range []string{"p1", "p2", "p3"} {
		ps = append(ps, start(t, nil, execArgs([]string{"--limit", "2"}, name, holdUntil(log, release, who)...)...))
	}
	waitEntries(t, cli, name, 3)
	eventually(t, "two permits held", func() bool { return len(lines(t, log)) == 2 })
	// The third waits while two hold.
	p, code := run(t, nil, execArgs([]string{"--limit", "2", "--try"}, name, "true")...)
	if code != 75 {
		t.Fatalf("--try with both permits taken: exit %d, want 75; stderr: %s", code, p.Stderr())
	}
	if got := lines(t, log); len(got) != 2 {
		t.Fatalf("log = %q, want two starts", got)
	}
	// A different limit on the same name is refused, with a code of its
	// own: the flags are well formed, the name is in use otherwise.
	p, code = run(t, nil, execArgs([]string{"--limit", "5"}, name, "true")...)
	if code != 78 || !strings.Contains(p.Stderr(), "--limit 5") {
		t.Fatalf("--limit 5 beside --limit 2: exit %d, stderr %q; want 78 naming --limit", code, p.Stderr())
	}
	writeFile(t, release, "")
	for _, p := range ps {
		p.wantExit(0)
	}
	if got := lines(t, log); len(got) != 6 {
		t.Fatalf("log = %q, want three starts and ends", got)
	}
}

// Weighted permits: --limit 5 --weight 3 holds 3 of 5; another 3 waits
// while a 1 behind it does not overtake; ls shows the weights and the
// capacity in use.
func TestExecWeightedPermits(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	dir := t.TempDir()
	log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
	heavy := []string{"--limit", "5", "--weight", "3"}
	a := start(t, nil, execArgs(heavy, name, holdUntil(log, release, "a")...)...)
	eventually(t, "A holding", func() bool { return len(lines(t, log)) == 1 })
	b := start(t, nil, execArgs(heavy, name, holdUntil(log, release, "b")...)...)
	waitEntries(t, cli, name, 2)
	p, code := run(t, nil, execArgs([]string{"--limit", "5", "--try"}, name, "true")...)
	if code != 75 {
		t.Fatalf("--try of weight 1 while B(3) waits beside A(3): exit %d, want 75 (no overtaking); stderr: %s", code, p.Stderr())
	}
	p, code = run(t, nil, "ls", name)
	if code != 0 || !strings.Contains(p.Stdout(), "permit(5, weight 3)") || !strings.Contains(p.Stdout(), "permits of limit 5: 3 of 5 in use") {
		t.Fatalf("ls: exit %d, output:\n%s\nwant the weights and 3 of 5 in use", code, p.Stdout())
	}
	if got := lines(t, log); len(got) != 1 {
		t.Fatalf("log = %q, want A alone", got)
	}
	writeFile(t, release, "")
	a.wantExit(0)
	b.wantExit(0)
}
