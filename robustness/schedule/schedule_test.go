package schedule_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fairlock/fairlock/robustness/schedule"
)

var base = schedule.Config{
	Seed: 1, Dur: 60 * time.Second, TTL: 3 * time.Second, Members: 3,
	Clients: []string{"mutex-1", "sem-1"}, Holders: []string{"mutex", "semaphore"}, Execs: []string{"exec"},
}

func plan(t *testing.T, cfg schedule.Config) []schedule.Fault {
	t.Helper()
	p, err := schedule.Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The schedule is a function of its Config: a seed replays it exactly, and
// another seed draws another.
func TestPlanReplaysBySeed(t *testing.T) {
	a, b := plan(t, base), plan(t, base)
	if !slices.Equal(a, b) {
		t.Fatalf("the same seed drew two schedules:\n%v\n%v", a, b)
	}
	other := base
	other.Seed = 2
	if slices.Equal(a, plan(t, other)) {
		t.Fatal("seeds 1 and 2 drew the same schedule")
	}
	shuffled := base
	shuffled.Kinds = slices.Clone(schedule.Kinds)
	slices.Reverse(shuffled.Kinds)
	if !slices.Equal(a, plan(t, shuffled)) {
		t.Fatal("the order the kinds were given in changed the schedule")
	}
}

// Faults come one at a time, round robin: every kind once before any comes
// twice, each with a target of its own sort, client faults outlasting the
// TTL; the outage comes last, after Dur.
func TestPlanShape(t *testing.T) {
	for _, tc := range []struct {
		name string
		dur  time.Duration
	}{{"short", 30 * time.Second}, {"long", 10 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Dur = tc.dur
			p := plan(t, cfg)
			last := p[len(p)-1]
			if last.Kind != schedule.Outage || last.At < tc.dur {
				t.Fatalf("last fault %v: want the outage, at or after %v", last, tc.dur)
			}
			seen := map[schedule.Kind]int{}
			var end time.Duration
			for i, f := range p[:len(p)-1] {
				if f.Seq != i+1 || f.At < end || f.At >= tc.dur || f.Len <= 0 {
					t.Fatalf("fault %v: out of place (previous ended at %v)", f, end)
				}
				end = f.At + f.Len
				seen[f.Kind]++
				if want := i/len(schedule.Kinds) + 1; seen[f.Kind] != want {
					t.Fatalf("fault %v: its kind's turn %d, want %d (round robin)", f, seen[f.Kind], want)
				}
				switch f.Kind {
				case schedule.PauseClient, schedule.IsolateClient, schedule.OneWayClient:
					if !slices.Contains(base.Clients, f.Target) || f.Len <= base.TTL {
						t.Fatalf("fault %v: want a client of %v, longer than the TTL", f, base.Clients)
					}
				case schedule.KillHolder, schedule.KillWaiter:
					if !slices.Contains(base.Holders, f.Target) {
						t.Fatalf("fault %v: want a workload of %v", f, base.Holders)
					}
				case schedule.KillLeader:
					if f.Target != "leader" {
						t.Fatalf("fault %v: want the leader", f)
					}
				}
			}
			if tc.dur >= time.Minute && len(seen) != len(schedule.Kinds) {
				t.Fatalf("a %v schedule has %d kinds of %d: %v", tc.dur, len(seen), len(schedule.Kinds), seen)
			}
		})
	}
}

// A schedule restricted to some kinds uses those only; a kind with nothing
// to act on, or unknown, is an error, never a schedule without it.
func TestPlanKinds(t *testing.T) {
	cfg := base
	cfg.Kinds = []schedule.Kind{schedule.CutExec}
	for _, f := range plan(t, cfg) {
		if f.Kind != schedule.CutExec && f.Kind != schedule.Outage {
			t.Fatalf("fault %v in a cut-exec schedule", f)
		}
	}
	cfg.Execs = nil
	if _, err := schedule.Plan(cfg); !errors.Is(err, schedule.ErrNoTargets) {
		t.Fatalf("cut-exec without exec workloads: %v, want ErrNoTargets", err)
	}
	if _, err := schedule.ParseKinds("kill-leader, bogus"); !errors.Is(err, schedule.ErrBadKind) {
		t.Fatalf("ParseKinds(bogus) = %v, want ErrBadKind", err)
	}
	ks, err := schedule.ParseKinds("kill-leader,cut-exec")
	if err != nil || !slices.Equal(ks, []schedule.Kind{schedule.KillLeader, schedule.CutExec}) {
		t.Fatalf("ParseKinds = %v, %v", ks, err)
	}
}
