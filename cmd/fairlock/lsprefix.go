package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

// lsPrefixOutput is what ls --prefix prints; its JSON field names are
// stable.
type lsPrefixOutput struct {
	Prefix string   `json:"prefix"`
	Locks  []lsLock `json:"locks"`
}

type lsLock struct {
	Name    string   `json:"name"`
	Holding int      `json:"holding"`
	Waiting int      `json:"waiting"`
	Wedged  int      `json:"wedged"`
	Modes   []string `json:"modes"`
}

// lsPrefix lists the locks under prefix/ and exits 3 if any line is
// wedged.
func lsPrefix(ctx context.Context, c *fairlock.Client, prefix string, f lsFlags) error {
	out, entries, err := listLocks(ctx, c, prefix)
	if err != nil {
		return etcdFailure(err, "ls --prefix %s", prefix)
	}
	if f.json {
		err = writeJSON(os.Stdout, out)
	} else {
		err = printLocks(os.Stdout, out, f.tableWidth())
	}
	if err != nil {
		return err
	}
	var wedgedErr error
	for _, l := range out.Locks {
		if err := wedged(l.Name, entries[l.Name]); err != nil {
			wedgedErr = err
		}
	}
	return wedgedErr
}

// listLocks reads the names of the locks with entries under prefix/ (and
// prefix itself), and each one's line.
func listLocks(ctx context.Context, c *fairlock.Client, prefix string) (lsPrefixOutput, map[string][]lsEntry, error) {
	resp, err := c.Etcd().Get(ctx, prefixRange(prefix), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return lsPrefixOutput{}, nil, fmt.Errorf("reading the keys under %s: %w", prefixRange(prefix), err)
	}
	keyList := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keyList[i] = string(kv.Key)
	}
	out := lsPrefixOutput{Prefix: prefix, Locks: []lsLock{}}
	entries := map[string][]lsEntry{}
	for _, name := range lockNames(prefix, keyList) {
		q, err := c.Queue(name)
		if err != nil {
			return lsPrefixOutput{}, nil, err
		}
		line, err := q.List(ctx)
		if err != nil {
			return lsPrefixOutput{}, nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(line) == 0 {
			continue // gone since the read of the names
		}
		es := lineEntries(name, line)
		entries[name] = es
		out.Locks = append(out.Locks, summarize(name, es))
	}
	return out, entries, nil
}

// prefixRange is the etcd key prefix under which the entries of the locks
// below prefix (and of prefix itself) live.
func prefixRange(prefix string) string {
	if strings.HasSuffix(prefix, "/") {
		return prefix
	}
	return prefix + "/"
}

// lockNames returns, sorted and once each, the names of the locks whose
// entry keys are among keys and that are prefix or below it. Keys that are
// no fairlock entry are skipped.
func lockNames(prefix string, keyList []string) []string {
	under := prefixRange(prefix)
	seen := map[string]bool{}
	var names []string
	for _, k := range keyList {
		e, err := keys.Parse(k)
		if err != nil || keys.Validate(e.Name) != nil || seen[e.Name] {
			continue
		}
		if e.Name != prefix && !strings.HasPrefix(e.Name, under) {
			continue
		}
		seen[e.Name] = true
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names
}

// summarize counts a line's holders, waiters and wedging entries, and
// names its modes.
func summarize(name string, es []lsEntry) lsLock {
	l := lsLock{Name: name, Modes: []string{}}
	seen := map[string]bool{}
	for _, e := range es {
		switch e.State {
		case stateHolding:
			l.Holding++
		case stateWaiting, stateAdmission:
			l.Waiting++
		}
		if e.Wedges {
			l.Wedged++
		}
		mode := e.Mode
		if mode == string(queue.Admission) {
			continue // a tenant's caller not in the line yet: its mode is unknown
		}
		if mode == string(queue.Permit) {
			mode = fmt.Sprintf("permit(%d)", e.Limit)
		}
		if !seen[mode] {
			seen[mode] = true
			l.Modes = append(l.Modes, mode)
		}
	}
	return l
}

// printLocks prints ls --prefix's table, fit to width (0: rows whole).
func printLocks(w io.Writer, out lsPrefixOutput, width int) error {
	if len(out.Locks) == 0 {
		_, err := fmt.Fprintf(w, "no locks under %s\n", prefixRange(out.Prefix))
		return err
	}
	return writeTable(w, []column[lsLock]{
		{header: "NAME", cell: func(l lsLock) string { return printable(l.Name) }},
		{header: "HOLDING", cell: func(l lsLock) string { return strconv.Itoa(l.Holding) }},
		{header: "WAITING", cell: func(l lsLock) string { return strconv.Itoa(l.Waiting) }},
		{header: "WEDGED", cell: func(l lsLock) string { return strconv.Itoa(l.Wedged) }},
		{header: "MODES", cell: func(l lsLock) string { return strings.Join(l.Modes, ",") }, cut: true},
	}, out.Locks, width)
}
