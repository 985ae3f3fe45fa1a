// Package keys owns every etcd key string fairlock writes or reads.
//
// A lock named N keeps its whole line under N + "/", in two sub-ranges:
//
//	N/.x/<id>   exclusive entries (mutex holders, writers, exclusive tickets)
//	N/.s/<id>   shared entries (readers)
//
// Path segments that start with "." are reserved for this layout, so the
// entries of lock "/a" can never be mistaken for those of lock "/a/b" (or the
// other way round), which etcd's own concurrency.Mutex gets wrong.
package keys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// ErrInvalidName reports a lock name that fails Validate.
var ErrInvalidName = errors.New("fairlock: invalid lock name")

// MaxNameLen bounds a lock name; etcd keys may be longer, but a name this
// long is almost surely a bug, and every entry key repeats it.
const MaxNameLen = 512

const (
	reservedMark    = '.'
	exclusiveMarker = "/.x/"
	sharedMarker    = "/.s/"
)

// Validate reports whether name can name a lock: an absolute, slash-separated
// path such as "/jobs/nightly", with no empty segment, no trailing slash, no
// segment starting with '.', no control bytes and valid UTF-8.
func Validate(name string) error {
	bad := func(reason string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, reason)
	}
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes long, more than %d", ErrInvalidName, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case name[0] != '/':
		return bad(`relative: must start with "/"`)
	case name == "/":
		return bad("the root cannot be a lock")
	case strings.HasSuffix(name, "/"):
		return bad("trailing slash")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return bad("control character")
		}
	}
	for _, seg := range strings.Split(name[1:], "/") {
		if seg == "" {
			return bad("empty path segment")
		}
		if seg[0] == reservedMark {
			return bad(`path segment starts with "." (reserved)`)
		}
	}
	return nil
}

// Layout is the key layout of one lock. The zero Layout is not valid; use New.
type Layout struct{ name string }

// New returns the layout of the lock named name, or an error wrapping
// ErrInvalidName.
func New(name string) (Layout, error) {
	if err := Validate(name); err != nil {
		return Layout{}, err
	}
	return Layout{name: name}, nil
}

// Name is the lock's name.
func (l Layout) Name() string { return l.name }

// Line is the prefix of every entry of the lock, exclusive or shared, and
// of nothing else.
func (l Layout) Line() string { return l.name + "/." }

// ExclusivePrefix is the prefix of the lock's exclusive entries.
func (l Layout) ExclusivePrefix() string { return l.name + exclusiveMarker }

// SharedPrefix is the prefix of the lock's shared entries.
func (l Layout) SharedPrefix() string { return l.name + sharedMarker }

// Entry is the key of a new entry with the given id.
func (l Layout) Entry(id string, shared bool) string {
	if shared {
		return l.SharedPrefix() + id
	}
	return l.ExclusivePrefix() + id
}

// Entry is a parsed entry key.
type Entry struct {
	Name   string // lock name
	ID     string // unique id of the entry
	Shared bool
}

// Parse splits an entry key into its lock name, id and mode. It rejects any
// key this package would not have produced.
func Parse(key string) (Entry, error) {
	i := strings.LastIndex(key, "/.")
	if i < 0 || len(key) < i+len(exclusiveMarker) {
		return Entry{}, fmt.Errorf("fairlock: %q is not an entry key", key)
	}
	var e Entry
	switch key[i : i+len(exclusiveMarker)] {
	case exclusiveMarker:
	case sharedMarker:
		e.Shared = true
	default:
		return Entry{}, fmt.Errorf("fairlock: %q is not an entry key", key)
	}
	e.Name, e.ID = key[:i], key[i+len(exclusiveMarker):]
	if err := Validate(e.Name); err != nil {
		return Entry{}, err
	}
	if e.ID == "" || strings.ContainsAny(e.ID, "/") {
		return Entry{}, fmt.Errorf("fairlock: %q has a malformed entry id", key)
	}
	return e, nil
}

var (
	processNonce = newNonce()
	idCounter    atomic.Uint64
)

func newNonce() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("fairlock: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// NewID returns an entry id unique to this call: the session lease (so that
// etcdctl shows whose entry it is), a random per-process nonce (two processes
// may share a lease) and a per-process counter (two values on one session
// must never share a key, etcd issue 10756).
func NewID(lease int64) string {
	return fmt.Sprintf("%016x-%s-%x", lease, processNonce, idCounter.Add(1))
}
