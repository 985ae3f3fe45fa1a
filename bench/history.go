package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
)

// History cells: fairmutex on a lock whose line has seen many acquisitions
// that etcd has not compacted away yet (etcd compacts nothing by default).
// A range read visits every key written under a prefix since the last
// compaction, so what matters is how many distinct keys the past left:
//
//   - long-lived sessions reuse their entry keys (a slot per session), so
//     their past is a few keys with many revisions: made here by the
//     cell's own two sessions, Locking and Unlocking for real;
//   - one session per acquisition leaves a key per acquisition: written
//     here directly, as such sessions would have left them (one put and
//     one delete of a key of a lease of its own), because opening tens of
//     thousands of sessions would take minutes;
//   - the same after a compaction, which removes those keys from the index.
//
// Every history cell runs in slices interleaved with slices of the same
// cell on a fresh lock, and is shown as a ratio to them.

// History kinds.
const (
	historyLong      = "long-lived sessions"
	historyShort     = "a session per acquisition"
	historyCompacted = "a session per acquisition, then compacted"
)

// historyRow is one history cell and its fresh-lock counterpart.
type historyRow struct {
	Kind  string
	Past  int // acquisitions under the lock before the measurement
	Aged  cellResult
	Fresh cellResult
}

// ratio is the aged lock's throughput over the fresh lock's; 0 when unknown.
func (h historyRow) ratio() float64 {
	if h.Aged.Err != "" || h.Fresh.Err != "" || h.Fresh.PerSec == 0 {
		return 0
	}
	return h.Aged.PerSec / h.Fresh.PerSec
}

// seedBatch is how many puts one seeding transaction carries; etcd's
// default limit is 128 operations per transaction.
const seedBatch = 100

// historyContenders is how many contenders the history cells run.
const historyContenders = 2

// historyRounds is how many slices of a history cell, and of its fresh
// counterpart, share the cell's duration.
const historyRounds = 10

// minHistorySlice keeps a short run's history slices long enough to grant.
const minHistorySlice = 100 * time.Millisecond

// runHistories measures every history kind at every count of past
// acquisitions in pasts (ascending), calling report for each row.
func runHistories(ctx context.Context, endpoints []string, cfg config, report func(historyRow)) ([]historyRow, error) {
	fair, _ := contenderNamed(nameFair)
	spec := cellSpec{c: fair, n: historyContenders, duration: max(cfg.duration/historyRounds, minHistorySlice), hold: cfg.hold}
	var rows []historyRow
	add := func(r historyRow) {
		rows = append(rows, r)
		report(r)
	}
	if err := longLivedHistory(ctx, endpoints, cfg, spec, add); err != nil {
		return rows, err
	}
	return rows, shortLivedHistory(ctx, endpoints, cfg, spec, add)
}

// longLivedHistory has two sessions lock and unlock one lock until it has
// each count of past acquisitions, and measures them there.
func longLivedHistory(ctx context.Context, endpoints []string, cfg config, spec cellSpec, add func(historyRow)) error {
	members, err := openMembers(ctx, endpoints, spec, freshName(spec.c))
	if err != nil {
		return err
	}
	defer closeMembers(members)
	past := 0
	for _, target := range cfg.history {
		if target > past {
			n, err := advance(ctx, members, spec, target-past)
			past += n
			if err != nil {
				return fmt.Errorf("%d past acquisitions: %w", target, err)
			}
		}
		row := historyRow{Kind: historyLong, Past: past}
		aged, err := interleaved(ctx, endpoints, spec, &row, func() (slice, error) {
			sl, err := measure(ctx, members, spec)
			if err == nil {
				past += sl.rec.grants
			}
			return sl, err
		})
		row.Aged = aged
		add(row)
		if err != nil {
			return err
		}
	}
	return nil
}

// advance has members lock and unlock until they made n acquisitions
// (a few more, as the last calls finish), and returns how many they made.
func advance(ctx context.Context, members []*member, spec cellSpec, n int) (int, error) {
	rec := newRecorder(1)
	d := drive(ctx, members, spec, rec)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for rec.granted() < n && d.err() == nil && ctx.Err() == nil {
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	if !d.stop() {
		return rec.granted(), fmt.Errorf("contenders still running %v after the window", drainTimeout)
	}
	if err := d.err(); err != nil {
		return rec.granted(), err
	}
	return rec.granted(), ctx.Err()
}

// shortLivedHistory writes what many one-acquisition sessions leave behind
// under one lock, measures it at each count, then compacts and measures
// again.
func shortLivedHistory(ctx context.Context, endpoints []string, cfg config, spec cellSpec, add func(historyRow)) error {
	name := freshName(spec.c)
	layout, err := keys.New(name)
	if err != nil {
		return err
	}
	cli, err := newClient(endpoints, &probe{})
	if err != nil {
		return err
	}
	defer cli.Close()
	// Each past session's one entry key: slot 0 of a lease of its own.
	// Made-up leases share a prefix, so one range delete removes them.
	const fakeLeases = 0x7fb0 << 48
	past := 0
	agedSlice := func() (slice, error) { return runSlice(ctx, endpoints, spec, name) }
	for _, target := range cfg.history {
		for i := past; i < target; i += seedBatch {
			var ops []clientv3.Op
			for j := i; j < min(i+seedBatch, target); j++ {
				ops = append(ops, clientv3.OpPut(layout.Entry(keys.SlotID(fakeLeases+int64(j), 0, 0), false), ""))
			}
			if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
				return fmt.Errorf("seed history: %w", err)
			}
		}
		if _, err := cli.Delete(ctx, layout.ExclusivePrefix()+"7fb0", clientv3.WithPrefix()); err != nil {
			return fmt.Errorf("seed history: %w", err)
		}
		past = target
		row := historyRow{Kind: historyShort, Past: past}
		aged, err := interleaved(ctx, endpoints, spec, &row, agedSlice)
		row.Aged = aged
		add(row)
		if err != nil {
			return err
		}
	}
	if past == 0 {
		return nil
	}
	resp, err := cli.Get(ctx, "compact")
	if err == nil {
		_, err = cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	}
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	row := historyRow{Kind: historyCompacted, Past: past}
	aged, err := interleaved(ctx, endpoints, spec, &row, agedSlice)
	row.Aged = aged
	add(row)
	return err
}

// interleaved takes historyRounds slices of the aged lock and as many of
// spec on a fresh lock, in turns (fresh first, then aged first, and so on),
// puts the fresh lock's figures in row.Fresh and returns the aged lock's.
// The ratio of the two is the figure that matters, and on a shared machine
// many short turns keep bursts of other load from landing on one side.
func interleaved(ctx context.Context, endpoints []string, spec cellSpec, row *historyRow, aged func() (slice, error)) (cellResult, error) {
	var fresh, old []slice
	var firstErr error
	for round := range historyRounds {
		for j := range 2 {
			var sl slice
			var err error
			if turn(round, j, 2) == 0 {
				if sl, err = runSlice(ctx, endpoints, spec, freshName(spec.c)); err == nil {
					fresh = append(fresh, sl)
				}
			} else if sl, err = aged(); err == nil {
				old = append(old, sl)
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	row.Fresh = summarize(spec, fresh)
	r := summarize(spec, old)
	if firstErr != nil && r.Err == "" {
		r.Err = firstErr.Error()
	}
	return r, firstErr
}
