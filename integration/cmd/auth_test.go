package cmd_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
)

// The command as a user whose role grants read and write on /tenant-a/
// only (issue 31): exec, ls, ls --prefix, yield, observe, elect and rm
// work on its prefix with --user; ls --prefix / is refused at once, exit 77,
// with a message that names the prefix; a read-only user's exec is refused
// at once, exit 77, runs nothing and leaves nothing. The etcd is a server
// of the test's own, since turning auth on would lock the other tests out.
func TestConfinedUserCommands(t *testing.T) {
	const prefix = "/tenant-a"
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	// Every stream a client opens authenticates anew (bcrypt): the least
	// cost, for a test process under the race detector.
	srv, err := etcdtest.Start(ctx, etcdtest.Options{NoFsync: true, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	eps := strings.Join(srv.Endpoints(), ",")
	admin := authClient(t, eps, "", "")
	if err := authsetup.Enable(ctx, admin, prefix); err != nil {
		t.Fatal(err)
	}
	root := authClient(t, eps, authsetup.Root, authsetup.RootPassword)
	env := []string{"FAIRLOCK_ENDPOINTS=" + eps} // after the package's etcd in the environment: this one wins
	tenantFlag := "--user=" + authsetup.Tenant + ":" + authsetup.TenantPassword
	readerFlag := "--user=" + authsetup.Reader + ":" + authsetup.ReaderPassword
	dir := t.TempDir()
	job := prefix + "/job"

	// exec holds the lock while its command runs, in the tenant's prefix.
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	holder := start(t, env, "exec", tenantFlag, "--ignore-yield", job, "--",
		"sh", "-c", `echo "$FAIRLOCK_TOKEN" > "$0"; while [ ! -e "$1" ]; do sleep 0.02; done`, started, release)
	eventually(t, "exec to run its command", func() bool {
		if holder.exited() {
			t.Fatalf("exec exited %d; stderr: %s", holder.wait(), holder.Stderr())
		}
		return len(lines(t, started)) == 1
	})
	token, err := strconv.ParseInt(lines(t, started)[0], 10, 64)
	if err != nil || token <= 0 {
		t.Fatalf("the command's FAIRLOCK_TOKEN: %q", lines(t, started))
	}

	p, code := run(t, env, "ls", tenantFlag, "--json", job)
	if code != 0 {
		t.Fatalf("ls: exit %d; stderr: %s", code, p.Stderr())
	}
	var line struct {
		Entries []struct {
			State string `json:"state"`
			Token int64  `json:"token"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(p.Stdout()), &line); err != nil || len(line.Entries) != 1 ||
		line.Entries[0].State != "holding" || line.Entries[0].Token != token {
		t.Fatalf("ls --json: %q (%v), want the holder with token %d", p.Stdout(), err, token)
	}
	p, code = run(t, env, "ls", tenantFlag, "--prefix", prefix)
	if code != 0 || !strings.Contains(p.Stdout(), job) {
		t.Fatalf("ls --prefix %s: exit %d, stdout %q, stderr %q", prefix, code, p.Stdout(), p.Stderr())
	}
	p, code = run(t, env, "yield", tenantFlag, "--reason", "tenant", job)
	if code != 0 {
		t.Fatalf("yield: exit %d; stderr: %s", code, p.Stderr())
	}

	// ls --prefix / reads keys the tenant may not read: refused at once.
	begin := time.Now()
	p, code = run(t, env, "ls", tenantFlag, "--prefix", "/")
	if code != 77 {
		t.Fatalf("ls --prefix / as the tenant: exit %d, want 77; stderr: %s", code, p.Stderr())
	}
	oneLine(t, "ls --prefix / stderr", p.Stderr())
	if msg := p.Stderr(); !strings.Contains(msg, "keys under /:") || !strings.Contains(msg, "permission denied") {
		t.Errorf("ls --prefix / as the tenant said %q, want the prefix it may not read and why", msg)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("ls --prefix / took %v to be refused", took)
	}

	// A wrong password exits 77 from every command, those that hold
	// nothing as exec does.
	for _, args := range [][]string{{"ls", job}, {"rm", job, job + "/.x/by-hand"}, {"yield", job}, {"exec", job, "--", "true"}} {
		p, code := run(t, env, append([]string{args[0], "--user=" + authsetup.Tenant + ":wrong"}, args[1:]...)...)
		if code != 77 {
			t.Errorf("%s with a wrong password: exit %d, want 77; stderr: %s", args[0], code, p.Stderr())
		}
	}

	// The reader may look, and is refused the lock at once.
	p, code = run(t, env, "ls", readerFlag, job)
	if code != 0 {
		t.Fatalf("ls as the reader: exit %d; stderr: %s", code, p.Stderr())
	}
	ran := filepath.Join(dir, "reader-ran")
	p, code = run(t, env, "exec", readerFlag, prefix+"/other", "--", "touch", ran)
	if code != 77 || exists(ran) {
		t.Fatalf("exec as the reader: exit %d (want 77), ran %v; stderr: %s", code, exists(ran), p.Stderr())
	}
	oneLine(t, "the reader's exec stderr", p.Stderr())
	if !strings.Contains(p.Stderr(), prefix+"/other") {
		t.Errorf("the reader's exec said %q, want the lock's name", p.Stderr())
	}

	writeFile(t, release, "")
	holder.wantExit(0)

	// observe and elect: the tenant observes its own election.
	election := prefix + "/leader"
	obs := start(t, env, "observe", tenantFlag, election)
	eventually(t, "observe to say nobody leads", func() bool { return len(lines(t, obs.stdout)) == 1 })
	led := filepath.Join(dir, "led")
	p, code = run(t, env, "elect", tenantFlag, election, "--", "touch", led)
	if code != 0 || !exists(led) {
		t.Fatalf("elect: exit %d, ran %v; stderr: %s", code, exists(led), p.Stderr())
	}
	eventually(t, "observe to print the term and the vacancy after it", func() bool {
		return len(lines(t, obs.stdout)) >= 3
	})
	if got := lines(t, obs.stdout); !strings.HasPrefix(got[1], "leader ") || got[2] != "none" {
		t.Errorf("observe printed %q, want none, a leader, none", got)
	}
	obs.signal(syscall.SIGTERM)
	obs.wantExit(0)

	// rm: a stray key without a lease (written by hand) wedges a line.
	stray := prefix + "/wedged/.x/by-hand"
	if _, err := root.Put(ctx, stray, "someone"); err != nil {
		t.Fatal(err)
	}
	p, code = run(t, env, "rm", tenantFlag, prefix+"/wedged", stray)
	if code != 0 {
		t.Fatalf("rm: exit %d; stderr: %s", code, p.Stderr())
	}

	from, _ := authsetup.Range(prefix)
	if left := keysUnder(t, root, from); len(left) != 0 {
		t.Errorf("keys left under %s: %q", from, left)
	}
}

// authClient returns a client of eps logged in as user (none for ""),
// closed when the test ends.
func authClient(t *testing.T, eps, user, password string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(eps, ","), DialTimeout: 5 * time.Second,
		Logger: zap.NewNop(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
