package main

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/examples/internal/exampletest"
)

var (
	termLine  = regexp.MustCompile(`(?m)term +(\d+): (cand-\d+) leads \(token (\d+)\)(?:, (\S+) after (cand-\d+) crashed)?$`)
	crashLine = regexp.MustCompile(`(?m)term +(\d+): (cand-\d+) CRASHES mid-term`)
)

// TestRun runs the program with each way of crashing and checks its
// printout independently of its own verdict: one term after another with
// rising tokens, the crashed leader never leads again, the turn passed on
// (at once when the lease is revoked, only after it expired otherwise), and
// the live candidates led in a fixed repeating order.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		crash    string
		ttl      int
		minDelay time.Duration // between the crash and the next term
		maxDelay time.Duration
	}{
		// Revoked: no waiting for the lease; the bound only has to stay
		// below the TTL, generously, for a loaded machine.
		{crash: crashRevoke, ttl: 10, maxDelay: 5 * time.Second},
		// Expired: the lease outlives the crash by at least a third of the
		// TTL, as keepalives go out every TTL/3.
		{crash: crashExpire, ttl: 2, minDelay: 1200 * time.Millisecond, maxDelay: 15 * time.Second},
	} {
		t.Run(tc.crash, func(t *testing.T) {
			cfg := config{
				embed:      etcdtest.Options{NoFsync: true},
				name:       "/test/leader",
				candidates: 4,
				terms:      11,
				term:       50 * time.Millisecond,
				crashTerm:  6,
				crash:      tc.crash,
				ttl:        tc.ttl,
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out exampletest.Output
			if err := run(ctx, cfg, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			text := out.String()
			t.Logf("output:\n%s", text)
			if !regexp.MustCompile(`(?m)^OK: 3 live candidates led`).MatchString(text) {
				t.Errorf("no OK verdict for 3 live candidates")
			}
			if !regexp.MustCompile(`(?m)^OK: .*an observer saw every term, in order`).MatchString(text) {
				t.Errorf("no observer in the verdict")
			}

			crash := crashLine.FindStringSubmatch(text)
			if crash == nil || crash[1] != "6" {
				t.Fatalf("no crash in term 6: %q", crash)
			}
			crashed := crash[2]
			var leaders []string
			var lastToken int64
			for i, m := range termLine.FindAllStringSubmatch(text, -1) {
				if m[1] != strconv.Itoa(i+1) {
					t.Fatalf("term %s printed as the %dth term", m[1], i+1)
				}
				token, _ := strconv.ParseInt(m[3], 10, 64)
				if token <= lastToken {
					t.Errorf("term %s: token %d not above %d", m[1], token, lastToken)
				}
				lastToken = token
				leaders = append(leaders, m[2])
				if i+1 == 7 {
					if m[5] != crashed {
						t.Errorf("term 7 does not follow %s's crash: %q", crashed, m[0])
					}
					delay, err := time.ParseDuration(m[4])
					if err != nil || delay < tc.minDelay || delay > tc.maxDelay {
						t.Errorf("turn passed %s after the crash, want between %v and %v", m[4], tc.minDelay, tc.maxDelay)
					}
				}
			}
			if len(leaders) != cfg.terms {
				t.Fatalf("%d terms printed, want %d", len(leaders), cfg.terms)
			}
			if leaders[5] != crashed || slices.Contains(leaders[6:], crashed) {
				t.Errorf("%s crashed in term 6, leaders %v", crashed, leaders)
			}
			// Round robin: 4 in a fixed order until the crash, then the 3
			// others in the same order as before.
			var live []string
			for i, l := range leaders {
				if i < 4 && slices.Contains(leaders[:i], l) {
					t.Errorf("%s led twice in the first round: %v", l, leaders)
				}
				if i >= 4 && i < 6 && l != leaders[i-4] {
					t.Errorf("term %d out of turn: %v", i+1, leaders)
				}
				if l != crashed {
					live = append(live, l)
				}
			}
			for i := 3; i < len(live); i++ {
				if live[i] != live[i-3] {
					t.Errorf("live candidates out of turn: %v", live)
				}
			}
		})
	}
}

// TestCheck shows that the final check catches each kind of unfairness.
func TestCheck(t *testing.T) {
	good := history{
		candidates: []string{"a", "b", "c", "d"},
		leaders:    []string{"b", "c", "d", "a", "b", "c", "d", "a", "b", "d", "a", "b"},
		crashed:    "c", crashTerm: 6,
	}
	if _, err := good.check(); err != nil {
		t.Fatalf("check(good) = %v", err)
	}
	noCrash := history{candidates: []string{"a", "b"}, leaders: []string{"a", "b", "a"}}
	if _, err := noCrash.check(); err != nil {
		t.Fatalf("check(noCrash) = %v", err)
	}
	observed := noCrash
	observed.observed = []string{"a", "b", "a", "b"} // one more as the run winds down
	if _, err := observed.check(); err != nil {
		t.Fatalf("check(observed) = %v", err)
	}
	tests := map[string]func(h *history){
		"overlap":               func(h *history) { h.overlapTerm = 3 },
		"crashed leads again":   func(h *history) { h.leaders[10] = "c" },
		"crash in another term": func(h *history) { h.crashTerm = 5 },
		"out of turn before the crash": func(h *history) {
			h.leaders[4], h.leaders[5] = h.leaders[5], h.leaders[4]
			h.crashTerm = 5
		},
		"out of turn after the crash": func(h *history) { h.leaders[9], h.leaders[10] = h.leaders[10], h.leaders[9] },
		"twice in the first round":    func(h *history) { h.leaders[2] = "b" },
		"one starved":                 func(h *history) { h.leaders = []string{"a", "b", "a", "b", "a", "b"}; h.crashed = "" },
		"observer missed a term":      func(h *history) { h.observed = append(append(slices.Clone(h.leaders[:3]), h.leaders[4:]...), "a") },
		"observer saw too few":        func(h *history) { h.observed = slices.Clone(h.leaders[:len(h.leaders)-1]) },
	}
	for name, spoil := range tests {
		h := good
		h.leaders = slices.Clone(good.leaders)
		spoil(&h)
		if _, err := h.check(); err == nil {
			t.Errorf("%s: check passed %+v", name, h)
		}
	}
}
