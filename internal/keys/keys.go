// Package keys owns every etcd key string fairlock writes or reads.
//
// A lock named N keeps its whole line under N + "/", in sub-ranges:
//
//	N/.x/<id>           exclusive entries (mutex holders, writers, exclusive tickets, candidates)
//	N/.s/<id>           shared entries (readers)
//	N/.p/<limit>/<id>   semaphore permits of weight 1, by the semaphore's limit
//	N/.p/<limit>/<id>@<weight>   permits of a weight above 1
//	N/.a/<rest>         a request that the holder of N/.<rest> yield
//	                    (AskToYield); ".a" sorts before every entry range,
//	                    so no entry ever waits for a request
//	N/.q/<tenant>/.p/<share>/<id>   a caller of tenant waiting for (or
//	                    holding) admission to the lock's line: the
//	                    tenant's admission line, a line of permits of
//	                    limit share; ".q" sorts outside every range an
//	                    entry of the lock's own line waits on; an id that
//	                    ends in "~x" is that of a caller whose exclusive
//	                    entry will be N/.x/<id>#<tenant> (AdmittedEntry)
//	<entry key>#<tenant>  an entry of the lock's line taken by a caller of
//	                    tenant (exclusive, shared or permit)
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
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors of the validations below, matched with errors.Is.
var (
	// ErrInvalidName reports a lock name that fails Validate.
	ErrInvalidName = errors.New("fairlock: invalid lock name")
	// ErrInvalidTenant reports a tenant name that fails ValidateTenant.
	ErrInvalidTenant = errors.New("fairlock: invalid tenant")
)

// MaxNameLen bounds a lock name; etcd keys may be longer, but a name this
// long is almost surely a bug, and every entry key repeats it.
const MaxNameLen = 512

// MaxTenantLen bounds a tenant's name: it is repeated in every key of the
// tenant's callers.
const MaxTenantLen = 128

const (
	reservedMark    = '.'
	exclusiveMarker = "/.x/"
	sharedMarker    = "/.s/"
	permitMarker    = "/.p/"
	weightMark      = "@"
	// askMarker: yield requests, N/.a/ followed by the asked entry's key
	// without its N/. (x/<id>, s/<id>, p/<limit>/<id>).
	askMarker = "/.a/"
	// admissionMarker: tenants' admission lines, N/.q/<tenant>/.p/...
	admissionMarker = "/.q/"
	// tenantMark separates an entry key of the lock's line from the tenant
	// of the caller that wrote it.
	tenantMark = "#"
	// riderMark ends the id of an admission entry whose caller's entry in
	// the lock's line is exclusive and rides on it (RiderID).
	riderMark = "~x"
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
	case strings.Contains(name, "//"):
		return bad("empty path segment")
	case strings.HasSuffix(name, "/"):
		return bad("trailing slash")
	}
	if hasControl(name) {
		return bad("control character")
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

// hasControl reports whether s holds a C0 or C1 control character or DEL.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// ValidateTenant reports whether tenant can name a tenant of a lock: not
// empty, at most MaxTenantLen bytes of valid UTF-8, no '/', no leading '.'
// and no control characters.
func ValidateTenant(tenant string) error {
	bad := func(reason string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidTenant, tenant, reason)
	}
	switch {
	case tenant == "":
		return fmt.Errorf("%w: empty", ErrInvalidTenant)
	case len(tenant) > MaxTenantLen:
		return fmt.Errorf("%w: %d bytes long, more than %d", ErrInvalidTenant, len(tenant), MaxTenantLen)
	case !utf8.ValidString(tenant):
		return bad("not valid UTF-8")
	case strings.Contains(tenant, "/"):
		return bad(`contains "/"`)
	case tenant[0] == reservedMark:
		return bad(`starts with "." (reserved)`)
	case hasControl(tenant):
		return bad("control character")
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

// Entry is the key of an exclusive or shared entry with the given id.
func (l Layout) Entry(id string, shared bool) string {
	if shared {
		return l.SharedPrefix() + id
	}
	return l.ExclusivePrefix() + id
}

// PermitsPrefix is the prefix of every semaphore permit of the lock,
// whatever its limit.
func (l Layout) PermitsPrefix() string { return l.name + permitMarker }

// PermitPrefix is the prefix of the lock's permits of a semaphore with the
// given limit: the whole line of that semaphore.
func (l Layout) PermitPrefix(limit int) string {
	return l.PermitsPrefix() + strconv.Itoa(limit) + "/"
}

// PermitEntry is the key of a permit entry of weight 1 with the given id.
func (l Layout) PermitEntry(id string, limit int) string { return l.PermitPrefix(limit) + id }

// WeightedPermitEntry is the key of a permit entry of the given weight:
// PermitEntry's for weight 1 (so weight-1 permits keep their keys), the
// weight after weightMark otherwise. Readers of the line learn every
// entry's weight from keys-only reads.
func (l Layout) WeightedPermitEntry(id string, limit, weight int) string {
	if weight == 1 {
		return l.PermitEntry(id, limit)
	}
	return l.PermitEntry(id, limit) + weightMark + strconv.Itoa(weight)
}

// OtherLimits returns the two key ranges, [from, to), that together hold
// every permit of the lock whose limit is not limit.
func (l Layout) OtherLimits(limit int) [2][2]string {
	all, own := l.PermitsPrefix(), l.PermitPrefix(limit)
	return [2][2]string{{all, own}, {PrefixEnd(own), PrefixEnd(all)}}
}

// YieldRequestsPrefix is the prefix of the lock's yield requests. It is
// under Line but in no entry range: readers of the whole line skip it.
func (l Layout) YieldRequestsPrefix() string { return l.name + askMarker }

// YieldRequest is the key of the request that the entry at entryKey yield:
// one key per entry key, so a request never reaches another entry (a
// later entry on the same key is told apart by the token in the
// request's value). It reports false when entryKey is not under Line or
// is itself a request.
func (l Layout) YieldRequest(entryKey string) (string, bool) {
	rest, ok := strings.CutPrefix(entryKey, l.Line())
	if !ok || rest == "" || strings.HasPrefix(entryKey, l.YieldRequestsPrefix()) {
		return "", false
	}
	return l.YieldRequestsPrefix() + rest, true
}

// IsYieldRequest reports whether key is one of the lock's yield requests.
func (l Layout) IsYieldRequest(key string) bool {
	return strings.HasPrefix(key, l.YieldRequestsPrefix())
}

// YieldTarget is the key of the entry a yield request at key is about; it
// reports false when key is not one of the lock's requests.
func (l Layout) YieldTarget(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, l.YieldRequestsPrefix())
	if !ok || rest == "" {
		return "", false
	}
	return l.Line() + rest, true
}

// AdmissionsPrefix is the prefix of every tenant's admission line of the
// lock. It is under Line but in no range an entry of the lock's own line
// waits on.
func (l Layout) AdmissionsPrefix() string { return l.name + admissionMarker }

// Admission is the layout of tenant's admission line of the lock: its
// PermitPrefix(share) is the line, its OtherLimits the callers of the
// tenant that declared another share. tenant must pass ValidateTenant. The
// returned Layout serves only those permit keys.
func (l Layout) Admission(tenant string) Layout {
	return Layout{name: l.AdmissionsPrefix() + tenant}
}

// Tagged is key, the key of an entry of the lock's own line, marked as
// taken by a caller of tenant, so that keys-only reads tell each entry's
// tenant. An empty tenant leaves key as it is.
func Tagged(key, tenant string) string {
	if tenant == "" {
		return key
	}
	return key + tenantMark + tenant
}

// RiderID is id (a SlotID) marked as that of an admission entry whose
// caller's entry in the lock's line will be exclusive and ride on it: at
// AdmittedEntry, where the release that admits the caller may write it.
// An admission key says nothing else of the caller's entry, and a shared
// or permit entry has a key of another form.
func RiderID(id string) string { return id + riderMark }

// AdmittedEntry is the key of the exclusive entry in the lock's own line
// of the caller whose admission entry is at admissionKey: the lock's
// exclusive prefix, the admission entry's id, tagged with its tenant. A
// caller admitted while it waited writes its entry there, and so can the
// release that admits it, which knows only the admission entry (see
// package queue, "Tenants"). It reports false when admissionKey is not an
// admission key marked by RiderID.
func AdmittedEntry(admissionKey string) (string, bool) {
	e, err := Parse(admissionKey)
	if err != nil || !e.Admission || !strings.HasSuffix(e.ID, riderMark) {
		return "", false
	}
	return Tagged(Layout{name: e.Name}.Entry(e.ID, false), e.Tenant), true
}

// EtcdMutexPrefix is the prefix etcd's own concurrency.Mutex (and etcdctl
// lock) uses for the lock: its keys are this prefix and a lease id in hex.
func (l Layout) EtcdMutexPrefix() string { return l.name + "/" }

// PrefixEnd is the end of the range of keys that start with prefix, as
// clientv3.GetPrefixRangeEnd computes it.
func PrefixEnd(prefix string) string {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return string(end[:i+1])
		}
	}
	return "\x00"
}

// Entry is a parsed entry key.
type Entry struct {
	Name   string // lock name
	ID     string // id of the entry
	Shared bool
	Limit  int // the semaphore's limit for a permit, the share for an admission; 0 otherwise
	Weight int // a permit's weight; 1 for every other entry
	// Tenant is the tenant of the caller that wrote the entry; "" for a
	// caller without one.
	Tenant string
	// Admission: an entry of Tenant's admission line, not of the lock's
	// own line.
	Admission bool
}

// Parse splits an entry key into its lock name, id, mode and tenant. It
// rejects any key this package would not have produced.
func Parse(key string) (Entry, error) {
	if i := strings.Index(key, admissionMarker); i >= 0 {
		return parseAdmission(key, i)
	}
	// The tag follows the entry's marker: a lock name may hold a '#'.
	i := max(strings.LastIndex(key, "/."), 0)
	tail, tenant, tagged := strings.Cut(key[i:], tenantMark)
	e, err := parseEntry(key[:i] + tail)
	if err != nil {
		return Entry{}, err
	}
	if tagged {
		if err := ValidateTenant(tenant); err != nil {
			return Entry{}, fmt.Errorf("fairlock: %q has a malformed tenant: %w", key, err)
		}
		e.Tenant = tenant
	}
	return e, nil
}

// parseAdmission parses a key of a tenant's admission line, whose marker
// starts at i.
func parseAdmission(key string, i int) (Entry, error) {
	tenant, rest, ok := strings.Cut(key[i+len(admissionMarker):], "/")
	if !ok || ValidateTenant(tenant) != nil || !strings.HasPrefix("/"+rest, permitMarker) {
		return Entry{}, fmt.Errorf("fairlock: %q is not an entry key", key)
	}
	e, err := parseEntry(key[:i] + "/" + rest)
	if err != nil || e.Weight != 1 {
		return Entry{}, fmt.Errorf("fairlock: %q is not an admission key", key)
	}
	e.Tenant, e.Admission = tenant, true
	return e, nil
}

// parseEntry parses an untagged key of the lock's own line.
func parseEntry(key string) (Entry, error) {
	i := strings.LastIndex(key, "/.")
	if i < 0 || len(key) < i+len(exclusiveMarker) {
		return Entry{}, fmt.Errorf("fairlock: %q is not an entry key", key)
	}
	var e Entry
	e.Name, e.ID = key[:i], key[i+len(exclusiveMarker):]
	switch key[i : i+len(exclusiveMarker)] {
	case exclusiveMarker:
	case sharedMarker:
		e.Shared = true
	case permitMarker:
		limit, id, ok := strings.Cut(e.ID, "/")
		n, err := strconv.Atoi(limit)
		if !ok || err != nil || n < 1 || strconv.Itoa(n) != limit {
			return Entry{}, fmt.Errorf("fairlock: %q has a malformed permit limit", key)
		}
		e.Limit, e.ID = n, id
		if base, w, ok := strings.Cut(id, weightMark); ok {
			weight, err := strconv.Atoi(w)
			if err != nil || weight < 2 || weight > n || strconv.Itoa(weight) != w {
				return Entry{}, fmt.Errorf("fairlock: %q has a malformed permit weight", key)
			}
			e.ID, e.Weight = base, weight
		}
	default:
		return Entry{}, fmt.Errorf("fairlock: %q is not an entry key", key)
	}
	if err := Validate(e.Name); err != nil {
		return Entry{}, err
	}
	if e.ID == "" || strings.ContainsAny(e.ID, "/"+weightMark+tenantMark) {
		return Entry{}, fmt.Errorf("fairlock: %q has a malformed entry id", key)
	}
	if e.Weight == 0 {
		e.Weight = 1
	}
	return e, nil
}

var processNonce = newNonce()

func newNonce() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("fairlock: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// SlotID returns the entry id of a slot of a session: the session's lease
// (so that etcdctl shows whose entry it is), a random per-process nonce (two
// processes may share a lease), the generation of this process's state for
// the lease (a state dropped and made again while the lease lives must not
// reuse the old state's keys) and the slot, a small number that the
// session reuses once the slot's entry is known to be gone. Reusing ids
// keeps the number of distinct keys under a lock bounded by the sessions
// that used it, and so the cost of reading the line, however long the
// history etcd has not compacted; the fencing token stays unique because a
// re-created key gets a new create revision.
func SlotID(lease int64, gen uint64, slot int) string {
	return fmt.Sprintf("%016x-%s-%x.%x", lease, processNonce, gen, slot)
}
