package fairlock

import "github.com/fairlock/fairlock/internal/keys"

// ValidateName reports whether name can name a lock: an absolute
// slash-separated path such as "/jobs/nightly", with no empty segment, no
// trailing slash, no segment starting with '.' (reserved for the entries),
// no control characters, valid UTF-8, at most 512 bytes. It returns nil, or
// an error matching ErrInvalidName that says what is wrong. It does no I/O:
// check a name before connecting, as every constructor of a lock checks it
// again.
func ValidateName(name string) error { return keys.Validate(name) }
