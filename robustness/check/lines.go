package check

import (
	"strconv"
	"strings"
)

// EntryKind is the kind of a line's entry.
type EntryKind byte

// The kinds of entry, by the key layout of DESIGN.md ("Keys").
const (
	Exclusive EntryKind = 'x' // NAME/.x/ID
	Shared    EntryKind = 's' // NAME/.s/ID
	Permit    EntryKind = 'p' // NAME/.p/LIMIT/ID, or NAME/.p/LIMIT/ID@WEIGHT
)

// Entry is an entry of a line as etcd's record shows it.
type Entry struct {
	// Lock is the line's name: the lock's, or for an admission entry its
	// tenant's admission line's (AdmissionLine).
	Lock   string
	Key    string
	Kind   EntryKind
	Limit  int // a permit's limit; an admission entry's, its tenant's share
	Weight int // a permit's weight; 1 for the others
	// Tenant is the tenant of the caller that wrote the entry (its key's
	// tag, or its admission line's), "" for none.
	Tenant    string
	Admission bool // an entry of a tenant's admission line
	Rev       int64
	Lease     int64
	Value     string
}

// The markers of the key layout that the checker reads (DESIGN.md, "Keys",
// and "Fourth layer: Tenants").
const (
	admissionMarker = "/.q/" // NAME/.q/TENANT/.p/SHARE/ID: a tenant's admission line
	tenantMark      = "#"    // ENTRY-KEY#TENANT: an entry of the lock's line taken by a tenant's caller
)

// AdmissionLine is the name of tenant's admission line of lock, as Entry's
// Lock holds it.
func AdmissionLine(lock, tenant string) string { return lock + admissionMarker + tenant }

// ParseKey reads an entry's key. ok is false for a key that is not an
// entry (a yield request, a register beside the locks).
//
// The suite reads the layout itself rather than through fairlock's
// internal/keys: the checker is an oracle, and one that shared the code
// it checks would share its bugs.
func ParseKey(key string) (e Entry, ok bool) {
	if i := strings.Index(key, admissionMarker); i > 0 && !strings.Contains(key[:i], "/.") {
		tenant, rest, found := strings.Cut(key[i+len(admissionMarker):], "/")
		if !found || tenant == "" || strings.HasPrefix(tenant, ".") {
			return Entry{}, false
		}
		e, ok := ParseKey(key[:i] + "/" + rest)
		if !ok || e.Kind != Permit || e.Weight != 1 || e.Tenant != "" {
			return Entry{}, false
		}
		e.Lock, e.Key, e.Tenant, e.Admission = AdmissionLine(key[:i], tenant), key, tenant, true
		return e, true
	}
	for _, k := range []EntryKind{Exclusive, Shared, Permit} {
		marker := "/." + string(k) + "/"
		i := strings.Index(key, marker)
		if i <= 0 || strings.Contains(key[:i], "/.") {
			continue // no lock name has a segment starting with "."
		}
		e = Entry{Lock: key[:i], Key: key, Kind: k, Weight: 1}
		// The tag follows the entry's marker (a lock name may hold a '#').
		rest, tenant, tagged := strings.Cut(key[i+len(marker):], tenantMark)
		if tagged {
			if tenant == "" || strings.ContainsAny(tenant, "/"+tenantMark) {
				return Entry{}, false
			}
			e.Tenant = tenant
		}
		if rest == "" {
			return Entry{}, false
		}
		if k != Permit {
			return e, true
		}
		lim, id, found := strings.Cut(rest, "/")
		n, err := strconv.Atoi(lim)
		if !found || err != nil || n < 1 || id == "" {
			return Entry{}, false
		}
		e.Limit = n
		if _, w, weighted := strings.Cut(id, "@"); weighted {
			if e.Weight, err = strconv.Atoi(w); err != nil || e.Weight < 1 {
				return Entry{}, false
			}
		}
		return e, true
	}
	return Entry{}, false
}

// Entitled reports, for each entry of one lock's line (sorted by create
// revision, oldest first), whether its turn has come by the protocol of
// DESIGN.md: an exclusive entry when no entry is older; a shared one when
// no exclusive entry is older; a permit while the weights of the older
// permits and its own fit in its limit, every older permit being entitled
// too (nobody overtakes). Permits form a line of their own, beside the
// exclusive and shared entries.
func Entitled(line []Entry) []bool {
	out := make([]bool, len(line))
	older, olderExclusive := false, false
	used, blocked := 0, false
	for i, e := range line {
		switch e.Kind {
		case Exclusive:
			out[i] = !older
			older, olderExclusive = true, true
		case Shared:
			out[i] = !olderExclusive
			older = true
		case Permit:
			if !blocked && used+e.Weight <= e.Limit {
				out[i] = true
				used += e.Weight
			} else {
				blocked = true
			}
		}
	}
	return out
}
