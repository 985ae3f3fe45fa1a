package metriclabel_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fairlock/fairlock/internal/metriclabel"
)

func TestLock(t *testing.T) {
	upper := func(s string) string { return strings.ToUpper(s) }
	for _, tc := range []struct {
		name  string
		group func(string) string
		in    string
		want  string
	}{
		{"kept", nil, "/jobs/a", "/jobs/a"},
		{"grouped", upper, "/jobs/a", "/JOBS/A"},
		{"invalid UTF-8 replaced", nil, "/jobs/\xff", "/jobs/\uFFFD"},
		{"grouped, then made valid", func(string) string { return "\xfe" }, "/a", "\uFFFD"},
	} {
		if got := metriclabel.Lock(tc.group, tc.in); got != tc.want {
			t.Errorf("%s: Lock(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestLoss(t *testing.T) {
	for _, tc := range []struct {
		expired, granted bool
		reason, state    string
	}{
		{false, false, metriclabel.ReasonDeleted, metriclabel.StateWaiting},
		{false, true, metriclabel.ReasonDeleted, metriclabel.StateHeld},
		{true, false, metriclabel.ReasonExpired, metriclabel.StateWaiting},
		{true, true, metriclabel.ReasonExpired, metriclabel.StateHeld},
	} {
		reason, state := metriclabel.Loss(tc.expired, tc.granted)
		if reason != tc.reason || state != tc.state {
			t.Errorf("Loss(expired %v, granted %v) = %s, %s; want %s, %s",
				tc.expired, tc.granted, reason, state, tc.reason, tc.state)
		}
	}
}

// Each (label, kind) pair is made once, under the grouped label, however
// many goroutines ask at once.
func TestSeriesMakesEachPairOnce(t *testing.T) {
	var made atomic.Int64
	type series struct{ lock, kind string }
	s := metriclabel.NewSeries(func(name string) string { return name[:2] }, func(lock, kind string) *series {
		made.Add(1)
		return &series{lock, kind}
	})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, name := range []string{"/a/1", "/a/2", "/b/1"} {
				s.Get(name, "exclusive")
			}
		}()
	}
	wg.Wait()
	if got := made.Load(); got != 2 {
		t.Errorf("made %d series, want 2 (/a and /b)", got)
	}
	if got := s.Get("/a/9", "shared"); got.lock != "/a" || got.kind != "shared" {
		t.Errorf("Get = %+v, want /a shared", got)
	}
	if s.Get("/a/1", "exclusive") != s.Get("/a/2", "exclusive") {
		t.Error("one pair gave two values")
	}
	if got := s.Label("/\xff/x"); got != "/\uFFFD" {
		t.Errorf("Label = %q, want the grouped name made valid", got)
	}
}
