package cmd_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/election"
)

// observeRec is one line of observe --json, as a script reads it.
type observeRec struct {
	Name   string `json:"name"`
	Leader bool   `json:"leader"`
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	Value  string `json:"value"`
	Gap    bool   `json:"gap"`
}

// candidate is an election candidate of the test's own, through the
// library, with a session closed when the test ends.
type candidate struct {
	s *concurrency.Session
	e *election.Election
}

func newCandidate(t *testing.T, name string) *candidate {
	t.Helper()
	s, err := concurrency.NewSession(etcd(t), concurrency.WithTTL(30))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e, err := election.New(s, name)
	if err != nil {
		t.Fatal(err)
	}
	return &candidate{s: s, e: e}
}

// leads is the line observe --json prints while c leads with value.
func (c *candidate) leads(name, value string) observeRec {
	return observeRec{Name: name, Leader: true, Token: c.e.Token(), Key: c.e.Key(),
		Lease: strconv.FormatInt(int64(c.s.Lease()), 16), Value: value}
}

// observe --json prints nobody, then every term in order, every value
// proclaimed and every moment without a leader; SIGINT ends it with exit 0.
func TestObservePrintsEveryTerm(t *testing.T) {
	cli := etcd(t)
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	p := start(t, nil, "observe", "--json", name)
	recs := func() []observeRec {
		var out []observeRec
		for _, l := range lines(t, p.stdout) {
			var r observeRec
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("observe --json printed %q: %v", l, err)
			}
			out = append(out, r)
		}
		return out
	}
	nobody := observeRec{Name: name}
	want := []observeRec{nobody}
	printed := func(what string) {
		t.Helper()
		eventually(t, what, func() bool { return len(recs()) >= len(want) })
		got := recs()
		if len(got) != len(want) {
			t.Fatalf("observe printed %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("line %d: observe printed %+v, want %+v", i+1, got[i], want[i])
			}
		}
	}
	printed("observe to say nobody leads")

	a, b := newCandidate(t, name), newCandidate(t, name)
	if err := a.e.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	want = append(want, a.leads(name, "a"))
	printed("a's term")
	if err := a.e.Proclaim(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	want = append(want, a.leads(name, "a2"))
	printed("a's new value")

	bLeads := make(chan error, 1)
	go func() { bLeads <- b.e.Campaign(ctx, "b") }()
	waitEntries(t, cli, name, 2)
	aBack := make(chan error, 1)
	go func() { aBack <- a.e.Rotate(ctx) }()
	if err := <-bLeads; err != nil { // bounded by ctx
		t.Fatal(err)
	}
	want = append(want, b.leads(name, "b"))
	printed("b's term")
	if err := b.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-aBack; err != nil {
		t.Fatal(err)
	}
	want = append(want, a.leads(name, "a2"))
	printed("a's second term")
	if err := a.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	want = append(want, nobody)
	printed("nobody leading again")

	p.signal(syscall.SIGINT)
	p.wantExit(0)
	if s := p.Stderr(); s != "" {
		t.Fatalf("stderr: %s", s)
	}
}

// Without --json: one line per report; a bad call is a usage error, an
// unreachable etcd a failure.
func TestObserveText(t *testing.T) {
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	p := start(t, nil, "observe", name)
	eventually(t, "observe to say nobody leads", func() bool { return len(lines(t, p.stdout)) == 1 })
	if got := lines(t, p.stdout); got[0] != "none" {
		t.Fatalf("observe printed %q, want none", got)
	}
	c := newCandidate(t, name)
	if err := c.e.Campaign(ctx, "db1/42 ./sched"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the term", func() bool { return len(lines(t, p.stdout)) == 2 })
	want := strings.Join([]string{"leader", strconv.FormatInt(c.e.Token(), 10),
		strconv.FormatInt(int64(c.s.Lease()), 16), c.e.Key(), "db1/42 ./sched"}, " ")
	if got := lines(t, p.stdout)[1]; got != want {
		t.Fatalf("observe printed %q, want %q", got, want)
	}
	p.signal(syscall.SIGTERM)
	p.wantExit(0)

	for _, args := range [][]string{{"observe"}, {"observe", "a", "b"}, {"observe", "relative"}} {
		q, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(q.Stderr(), "observe") {
			t.Fatalf("%q: exit %d, stderr %q; want 2 and a message naming observe", args, code, q.Stderr())
		}
	}
	// Nothing to observe through: exit 1, naming the endpoint, not a hang.
	q, code := run(t, nil, "--endpoints", "127.0.0.1:1", "--dial-timeout", "1s", "observe", name)
	if code != 1 || !strings.Contains(q.Stderr(), "127.0.0.1:1") {
		t.Fatalf("observe with etcd unreachable: exit %d, stderr %q; want 1 naming the endpoint", code, q.Stderr())
	}
}
