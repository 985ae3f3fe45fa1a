package fairlockprom

// Other is the "lock" label of every name that GroupKnown was not given.
const Other = "other"

// GroupByPrefix returns a grouping for WithNameGrouping that keeps the
// first depth path segments of a lock name: with depth 2,
// "/jobs/nightly/2024-05-01" and "/jobs/nightly/2024-05-02" both count as
// "/jobs/nightly", and "/jobs" stays "/jobs". Depth 0 or less counts every
// lock as "/". It does not allocate.
func GroupByPrefix(depth int) func(name string) string {
	return func(name string) string { return prefix(name, depth) }
}

// prefix returns name up to (not including) its (depth+1)-th slash, the
// slash that opens segment depth+1 of an absolute name.
func prefix(name string, depth int) string {
	if depth < 0 {
		depth = 0
	}
	slashes := 0
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		if slashes == depth {
			if i == 0 {
				return "/"
			}
			return name[:i]
		}
		slashes++
	}
	return name
}

// GroupKnown returns a grouping for WithNameGrouping that keeps the names
// given and counts every other lock as Other: a fixed set of series
// whatever names the program makes.
func GroupKnown(names ...string) func(name string) string {
	known := make(map[string]struct{}, len(names))
	for _, n := range names {
		known[n] = struct{}{}
	}
	return func(name string) string {
		if _, ok := known[name]; ok {
			return name
		}
		return Other
	}
}
