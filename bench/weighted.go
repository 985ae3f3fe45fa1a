package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/semaphore"
)

// The weighted semaphores' row group: every acquisition takes a weight
// drawn from 1 to -wsem-max-weight out of -wsem-limit.

// Names of the weighted contenders, used by -only and in the tables.
const (
	nameSemW     = "semaphore-w"
	nameCuratorW = "curator-sem-w"
)

// weightSeed seeds the weights' generator, with the contender's index in
// its cell: contender i of every weighted lock draws the same weights in
// the same order, slice after slice, so both sides carry the same load.
const weightSeed = 0x5eed_0f_3e16

// weigher is a locker whose acquisitions carry a weight: before each lock
// it draws the next one's, for the lock and for the book.
type weigher interface {
	weigh(rng *rand.Rand) int
}

// newWeightRand returns contender i's generator of weights.
func newWeightRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(i), weightSeed))
}

// drawWeight draws a weight from 1 to maxWeight (1 when maxWeight < 2).
func drawWeight(rng *rand.Rand, maxWeight int) int {
	if maxWeight < 2 {
		return 1
	}
	return 1 + rng.IntN(maxWeight)
}

// wsemLocker drives fairlock's semaphore with weights: lock is AcquireN
// of the weight drawn last, unlock releases the permit. One goroutine
// drives each.
type wsemLocker struct {
	sm        *semaphore.Semaphore
	maxWeight int
	w         int
	p         *semaphore.Permit
}

func openWeightedSemaphore(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	sm, err := semaphore.New(s, name, spec.limit)
	return &wsemLocker{sm: sm, maxWeight: spec.maxWeight, w: 1}, err
}

func (l *wsemLocker) weigh(rng *rand.Rand) int {
	l.w = drawWeight(rng, l.maxWeight)
	return l.w
}

func (l *wsemLocker) lock(ctx context.Context, _ bool) error {
	p, err := l.sm.AcquireN(ctx, l.w)
	if err != nil {
		return err
	}
	l.p = p
	if p.Weight() != l.w {
		return fmt.Errorf("semaphore: permit of weight %d for AcquireN(%d)", p.Weight(), l.w)
	}
	return nil
}

func (l *wsemLocker) unlock(ctx context.Context, _ bool) error {
	if l.p == nil {
		return errors.New("semaphore: release without a permit")
	}
	err := l.p.Release(ctx)
	l.p = nil
	return err
}

func openCuratorWSem(s *concurrency.Session, name string, spec cellSpec) (locker, error) {
	return newCuratorSem(s, name, spec.limit, spec.maxWeight), nil
}

// lineEntry is one entry of the baseline's line as read.
type lineEntry struct {
	rev    int64 // create revision
	weight int
	mine   bool // the reader's own entry
}

// fifoGoes decides the baseline's strict FIFO rule for the entry created
// at rev: it goes when the weights of every entry older than it, holders
// and waiters alike, plus its own fit in limit. mine reports whether the
// entry is in line at all.
func fifoGoes(line []lineEntry, rev int64, limit int) (goes, mine bool) {
	sum, own := 0, 0
	for _, e := range line {
		switch {
		case e.rev < rev:
			sum += e.weight
		case e.mine:
			mine, own = true, e.weight
		}
	}
	return mine && sum+own <= limit, mine
}

// weightedTable shows the weighted semaphore cells.
func weightedTable(res *results) table {
	first := res.Weighted[0]
	t := cellTable(fmt.Sprintf("Weighted semaphores, limit %d, weights 1-%d: contenders looping AcquireN, Release",
		first.Limit, first.MaxWeight), "acq/s", res.Weighted)
	var mean []string
	for _, r := range res.Weighted {
		if r.Err == "" && r.Grants > 0 {
			mean = append(mean, fmt.Sprintf("%s n=%d: %.2f", r.Contender, r.N, r.MeanWeight))
		}
	}
	t.notes = append(t.notes, "Each acquisition's weight is drawn uniformly from 1 to the maximum, from a generator seeded by the "+
		"contender's index, so contender i of both locks draws the same weights in the same order. Both are strictly FIFO: a "+
		"later caller never goes before an earlier one that does not fit. An overtake is a later caller granted while an "+
		"earlier one waits whose weight did not fit beside the holds the book counted at that moment; a violation, a grant "+
		"that took the book's holds over the limit.")
	if len(mean) > 0 {
		t.notes = append(t.notes, "Mean weight granted: "+strings.Join(mean, ", ")+".")
	}
	return t
}

// weightedTargets checks the weighted semaphore's promises: FIFO with
// weights, no more than the limit held, watch events flat in the number of
// contenders.
func weightedTargets(res *results, add func(target, measured string, met bool)) {
	var overtakes, events, violations []string
	overOK, violOK := true, true
	lo, hi := 0.0, 0.0
	for _, r := range res.Weighted {
		if r.Err != "" {
			continue
		}
		violations = append(violations, fmt.Sprintf("%s/%d:%d", r.Contender, r.N, r.Violations))
		violOK = violOK && r.Violations == 0
		if r.Contender != nameSemW {
			continue
		}
		overtakes = append(overtakes, fmt.Sprintf("%d:%d", r.N, r.Joined))
		overOK = overOK && r.Joined == 0
		events = append(events, fmt.Sprintf("%d:%.2f", r.N, r.Events))
		if lo == 0 || r.Events < lo {
			lo = r.Events
		}
		hi = max(hi, r.Events)
	}
	if len(overtakes) > 0 {
		add("weighted semaphore: zero overtakes in line (n:total)", strings.Join(overtakes, " "), overOK)
		add("weighted semaphore: watch events per acquisition flat in n (max ≤ 1.25× min)", strings.Join(events, " "),
			lo > 0 && hi <= 1.25*lo)
	}
	if len(violations) > 0 {
		add("weighted semaphores: never more than the limit held (lock/n:violations)", strings.Join(violations, " "), violOK)
	}
}

// weightedSpecs returns the bases of the weighted cells, one per count.
func weightedSpecs(cfg config) []cellSpec {
	var out []cellSpec
	for _, n := range cfg.wsemCounts {
		out = append(out, cellSpec{n: n, limit: cfg.wsemLimit, maxWeight: cfg.wsemMaxWeight})
	}
	return out
}
