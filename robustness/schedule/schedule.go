package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault. Member faults act on etcd processes and their peer
// links, client faults on worker processes and their links to the cluster.
const (
	KillLeader    Kind = "kill-leader"    // SIGKILL the raft leader; restart it after Len
	StopFollower  Kind = "stop-follower"  // SIGSTOP a follower for Len, then SIGCONT
	IsolateMember Kind = "isolate-member" // cut a member from the others, both ways, for Len
	OneWayMember  Kind = "oneway-member"  // a member's messages to the others lost for Len; theirs reach it
	PauseClient   Kind = "pause-client"   // SIGSTOP a worker past its session's TTL, then SIGCONT
	IsolateClient Kind = "isolate-client" // cut a worker from every member, both ways, past its TTL
	OneWayClient  Kind = "oneway-client"  // a worker's requests reach etcd, the replies are lost, past its TTL
	KillHolder    Kind = "kill-holder"    // SIGKILL a worker of a workload while it holds; restart it after Len
	KillWaiter    Kind = "kill-waiter"    // SIGKILL a worker of a workload while it waits; restart it after Len
	CutExec       Kind = "cut-exec"       // cut a fairlock exec from the cluster while its job runs, past its TTL
	Outage        Kind = "outage"         // SIGKILL every member; restart them after Len (the schedule's last)
)

// Kinds is every kind that takes part in the round robin (Outage ends
// every schedule instead).
var Kinds = []Kind{KillLeader, StopFollower, IsolateMember, OneWayMember, PauseClient,
	IsolateClient, OneWayClient, KillHolder, KillWaiter, CutExec}

// Fault is one fault of a schedule.
type Fault struct {
	Seq    int           // place in the schedule, from 1
	At     time.Duration // from the start of the schedule
	Len    time.Duration // how long it lasts
	Kind   Kind
	Target string // a member ("m1"), a follower by rank ("follower 2"), a worker, or a workload
}

func (f Fault) String() string {
	return fmt.Sprintf("#%d %-14s %-12s at %6.1fs for %.1fs", f.Seq, f.Kind, f.Target, f.At.Seconds(), f.Len.Seconds())
}

// Config is what a schedule is drawn from.
type Config struct {
	Seed int64
	Dur  time.Duration // faults start before Dur; the outage comes after
	TTL  time.Duration // the workers' session TTL: client faults outlast it
	// Kinds in the round robin, in any order (the seed shuffles them); nil
	// means Kinds.
	Kinds []Kind
	// Members is how many etcd members there are.
	Members int
	// Clients are the workers a client fault may pause or cut; Holders
	// the workloads whose holder or waiter may be killed; Execs the
	// workloads of fairlock exec processes that CutExec may cut.
	Clients, Holders, Execs []string
}

// Errors of Plan.
var (
	ErrNoTargets = errors.New("fairlock: robustness: a kind of fault has nothing to act on")
	ErrBadKind   = errors.New("fairlock: robustness: unknown kind of fault")
)

// Gaps: the quiet spell after each fault, so that the cluster and the
// workers get back to work (and the checkers see them do so) in between.
const (
	minGap = 1500 * time.Millisecond
	maxGap = 3 * time.Second
)

// Plan draws the schedule. The same Config gives the same schedule.
func Plan(cfg Config) ([]Fault, error) {
	kinds := cfg.Kinds
	if kinds == nil {
		kinds = Kinds
	}
	kinds = slices.Clone(kinds)
	slices.Sort(kinds) // the order given does not matter, only the seed
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%w: %q (known: %s)", ErrBadKind, k, strings.Join(names(Kinds), ", "))
		}
		if len(targets(k, cfg)) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoTargets, k)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6661697266617573))
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	var plan []Fault
	at := between(rng, minGap, maxGap)
	for i := 0; len(kinds) > 0 && at < cfg.Dur; i++ {
		k := kinds[i%len(kinds)]
		ts := targets(k, cfg)
		f := Fault{Seq: len(plan) + 1, At: at, Kind: k, Len: length(rng, k, cfg.TTL), Target: ts[rng.IntN(len(ts))]}
		plan = append(plan, f)
		at += f.Len + between(rng, minGap, maxGap)
	}
	at = max(at, cfg.Dur)
	plan = append(plan, Fault{Seq: len(plan) + 1, At: at, Kind: Outage, Len: length(rng, Outage, cfg.TTL), Target: "all"})
	return plan, nil
}

// length is how long a fault of kind k lasts: client faults outlast the
// TTL (that is their point), member faults last long enough for an
// election.
func length(rng *rand.Rand, k Kind, ttl time.Duration) time.Duration {
	switch k {
	case KillLeader:
		return between(rng, time.Second, 2*time.Second)
	case StopFollower, IsolateMember, OneWayMember:
		return between(rng, 2*time.Second, 4*time.Second)
	case PauseClient, IsolateClient, OneWayClient, CutExec:
		return ttl + between(rng, time.Second, 2*time.Second)
	case KillHolder, KillWaiter:
		return between(rng, 500*time.Millisecond, time.Second)
	case Outage:
		return between(rng, 2*time.Second, 3*time.Second)
	}
	return 0
}

func targets(k Kind, cfg Config) []string {
	switch k {
	case KillLeader:
		return []string{"leader"}
	case StopFollower:
		var fs []string
		for i := 1; i < cfg.Members; i++ {
			fs = append(fs, fmt.Sprintf("follower %d", i))
		}
		return fs
	case IsolateMember, OneWayMember:
		var ms []string
		for i := 1; i <= cfg.Members; i++ {
			ms = append(ms, fmt.Sprintf("m%d", i))
		}
		return ms
	case PauseClient, IsolateClient, OneWayClient:
		return cfg.Clients
	case KillHolder, KillWaiter:
		return cfg.Holders
	case CutExec:
		return cfg.Execs
	}
	return nil
}

// between is a duration in [lo, hi), in whole 100 ms steps so that a
// printed schedule reads as it runs.
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	steps := int((hi - lo) / (100 * time.Millisecond))
	return lo + time.Duration(rng.IntN(max(steps, 1)))*100*time.Millisecond
}

// ParseKinds reads a comma-separated list of kinds ("" for nil: every kind).
func ParseKinds(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ks []Kind
	for _, f := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(f))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%w: %q (known: %s)", ErrBadKind, k, strings.Join(names(Kinds), ", "))
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func names(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}
