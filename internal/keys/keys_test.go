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
		id := keys.NewID(0x1234)
		e, err := keys.Parse(l.Entry(id, shared))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name != "/jobs/x" || e.ID != id || e.Shared != shared {
			t.Errorf("Parse = %+v, want name /jobs/x id %s shared %v", e, id, shared)
		}
	}
	for _, key := range []string{"", "/a", "/a/.x/", "/a/.y/1", "a/.x/1", "/a/.x/1/2", "/.x/1", "/a//.x/1"} {
		if _, err := keys.Parse(key); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", key)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := keys.NewID(7)
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
		if strings.Contains(id, "/") {
			t.Fatalf("id %q contains a slash", id)
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
	for _, s := range []string{"/a/.x/1", "/a/.s/1", "/a/b/.x/1-2", "/.x/1", "/a/.x/", "x"} {
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
		if got := l.Entry(e.ID, e.Shared); got != key {
			t.Fatalf("Parse(%q) = %+v, which lays out as %q", key, e, got)
		}
	})
}
