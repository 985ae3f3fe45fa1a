package check_test

import (
	"slices"
	"testing"

	"github.com/fairlock/fairlock/robustness/check"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want check.Entry
		ok   bool
	}{
		{"/r/m/.x/abc", check.Entry{Lock: "/r/m", Kind: check.Exclusive, Weight: 1}, true},
		{"/r/m/.s/abc", check.Entry{Lock: "/r/m", Kind: check.Shared, Weight: 1}, true},
		{"/r/sem/.p/3/abc", check.Entry{Lock: "/r/sem", Kind: check.Permit, Limit: 3, Weight: 1}, true},
		{"/r/sem/.p/3/abc@2", check.Entry{Lock: "/r/sem", Kind: check.Permit, Limit: 3, Weight: 2}, true},
		{"/a/b/.x/1", check.Entry{Lock: "/a/b", Kind: check.Exclusive, Weight: 1}, true},
		{"/r/m/.a/x/abc", check.Entry{}, false},  // a yield request
		{"/r/m/.a/.x/abc", check.Entry{}, false}, // no lock name has a "." segment
		{"/r/m/register", check.Entry{}, false},
		{"/r/sem/.p/x/abc", check.Entry{}, false},
		{"/r/sem/.p/3/abc@0", check.Entry{}, false},
		{"/r/m/.x/", check.Entry{}, false},
		// Tenants: a tagged entry of the lock's line, an admission entry.
		{"/r/m/.x/abc#team-a", check.Entry{Lock: "/r/m", Kind: check.Exclusive, Weight: 1, Tenant: "team-a"}, true},
		{"/r/sem/.p/3/abc@2#t", check.Entry{Lock: "/r/sem", Kind: check.Permit, Limit: 3, Weight: 2, Tenant: "t"}, true},
		{"/r/a#b/.x/abc", check.Entry{Lock: "/r/a#b", Kind: check.Exclusive, Weight: 1}, true},
		{"/r/m/.q/t/.p/2/abc", check.Entry{Lock: "/r/m/.q/t", Kind: check.Permit, Limit: 2, Weight: 1, Tenant: "t",
			Admission: true}, true},
		{"/r/m/.x/abc#", check.Entry{}, false},
		{"/r/m/.q/t/.x/abc", check.Entry{}, false},     // an admission line holds permits only
		{"/r/m/.q/t/.p/2/abc@2", check.Entry{}, false}, // of weight 1
		{"/r/m/.q/.t/.p/2/abc", check.Entry{}, false},
	} {
		got, ok := check.ParseKey(tc.key)
		tc.want.Key = tc.key
		if !ok {
			tc.want = check.Entry{}
		}
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEntitled(t *testing.T) {
	x := check.Entry{Kind: check.Exclusive, Weight: 1}
	s := check.Entry{Kind: check.Shared, Weight: 1}
	p := func(w int) check.Entry { return check.Entry{Kind: check.Permit, Limit: 3, Weight: w} }
	for _, tc := range []struct {
		name string
		line []check.Entry
		want []bool
	}{
		{"empty", nil, []bool{}},
		{"mutex: the head only", []check.Entry{x, x, x}, []bool{true, false, false}},
		{"readers together", []check.Entry{s, s, s}, []bool{true, true, true}},
		{"a writer waits for readers", []check.Entry{s, s, x, s}, []bool{true, true, false, false}},
		{"readers wait for a writer", []check.Entry{x, s, s}, []bool{true, false, false}},
		{"permits while they fit", []check.Entry{p(1), p(2), p(1)}, []bool{true, true, false}},
		{"no overtaking", []check.Entry{p(2), p(2), p(1)}, []bool{true, false, false}},
		{"exactly full", []check.Entry{p(3), p(1)}, []bool{true, false}},
		{"permits beside a mutex line", []check.Entry{x, p(1), x, p(2), p(1)}, []bool{true, true, false, true, false}},
	} {
		if got := check.Entitled(tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Entitled = %v, want %v", tc.name, got, tc.want)
		}
	}
}
