package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

// lsLine prints the line of the lock name and exits 3 if it is wedged.
func lsLine(ctx context.Context, c *fairlock.Client, name string, f lsFlags) error {
	out, err := readLine(ctx, c, name, true)
	if err != nil {
		return etcdFailure(err, "ls %s", name)
	}
	if f.json {
		if err := writeJSON(os.Stdout, out); err != nil {
			return err
		}
		return wedged(name, out.Entries)
	}
	if err := printLine(os.Stdout, out, f.tableWidth()); err != nil {
		return err
	}
	for _, e := range out.Entries {
		if e.State == stateForeign {
			fmt.Fprintf(os.Stderr, "fairlock: %s has foreign holders (etcdctl lock, etcd's own mutex): "+
				"fairlock exec waits for them only with --etcd-mutex-interop\n", name)
			break
		}
	}
	return wedged(name, out.Entries)
}

// lsOutput is what ls prints; its JSON field names are stable.
type lsOutput struct {
	Name    string    `json:"name"`
	Entries []lsEntry `json:"entries"`
	// Capacity is, per semaphore limit in the line, how much of it the
	// permits held take (their weights added up).
	Capacity []lsCapacity `json:"capacity,omitempty"`
}

// lsCapacity is the part of a semaphore's limit in use.
type lsCapacity struct {
	Limit int `json:"limit"`
	InUse int `json:"in_use"`
}

// capacity adds up the weights of the permits held, per limit, in the
// order the limits first appear.
func capacity(entries []lsEntry) []lsCapacity {
	var out []lsCapacity
	at := map[int]int{}
	for _, e := range entries {
		if e.Limit == 0 {
			continue
		}
		i, ok := at[e.Limit]
		if !ok {
			i = len(out)
			at[e.Limit] = i
			out = append(out, lsCapacity{Limit: e.Limit})
		}
		if e.State == stateHolding {
			out[i].InUse += max(e.Weight, 1)
		}
	}
	return out
}

type lsEntry struct {
	Place  int    `json:"place"`
	State  string `json:"state"`
	Mode   string `json:"mode"`
	Limit  int    `json:"limit"`
	Weight int    `json:"weight"` // a permit's share of the limit; 1 for other entries
	// Tenant is the tenant of the caller (exec --tenant); Share, for a
	// caller still waiting for admission, the tenant's share.
	Tenant string `json:"tenant,omitempty"`
	Share  int    `json:"share,omitempty"`
	Token  int64  `json:"token"`
	Key    string `json:"key"`
	Lease  string `json:"lease"`
	TTL    *int64 `json:"ttl"`
	Value  string `json:"value"`
	Wedges bool   `json:"wedges"`
	// A pending request that the holder yield (fairlock yield).
	YieldRequested bool   `json:"yield_requested"`
	YieldReason    string `json:"yield_reason"`

	leaseID clientv3.LeaseID
}

// States and modes as ls prints them.
const (
	stateHolding = "holding"
	stateWaiting = "waiting"
	stateForeign = "foreign"
	// stateAdmission: a tenant's caller waiting for admission to the
	// lock's line (its tenant has share callers there already).
	stateAdmission = "admission"
	modeUnknown    = "unknown"
)

// readLine reads NAME's line and the foreign keys beside it, and with ttl
// the TTL left on each lease.
func readLine(ctx context.Context, c *fairlock.Client, name string, ttl bool) (lsOutput, error) {
	q, err := c.Queue(name)
	if err != nil {
		return lsOutput{}, err
	}
	line, err := q.List(ctx)
	if err != nil {
		return lsOutput{}, err
	}
	layout, err := keys.New(name)
	if err != nil {
		return lsOutput{}, err
	}
	// Keys directly under NAME/ and outside the line: another client's.
	resp, err := c.Etcd().Get(ctx, layout.EtcdMutexPrefix(), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return lsOutput{}, err
	}
	out := lsOutput{Name: name, Entries: lineEntries(name, line)}
	out.Capacity = capacity(out.Entries)
	for _, kv := range resp.Kvs {
		if classifyKey(layout, string(kv.Key)) != keyForeign {
			continue
		}
		out.Entries = append(out.Entries, lsEntry{
			State: stateForeign, Token: kv.CreateRevision, Key: string(kv.Key),
			Value: string(kv.Value), leaseID: clientv3.LeaseID(kv.Lease),
		})
	}
	ttls := map[clientv3.LeaseID]int64{}
	for i := range out.Entries {
		e := &out.Entries[i]
		if e.leaseID == clientv3.NoLease {
			continue
		}
		e.Lease = strconv.FormatInt(int64(e.leaseID), 16)
		if !ttl {
			continue
		}
		left, ok := ttls[e.leaseID]
		if !ok {
			r, err := c.Etcd().TimeToLive(ctx, e.leaseID)
			if err != nil {
				return lsOutput{}, fmt.Errorf("lease %s: %w", e.Lease, err)
			}
			left = r.TTL
			ttls[e.leaseID] = left
		}
		e.TTL = &left
	}
	return out, nil
}

// lineEntries turns the line as List returns it into ls's entries. The
// exclusive and shared entries are one line and come first, numbered from
// 1; the permits of each limit are a line of their own, which a Mutex's
// entries do not wait for: they come after, numbered from 1 again. Last
// come the tenants' callers still waiting for admission, numbered per
// tenant; an admitted caller shows as its entry in the lock's line.
func lineEntries(name string, line []queue.Entry) []lsEntry {
	out := make([]lsEntry, 0, len(line))
	var permits, admission []lsEntry
	places := map[int]int{} // by limit; 0 for the exclusive and shared line
	admitting := map[string]int{}
	for _, e := range line {
		if e.Kind == queue.Admission {
			if !e.Holds {
				admitting[e.Tenant]++
				admission = append(admission, lsEntry{Place: admitting[e.Tenant], State: stateAdmission,
					Mode: string(queue.Admission), Weight: 1, Tenant: e.Tenant, Share: e.Limit, Token: e.Rev, Key: e.Key,
					Value: e.Value, leaseID: e.Lease, Wedges: e.Lease == clientv3.NoLease})
			}
			continue
		}
		mode, limit := entryMode(name, e)
		places[limit]++
		le := lsEntry{
			Place: places[limit], State: stateWaiting, Mode: mode, Limit: limit, Weight: max(e.Weight, 1),
			Token: e.Rev, Key: e.Key, Tenant: e.Tenant,
			Value: e.Value, leaseID: e.Lease, Wedges: e.Lease == clientv3.NoLease,
			YieldRequested: e.YieldRequested, YieldReason: e.YieldReason,
		}
		if e.Holds {
			le.State = stateHolding
		}
		if limit > 0 {
			permits = append(permits, le)
		} else {
			out = append(out, le)
		}
	}
	return append(append(out, permits...), admission...)
}

// entryMode is an entry's mode and limit. A key in the line that no
// fairlock client would write (by hand, say) is "unknown": the engine
// treats it as exclusive, so it blocks all that come after it.
func entryMode(name string, e queue.Entry) (string, int) {
	k, err := keys.Parse(e.Key)
	switch {
	case err != nil || k.Name != name:
		return modeUnknown, 0
	case k.Limit > 0:
		return string(queue.Permit), k.Limit
	case k.Shared:
		return string(queue.Shared), 0
	}
	return string(queue.Exclusive), 0
}

// keyClass is where a key under NAME/ belongs.
type keyClass int

const (
	keyOutside keyClass = iota // not under NAME/
	keyInLine                  // in NAME's line: List reports it
	keyForeign                 // directly under NAME/, not fairlock's: etcd's Mutex keeps its keys there
	keyBelow                   // under a lock below NAME, such as NAME/sub
)

// classifyKey says where key belongs relative to the lock of layout.
func classifyKey(layout keys.Layout, key string) keyClass {
	switch {
	case strings.HasPrefix(key, layout.Line()):
		return keyInLine
	case !strings.HasPrefix(key, layout.EtcdMutexPrefix()):
		return keyOutside
	case strings.Contains(key[len(layout.EtcdMutexPrefix()):], "/"):
		return keyBelow
	}
	return keyForeign
}

// printLine prints out as a table that fits width (0: rows whole), then
// the capacity in use of each semaphore in the line.
func printLine(w io.Writer, out lsOutput, width int) error {
	if len(out.Entries) == 0 {
		_, err := fmt.Fprintf(w, "%s: nobody holds or waits\n", out.Name)
		return err
	}
	cols := withTenants(out.Entries, colPlace, colState, colMode, colToken, colLease, colTTL, colKey, colValue)
	if err := writeTable(w, cols, out.Entries, width); err != nil {
		return err
	}
	for _, c := range out.Capacity {
		if _, err := fmt.Fprintf(w, "permits of limit %d: %d of %d in use\n", c.Limit, c.InUse, c.Limit); err != nil {
			return err
		}
	}
	return nil
}

// The columns of a line's table. ls --watch shows the same but TTL, and
// how long each entry has held or waited.
var (
	colPlace = column[lsEntry]{header: "PLACE", cell: placeText}
	colState = column[lsEntry]{header: "STATE", cell: stateText}
	colMode  = column[lsEntry]{header: "MODE", cell: modeText}
	colToken = column[lsEntry]{header: "TOKEN", cell: func(e lsEntry) string { return strconv.FormatInt(e.Token, 10) }}
	colLease = column[lsEntry]{header: "LEASE", cell: func(e lsEntry) string { return orDash(e.Lease) }, optional: true}
	colTTL   = column[lsEntry]{header: "TTL", cell: ttlText}
	colKey   = column[lsEntry]{header: "KEY", cell: func(e lsEntry) string { return printable(e.Key) }, optional: true}
	colValue = column[lsEntry]{header: "VALUE", cell: func(e lsEntry) string { return printable(e.Value) }, cut: true}
)

// colTenant is the TENANT column, shown when some entry has a tenant.
var colTenant = column[lsEntry]{header: "TENANT", cell: func(e lsEntry) string { return orDash(printable(e.Tenant)) }}

// withTenants returns cols, with the TENANT column after MODE when an
// entry of es has a tenant: lines without tenants keep their width.
func withTenants(es []lsEntry, cols ...column[lsEntry]) []column[lsEntry] {
	for _, e := range es {
		if e.Tenant == "" {
			continue
		}
		for i, c := range cols {
			if c.header == colMode.header {
				return slices.Insert(slices.Clip(cols), i+1, colTenant)
			}
		}
	}
	return cols
}

// placeText is the PLACE column: "-" for a foreign key.
func placeText(e lsEntry) string {
	if e.Place == 0 {
		return "-"
	}
	return strconv.Itoa(e.Place)
}

// stateText is the STATE column, with a pending request to yield.
func stateText(e lsEntry) string {
	if e.State == stateAdmission {
		return "waiting for admission"
	}
	if e.YieldRequested {
		return printable(e.State + " (asked to yield: " + e.YieldReason + ")")
	}
	return e.State
}

// modeText is the MODE column: a permit with its limit and weight.
func modeText(e lsEntry) string { return modeName(e.Mode, e.Limit, e.Weight) }

// modeName is mode as ls shows it: a permit with its limit and weight, "-"
// for none.
func modeName(mode string, limit, weight int) string {
	switch {
	case mode == string(queue.Admission):
		return "-" // its mode once admitted is the caller's business
	case mode == string(queue.Permit) && weight > 1:
		return fmt.Sprintf("permit(%d, weight %d)", limit, weight)
	case mode == string(queue.Permit):
		return fmt.Sprintf("permit(%d)", limit)
	}
	return orDash(mode)
}

// orDash is s, or "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ttlText is the TTL column: seconds left, "expired", or "none" for a key
// without a lease ("none!" when it wedges the line).
func ttlText(e lsEntry) string {
	switch {
	case e.TTL == nil && e.Wedges:
		return "none!"
	case e.TTL == nil:
		return "none"
	case *e.TTL < 0:
		return "expired"
	}
	return fmt.Sprintf("%ds", *e.TTL)
}
