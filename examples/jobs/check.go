package main

import (
	"cmp"
	"fmt"
	"slices"
)

// check verifies the run: every job ran once, none while another ran, in
// the order of their create revisions, and a job submitted (its Join
// returned) before another was submitted got the lower revision.
func check(records []record) error {
	for _, r := range records {
		if r.overlapped {
			return fmt.Errorf("%s started while another job was running", r.job)
		}
	}
	ran := byRan(records)
	seen := make(map[string]bool)
	for i, r := range ran {
		if seen[r.job] {
			return fmt.Errorf("%s ran twice", r.job)
		}
		seen[r.job] = true
		if i > 0 && r.rev <= ran[i-1].rev {
			return fmt.Errorf("%s (revision %d) ran after %s (revision %d): not in create revision order",
				r.job, r.rev, ran[i-1].job, ran[i-1].rev)
		}
	}
	for _, a := range records {
		for _, b := range records {
			if a.submitEnd.Before(b.submitStart) && a.rev >= b.rev {
				return fmt.Errorf("%s was submitted before %s but got revision %d >= %d",
					a.job, b.job, a.rev, b.rev)
			}
		}
	}
	return nil
}

// byRan returns the records in execution order, as etcd recorded it.
func byRan(records []record) []record {
	return slices.SortedFunc(slices.Values(records), func(a, b record) int { return cmp.Compare(a.ranRev, b.ranRev) })
}
