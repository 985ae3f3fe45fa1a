package keys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fairlock/fairlock/internal/keys"
)

func TestValidate(t *testing.T) {
	good := []string{"/a", "/a/b", "/jobs/nightly-2026", "/a.b/c_d", "/ünï/cödé", "/" + strings.Repeat("x", keys.MaxNameLen-1)}
	for _, name := range good {
		if err := keys.Validate(name); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", name, err)
		}
	}
	bad := map[string]string{
		"":          "empty",
		"a":         "relative",
		"a/b":       "relative",
		"/":         "root",
		"/a/":       "trailing slash",
		"//a":       "empty path segment",
		"/a//b":     "empty path segment",
		"/.x":       "reserved",
		"/a/.s/b":   "reserved",
		"/a/..":     "reserved",
		"/a/.":      "reserved",
		"/a\x00b":   "control",
		"/a\nb":     "control",
		"/a\x7fb":   "control",
		"/a\u0085b": "control",
		"/\xff":     "UTF-8",
		"/" + strings.Repeat("x", keys.MaxNameLen): "long",
	}
	for name, want := range bad {
		err := keys.Validate(name)
		if !errors.Is(err, keys.ErrInvalidName) {
			t.Errorf("Validate(%q) = %v, want ErrInvalidName", name, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%q) = %q, want it to mention %q", name, err, want)
		}
	}
}

func TestLayoutSeparatesNestedLocks(t *testing.T) {
	a, _ := keys.New("/a")
	ab, _ := keys.New("/a/b")
	abEntries := []string{ab.Entry("1", false), ab.Entry("1", true)}
	aEntries := []string{a.Entry("1", false), a.Entry("1", true)}
	for _, k := range abEntries {
		if strings.HasPrefix(k, a.Line()) {
			t.Errorf("entry %q of /a/b is inside the line of /a (%q)", k, a.Line())
		}
	}
	for _, k := range aEntries {
		if strings.HasPrefix(k, ab.Line()) {
			t.Errorf("entry %q of /a is inside the line of /a/b (%q)", k, ab.Line())
		}
		if !strings.HasPrefix(k, "/a/") {
			t.Errorf("entry %q is not under the name's directory", k)
		}
	}
	if !strings.HasPrefix(a.Entry("1", true), a.SharedPrefix()) || strings.HasPrefix(a.Entry("1", true), a.ExclusivePrefix()) {
		t.Error("shared entry not in (only) the shared sub-range")
	}
	if !strings.HasPrefix(a.Entry("1", false), a.ExclusivePrefix()) || strings.HasPrefix(a.Entry("1", false), a.SharedPrefix()) {
		t.Error("exclusive entry not in (only) the exclusive sub-range")
	}
}

func TestParseRoundTrip(t *testing.T) {
	l, _ := keys.New("/jobs/x")
	for _, shared := range []bool{false, true} {
		id := keys.SlotID(0x1234, 1, 3)
		e, err := keys.Parse(l.Entry(id, shared))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name != "/jobs/x" || e.ID != id || e.Shared != shared {
			t.Errorf("Parse = %+v, want name /jobs/x id %s shared %v", e, id, shared)
		}
	}
	for _, key := range []string{"", "/a", "/a/.x/", "/a/.y/1", "a/.x/1", "/a/.x/1/2", "/.x/1", "/a//.x/1", "/a/.p/1/"} {
		if _, err := keys.Parse(key); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", key)
		}
	}
}

func TestSlotIDsDifferBySlotAndLease(t *testing.T) {
	seen := map[string]bool{}
	for lease := range int64(3) {
		for gen := range uint64(3) {
			for slot := range 100 {
				id := keys.SlotID(lease, gen, slot)
				if seen[id] {
					t.Fatalf("SlotID(%d, %d, %d) = %q repeats an earlier id", lease, gen, slot, id)
				}
				seen[id] = true
				if id != keys.SlotID(lease, gen, slot) {
					t.Fatalf("SlotID(%d, %d, %d) is not stable", lease, gen, slot)
				}
			}
		}
	}
}

func TestPermitLayout(t *testing.T) {
	l, _ := keys.New("/pool")
	key := l.PermitEntry("abc", 12)
	if key != "/pool/.p/12/abc" {
		t.Fatalf("PermitEntry = %q", key)
	}
	e, err := keys.Parse(key)
	if err != nil || e.Name != "/pool" || e.ID != "abc" || e.Limit != 12 || e.Shared {
		t.Fatalf("Parse(%q) = %+v, %v", key, e, err)
	}
	if e.Weight != 1 {
		t.Fatalf("Parse(%q).Weight = %d, want 1", key, e.Weight)
	}
	if k := l.WeightedPermitEntry("abc", 12, 1); k != key {
		t.Fatalf("WeightedPermitEntry of weight 1 = %q, want %q: weight-1 permits keep their keys", k, key)
	}
	heavy := l.WeightedPermitEntry("abc", 12, 5)
	if e, err := keys.Parse(heavy); err != nil || heavy != "/pool/.p/12/abc@5" || e.ID != "abc" || e.Weight != 5 || e.Limit != 12 {
		t.Fatalf("Parse(%q) = %+v, %v", heavy, e, err)
	}
	for _, bad := range []string{"/pool/.p/0/abc", "/pool/.p/-1/abc", "/pool/.p/01/abc", "/pool/.p/x/abc", "/pool/.p/3",
		"/pool/.p/3/abc@1", "/pool/.p/3/abc@4", "/pool/.p/3/abc@02", "/pool/.p/3/abc@", "/pool/.p/3/@2", "/pool/.p/3/a@2@2", "/pool/.x/abc@2"} {
		if _, err := keys.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
	// Every permit of another limit is in one of OtherLimits' ranges; no
	// permit of this limit is, and nothing outside the permits is.
	in := func(k string) bool {
		for _, r := range l.OtherLimits(1) {
			if k >= r[0] && k < r[1] {
				return true
			}
		}
		return false
	}
	for _, limit := range []int{2, 10, 11, 100} {
		if k := l.PermitEntry("z", limit); !in(k) {
			t.Errorf("permit %q of limit %d not in OtherLimits(1)", k, limit)
		}
	}
	for _, k := range []string{l.PermitEntry("z", 1), l.PermitEntry("\xff", 1), l.Entry("z", false), l.Entry("z", true), "/pool0", "/pool/"} {
		if in(k) {
			t.Errorf("%q is in OtherLimits(1)", k)
		}
	}
}

// FuzzValidate checks that whatever Validate accepts makes keys that parse
// back to the same name, stay under the name's directory, and cannot be
// confused with the entries of any lock nested inside it.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"/a", "/a/b", "", "/", "a", "/a/", "//", "/.x", "/a/.s/b", "/a\x00", "/é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		l, err := keys.New(name)
		if err != nil {
			if !errors.Is(err, keys.ErrInvalidName) {
				t.Fatalf("New(%q) error %v does not wrap ErrInvalidName", name, err)
			}
			return
		}
		for _, shared := range []bool{false, true} {
			key := l.Entry("id", shared)
			e, err := keys.Parse(key)
			if err != nil || e.Name != name || e.Shared != shared || e.ID != "id" {
				t.Fatalf("Parse(%q) = %+v, %v", key, e, err)
			}
			if !strings.HasPrefix(key, name+"/") || !strings.HasPrefix(key, l.Line()) {
				t.Fatalf("key %q escapes %q", key, name)
			}
		}
		child, err := keys.New(name + "/c")
		if err != nil {
			t.Fatalf("child of valid %q invalid: %v", name, err)
		}
		if strings.HasPrefix(child.Entry("id", false), l.Line()) || strings.HasPrefix(l.Entry("id", true), child.Line()) {
			t.Fatalf("%q and its child share entries", name)
		}
	})
}

// FuzzParse checks that Parse never panics and accepts only keys that New's
// layout would produce.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/a/.x/1", "/a/.s/1", "/a/b/.x/1-2", "/.x/1", "/a/.x/", "x", "/a/.p/3/1", "/a/.p/3/1@2", "/a/.x/1#t", "/a#/.p/3/1@2#t#u", "/a/.q/t/.p/2/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		e, err := keys.Parse(key)
		if err != nil {
			return
		}
		l, err := keys.New(e.Name)
		if err != nil {
			t.Fatalf("Parse(%q) accepted invalid name %q", key, e.Name)
		}
		got := l.Entry(e.ID, e.Shared)
		switch {
		case e.Admission:
			got = l.Admission(e.Tenant).PermitEntry(e.ID, e.Limit)
		case e.Limit > 0:
			got = keys.Tagged(l.WeightedPermitEntry(e.ID, e.Limit, e.Weight), e.Tenant)
		default:
			got = keys.Tagged(got, e.Tenant)
		}
		if got != key {
			t.Fatalf("Parse(%q) = %+v, which lays out as %q", key, e, got)
		}
	})
}

func TestYieldRequestKeys(t *testing.T) {
	l, _ := keys.New("/jobs/a")
	entries := []string{l.Entry("e1", false), l.Entry("e1", true), l.PermitEntry("e1", 3)}
	seen := map[string]bool{}
	for _, e := range entries {
		r, ok := l.YieldRequest(e)
		if !ok {
			t.Fatalf("YieldRequest(%q) refused", e)
		}
		if seen[r] {
			t.Errorf("two entries share the request key %q", r)
		}
		seen[r] = true
		if !l.IsYieldRequest(r) || !strings.HasPrefix(r, l.Line()) {
			t.Errorf("request %q: IsYieldRequest false or outside the line %q", r, l.Line())
		}
		if back, ok := l.YieldTarget(r); !ok || back != e {
			t.Errorf("YieldTarget(%q) = %q, %v; want %q", r, back, ok, e)
		}
		if _, err := keys.Parse(r); err == nil {
			t.Errorf("Parse(%q) accepted a request as an entry", r)
		}
		// Outside every range an entry waits on.
		for _, p := range []string{l.ExclusivePrefix(), l.SharedPrefix(), l.PermitsPrefix()} {
			if strings.HasPrefix(r, p) || r >= p && r < keys.PrefixEnd(l.ExclusivePrefix()) {
				t.Errorf("request %q is inside the entry range from %q", r, p)
			}
		}
	}
	for _, bad := range []string{"/jobs/a/.a/x/e1", "/jobs/b/.x/e1", "/jobs/a/", "/jobs/a/."} {
		if r, ok := l.YieldRequest(bad); ok {
			t.Errorf("YieldRequest(%q) = %q, want refused", bad, r)
		}
	}
	if _, ok := l.YieldTarget(l.Entry("e1", false)); ok {
		t.Error("YieldTarget accepted an entry key")
	}
}

func TestValidateTenant(t *testing.T) {
	for _, tenant := range []string{"team-a", "a", "Ünï cödé", "a.b", "#1@x", strings.Repeat("x", keys.MaxTenantLen)} {
		if err := keys.ValidateTenant(tenant); err != nil {
			t.Errorf("ValidateTenant(%q) = %v, want nil", tenant, err)
		}
	}
	for tenant, want := range map[string]string{
		"":                                       "empty",
		"a/b":                                    `"/"`,
		".a":                                     "reserved",
		"a\x00":                                  "control",
		"a\tb":                                   "control",
		"\xff":                                   "UTF-8",
		strings.Repeat("x", keys.MaxTenantLen+1): "long",
	} {
		err := keys.ValidateTenant(tenant)
		if !errors.Is(err, keys.ErrInvalidTenant) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateTenant(%q) = %v, want ErrInvalidTenant mentioning %q", tenant, err, want)
		}
	}
}

func TestTenantKeys(t *testing.T) {
	l, _ := keys.New("/deploy/#1")
	adm := l.Admission("team-a")
	for _, tc := range []struct {
		key  string
		want keys.Entry
	}{
		{keys.Tagged(l.Entry("e1", false), "team-a"), keys.Entry{Name: "/deploy/#1", ID: "e1", Weight: 1, Tenant: "team-a"}},
		{keys.Tagged(l.Entry("e1", true), "t#2"), keys.Entry{Name: "/deploy/#1", ID: "e1", Shared: true, Weight: 1, Tenant: "t#2"}},
		{keys.Tagged(l.WeightedPermitEntry("e1", 5, 3), "b"),
			keys.Entry{Name: "/deploy/#1", ID: "e1", Limit: 5, Weight: 3, Tenant: "b"}},
		{keys.Tagged(l.Entry("e1", false), ""), keys.Entry{Name: "/deploy/#1", ID: "e1", Weight: 1}},
		{adm.PermitEntry("e1", 2), keys.Entry{Name: "/deploy/#1", ID: "e1", Limit: 2, Weight: 1, Tenant: "team-a", Admission: true}},
	} {
		got, err := keys.Parse(tc.key)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.key, got, err, tc.want)
		}
	}
	if k := adm.PermitEntry("e1", 2); k != "/deploy/#1/.q/team-a/.p/2/e1" {
		t.Errorf("admission entry = %q", k)
	}
	// Admission lines are under the lock's line but outside every range an
	// entry of the lock's own line waits on, and apart from each other.
	k := adm.PermitEntry("e1", 2)
	if !strings.HasPrefix(k, l.Line()) || !strings.HasPrefix(k, l.AdmissionsPrefix()) {
		t.Errorf("admission entry %q outside the lock's line", k)
	}
	for _, r := range [][2]string{
		{l.SharedPrefix(), keys.PrefixEnd(l.ExclusivePrefix())},
		{l.PermitsPrefix(), keys.PrefixEnd(l.PermitsPrefix())},
		{l.YieldRequestsPrefix(), keys.PrefixEnd(l.YieldRequestsPrefix())},
	} {
		if k >= r[0] && k < r[1] {
			t.Errorf("admission entry %q inside [%q, %q)", k, r[0], r[1])
		}
	}
	if other := l.Admission("team-ab").PermitEntry("e1", 2); strings.HasPrefix(other, adm.PermitsPrefix()) {
		t.Errorf("tenant team-ab's entry %q is inside team-a's line", other)
	}
	for _, bad := range []string{
		"/d/.q/team-a/.p/2/e1@2", "/d/.q/.t/.p/2/e1", "/d/.q/team-a/.x/e1", "/d/.q/team-a", "/d/.x/e1#", "/d/.x/e1#a/b",
		"/d/.x/e1#.a", "/d/.q//.p/2/e1",
	} {
		if e, err := keys.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, e)
		}
	}
}

func TestAdmittedEntry(t *testing.T) {
	l, _ := keys.New("/deploy/#1")
	for _, tc := range []struct {
		key  string
		want string // "" for false
	}{
		{l.Admission("team-a").PermitEntry(keys.RiderID("e1"), 2), keys.Tagged(l.Entry(keys.RiderID("e1"), false), "team-a")},
		{l.Admission("t#2").PermitEntry(keys.RiderID("0a-b.3"), 1), "/deploy/#1/.x/0a-b.3~x#t#2"},
		{l.Admission("team-a").PermitEntry("e1", 2), ""},  // a shared or permit caller's: nothing rides on it
		{keys.Tagged(l.Entry("e1", false), "team-a"), ""}, // an entry of the lock's own line
		{l.PermitEntry("e1", 2), ""},
		{"/deploy/#1/.q/team-a/.p/2/e1@2", ""}, // not an admission key: a weight
		{"not a key", ""},
	} {
		got, ok := keys.AdmittedEntry(tc.key)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("AdmittedEntry(%q) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
		if ok {
			e, err := keys.Parse(got)
			a, _ := keys.Parse(tc.key)
			if err != nil || e.Shared || e.Limit != 0 || e.ID != a.ID || e.Tenant != a.Tenant || e.Name != a.Name {
				t.Errorf("Parse(%q) = %+v, %v: not the exclusive entry of %+v", got, e, err, a)
			}
		}
	}
}
