package cmd_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// As PID 1 of a PID namespace (a container's init), fairlock adopts every
// orphan of the command tree: a job whose short-lived child outlives it
// leaves a zombie that nobody else reaps. A group of zombies only is empty:
// the rotation hands over well within a second, not after the grace
// period.
func TestElectRotateAsPID1HandsOverWithinASecond(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare(1) is not installed: cannot run fairlock as PID 1 of a PID namespace")
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare --pid --fork --mount-proc does not work here (%v: %s): needs root or user namespaces", err, strings.TrimSpace(string(out)))
	}
	name := lockName(t)
	log := filepath.Join(t.TempDir(), "log")
	// On SIGTERM the job records its stop, starts a child that outlives it
	// by 200 ms, and exits: the child, orphaned, is adopted by PID 1 and
	// is its zombie once it ends.
	jobA := fmt.Sprintf(`echo "start a $(date +%%s%%N)" >> %[1]s
trap 'echo "stop a $(date +%%s%%N)" >> %[1]s; sleep 0.2 & exit 0' TERM
sleep 60 & wait`, log)
	a := startProg(t, nil, unshare, "--pid", "--fork", "--mount-proc", "--kill-child",
		binary, "elect", "--rotate", "1s", name, "--", "sh", "-c", jobA)
	eventually(t, "a to lead", func() bool { return strings.Contains(readFile(t, log), "start a ") })
	jobB := fmt.Sprintf(`echo "start b $(date +%%s%%N)" >> %[1]s; sleep 60 & wait`, log)
	b := start(t, nil, "elect", "--rotate", "1s", name, "--", "sh", "-c", jobB)
	eventually(t, "b to lead", func() bool { return strings.Contains(readFile(t, log), "start b ") })

	stamp := func(prefix string) time.Time {
		for _, l := range lines(t, log) {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				ns, err := strconv.ParseInt(rest, 10, 64)
				if err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
				return time.Unix(0, ns)
			}
		}
		t.Fatalf("no %q line in the log: %q", prefix, lines(t, log))
		return time.Time{}
	}
	handover := stamp("start b ").Sub(stamp("stop a "))
	t.Logf("hand-over from PID 1 took %v (default grace 3.3s)", handover)
	if handover > time.Second {
		t.Errorf("hand-over took %v, want well within a second", handover)
	}
	if handover < 200*time.Millisecond {
		t.Errorf("hand-over took %v: the lead passed before the job's child had ended", handover)
	}
	if a.exited() || b.exited() {
		t.Fatalf("a candidate exited: a %v, b %v; stderr a %q, b %q", a.exited(), b.exited(), a.Stderr(), b.Stderr())
	}
}
