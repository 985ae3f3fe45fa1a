// Command rotation rotates leadership fairly among candidates, round-robin,
// and shows a crashed leader being skipped.
//
// Each candidate, with its own etcd client and session as if on its own
// machine, leads through one call, election.Election.Lead with
// election.RotateEvery: Lead campaigns in one fairlock election, which puts
// the candidate in a line served in arrival order; leading, it runs one
// term of work, until the period ends its context; then it hands the lead
// to the next in line and rejoins at the tail, in one transaction (Rotate),
// and runs the next term when its turn comes again. So the candidates lead
// in turn, in a fixed repeating order. An observer on a node of its own
// (election.Observe) is told of every term. When the run ends, every Lead
// resigns and returns nil.
//
// In the middle of one term the leader crashes: its session ends and its
// lease goes, taking its place in the line with it, so the turn passes on
// and the crashed candidate is never leader again. With -crash revoke (the
// default) the lease is revoked, as when a process exits and its session is
// closed; with -crash expire the session just stops refreshing the lease,
// as a hung or killed machine would, and the turn passes once the lease
// expires, -ttl seconds later.
//
// At the end the program prints the sequence of leaders and checks that it
// is fair: the live candidates lead in a repeating order, each the same
// number of terms give or take one, and the observer saw every term in
// order. It ends with "OK: ..." (exit status 0) or "FAIL: ..." (exit
// status 1).
//
//	go run ./examples/rotation
//	go run ./examples/rotation -candidates 5 -terms 20 -crash-term 8
//	go run ./examples/rotation -crash expire -ttl 2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/examples/internal/cluster"
)

// Ways to crash, for -crash.
const (
	crashRevoke = "revoke"
	crashExpire = "expire"
)

type config struct {
	endpoints  string           // "" starts an embedded etcd
	embed      etcdtest.Options // for the embedded etcd
	name       string           // lock name of the line
	candidates int
	terms      int           // terms to run in all
	term       time.Duration // length of a term
	crashTerm  int           // the leader of this term crashes; 0: nobody
	crash      string        // crashRevoke or crashExpire
	ttl        int           // session TTL, seconds
}

func main() {
	var cfg config
	flag.StringVar(&cfg.endpoints, "endpoints", cluster.DefaultEndpoints(), cluster.EndpointsUsage)
	flag.StringVar(&cfg.name, "name", "/fairlock-examples/leader", "lock name of the candidates' line (its keys live under NAME/)")
	flag.IntVar(&cfg.candidates, "candidates", 4, "number of candidates, each with its own client and session")
	flag.IntVar(&cfg.terms, "terms", 12, "number of terms to run")
	flag.DurationVar(&cfg.term, "term", 300*time.Millisecond, "length of a term")
	flag.IntVar(&cfg.crashTerm, "crash-term", 6, "the leader of this term crashes halfway through it (0: no crash)")
	flag.StringVar(&cfg.crash, "crash", crashRevoke, `how the leader crashes: "revoke" (its session is closed, its lease revoked) or "expire" (it stops refreshing its lease, which expires after -ttl)`)
	flag.IntVar(&cfg.ttl, "ttl", 5, "session TTL in seconds: how long a silent candidate keeps its place")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: rotation [flags]\n\n"+
			"Candidates on separate sessions take turns as leader, round-robin, through one\n"+
			"fairlock line; a leader that crashes is skipped and the turn passes on.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "rotation:", err)
		os.Exit(2)
	}

	cluster.Main("rotation", func(ctx context.Context, out io.Writer) error { return run(ctx, cfg, out) })
}

func (cfg config) validate() error {
	switch {
	case cfg.candidates < 2:
		return errors.New("-candidates must be at least 2")
	case cfg.terms < 1:
		return errors.New("-terms must be at least 1")
	case cfg.term <= 0:
		return errors.New("-term must be positive")
	case cfg.crashTerm < 0:
		return errors.New("-crash-term must not be negative")
	case cfg.crash != crashRevoke && cfg.crash != crashExpire:
		return fmt.Errorf("-crash must be %q or %q", crashRevoke, crashExpire)
	case cfg.ttl < 1:
		return errors.New("-ttl must be at least 1")
	}
	return nil
}

// run starts or connects to etcd, runs the rotation and checks it.
func run(ctx context.Context, cfg config, out io.Writer) error {
	c, err := cluster.Open(ctx, cfg.endpoints, cfg.embed, out)
	if err != nil {
		return err
	}
	defer c.Close()

	crash := "no crash"
	if cfg.crashTerm > 0 && cfg.crashTerm <= cfg.terms {
		crash = fmt.Sprintf("the leader of term %d crashes halfway through it (%s)", cfg.crashTerm, cfg.crash)
	}
	fmt.Fprintf(out, "%d candidates, %d terms of %v; %s\n", cfg.candidates, cfg.terms, cfg.term, crash)
	h, err := rotate(ctx, c, cfg, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "leaders: %s\n", h.sequence())
	verdict, err := h.check()
	if err != nil {
		fmt.Fprintf(out, "FAIL: %v\n", err)
		return fmt.Errorf("%w: %v", cluster.ErrCheckFailed, err)
	}
	fmt.Fprintf(out, "OK: %s\n", verdict)
	return nil
}
