package fairlockprom_test

import (
	"testing"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
)

func TestGroupByPrefix(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		want  string
	}{
		{"/jobs/nightly/2024-05-01", 2, "/jobs/nightly"},
		{"/jobs/nightly/2024-05-01", 1, "/jobs"},
		{"/jobs/nightly/2024-05-01", 3, "/jobs/nightly/2024-05-01"},
		{"/jobs/nightly/2024-05-01", 9, "/jobs/nightly/2024-05-01"},
		{"/jobs", 1, "/jobs"},
		{"/jobs", 2, "/jobs"},
		{"/jobs/nightly", 0, "/"},
		{"/jobs/nightly", -3, "/"},
		{"", 1, ""},
		{"relative/name", 1, "relative/name"}, // not a lock name; left alone
	}
	for _, tt := range tests {
		if got := fairlockprom.GroupByPrefix(tt.depth)(tt.name); got != tt.want {
			t.Errorf("GroupByPrefix(%d)(%q) = %q, want %q", tt.depth, tt.name, got, tt.want)
		}
	}
}

func TestGroupByPrefixDoesNotAllocate(t *testing.T) {
	g := fairlockprom.GroupByPrefix(2)
	if n := testing.AllocsPerRun(100, func() { _ = g("/jobs/nightly/2024-05-01") }); n != 0 {
		t.Errorf("GroupByPrefix allocates %v times per call", n)
	}
}

func TestGroupKnown(t *testing.T) {
	g := fairlockprom.GroupKnown("/jobs/nightly", "/config")
	tests := map[string]string{
		"/jobs/nightly":   "/jobs/nightly",
		"/config":         "/config",
		"/jobs/nightly/x": fairlockprom.Other,
		"/jobs":           fairlockprom.Other,
		"":                fairlockprom.Other,
	}
	for name, want := range tests {
		if got := g(name); got != want {
			t.Errorf("GroupKnown(...)(%q) = %q, want %q", name, got, want)
		}
	}
	if got := fairlockprom.GroupKnown()("/a"); got != fairlockprom.Other {
		t.Errorf("GroupKnown()(\"/a\") = %q, want %q", got, fairlockprom.Other)
	}
}
