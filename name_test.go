package fairlock_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fairlock/fairlock"
)

// ValidateName accepts what the lock constructors accept and refuses the
// rest with ErrInvalidName and a reason, without I/O.
func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string // "" for a valid name
	}{
		{"/jobs/nightly", ""},
		{"/a", ""},
		{"/ünï/cödé", ""},
		{"", "empty"},
		{"jobs/nightly", "relative"},
		{"/", "root"},
		{"/jobs/", "trailing slash"},
		{"/jobs//nightly", "empty path segment"},
		{"/jobs/.x", "reserved"},
		{"/jobs/a\nb", "control character"},
		{"/\xff", "UTF-8"},
		{"/" + strings.Repeat("a", 600), "more than 512"},
	} {
		err := fairlock.ValidateName(tc.name)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("ValidateName(%q) = %v, want nil", tc.name, err)
		case tc.reason != "" && (!errors.Is(err, fairlock.ErrInvalidName) || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName saying %q", tc.name, err, tc.reason)
		}
	}
}

func ExampleValidateName() {
	fmt.Println(fairlock.ValidateName("/jobs/nightly"))
	fmt.Println(fairlock.ValidateName("/jobs/nightly/"))
	// Output:
	// <nil>
	// fairlock: invalid lock name "/jobs/nightly/": trailing slash
}
