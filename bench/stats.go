package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile of ds by the nearest-rank method,
// 0 for no samples. It sorts ds in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[min(max(rank, 1), len(ds))-1]
}
