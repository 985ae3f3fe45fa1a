package main

import (
	"fmt"
	"slices"
	"strings"
)

// history is the record of one run.
type history struct {
	candidates  []string // every candidate, in start order
	leaders     []string // leaders[i] led term i+1
	crashed     string   // the candidate that crashed; "" if none did
	crashTerm   int      // the term it crashed in
	overlapTerm int      // first term that began before the previous one ended; 0: none
	// observed are the leaders an observer (election.Observe) reported, in
	// order; they may go on past the last term, as the run winds down. nil:
	// no observer.
	observed []string
}

// check verifies that the rotation was fair: one leader at a time; until the
// crash, every candidate in a fixed repeating order; the crashed candidate
// never leads again; and the live candidates lead in a fixed repeating
// order throughout, so each leads the same number of terms give or take
// one; and an observer saw every term, in order. It returns a one-line
// summary.
func (h history) check() (string, error) {
	if h.overlapTerm != 0 {
		return "", fmt.Errorf("term %d began while another leader still led", h.overlapTerm)
	}
	if h.observed != nil {
		if len(h.observed) < len(h.leaders) {
			return "", fmt.Errorf("the observer saw %d of %d terms: %s", len(h.observed), len(h.leaders), strings.Join(h.observed, " "))
		}
		for i, l := range h.leaders {
			if h.observed[i] != l {
				return "", fmt.Errorf("the observer saw %s lead term %d, which %s led", h.observed[i], i+1, l)
			}
		}
	}
	n := len(h.candidates)
	preCrash := len(h.leaders)
	if h.crashed != "" {
		if h.crashTerm < 1 || h.crashTerm > len(h.leaders) || h.leaders[h.crashTerm-1] != h.crashed {
			return "", fmt.Errorf("%s crashed in term %d, which it did not lead", h.crashed, h.crashTerm)
		}
		for i := h.crashTerm; i < len(h.leaders); i++ {
			if h.leaders[i] == h.crashed {
				return "", fmt.Errorf("%s led term %d after crashing in term %d", h.crashed, i+1, h.crashTerm)
			}
		}
		preCrash = h.crashTerm
	}
	if err := repeats(h.leaders[:preCrash], n, func(i int) int { return i + 1 }); err != nil {
		return "", err
	}

	var live, seq []string
	var termOf []int
	for _, c := range h.candidates {
		if c != h.crashed {
			live = append(live, c)
		}
	}
	for i, l := range h.leaders {
		if l != h.crashed {
			seq, termOf = append(seq, l), append(termOf, i+1)
		}
	}
	if err := repeats(seq, len(live), func(i int) int { return termOf[i] }); err != nil {
		return "", fmt.Errorf("among live candidates: %w", err)
	}

	counts := make([]string, len(live))
	lo, hi := len(h.leaders), 0
	for i, c := range live {
		k := count(h.leaders, c)
		lo, hi = min(lo, k), max(hi, k)
		counts[i] = fmt.Sprintf("%s %d", c, k)
	}
	if hi-lo > 1 {
		return "", fmt.Errorf("live candidates led between %d and %d terms: %s", lo, hi, strings.Join(counts, ", "))
	}
	order := seq[:min(len(seq), len(live))]
	summary := fmt.Sprintf("%d live candidates led %s terms, in the repeating order %s",
		len(live), strings.Join(counts, ", "), strings.Join(order, " → "))
	if h.crashed != "" {
		summary += fmt.Sprintf("; %s crashed in term %d and was skipped after it", h.crashed, h.crashTerm)
	}
	if h.observed != nil {
		summary += "; an observer saw every term, in order"
	}
	return summary, nil
}

// repeats checks that seq is a repetition of its first period entries,
// all different: a fixed round-robin order. term maps an index of seq to
// its term number, for the error.
func repeats(seq []string, period int, term func(int) int) error {
	for i, l := range seq {
		if i < period {
			if j := slices.Index(seq[:i], l); j >= 0 {
				return fmt.Errorf("%s led terms %d and %d with others still waiting for their first turn", l, term(j), term(i))
			}
		} else if l != seq[i-period] {
			return fmt.Errorf("term %d was led by %s, but the order so far says %s", term(i), l, seq[i-period])
		}
	}
	return nil
}

func count(s []string, v string) int {
	k := 0
	for _, x := range s {
		if x == v {
			k++
		}
	}
	return k
}

// sequence returns the leaders as candidate numbers, the crashed term
// marked with ✗.
func (h history) sequence() string {
	parts := make([]string, len(h.leaders))
	for i, l := range h.leaders {
		parts[i] = strings.TrimPrefix(l, "cand-")
		if i+1 == h.crashTerm && l == h.crashed {
			parts[i] += "✗"
		}
	}
	return strings.Join(parts, " ")
}
