// Package turn holds the decisions of fairlock's line as pure functions:
// whose turn it is, what a waiter watches, and when it must read again.
// Package queue does the I/O around them.
package turn

// Decision is what a waiter does after a read of the line.
type Decision struct {
	// Granted: fewer than limit blocking entries are older; the turn has come.
	Granted bool
	// Watch lists the keys whose change can bring the turn closer.
	Watch []string
	// WatchPuts: a put on a watched key matters too, not only its delete
	// (the predecessor's "touch" when it is granted a permit).
	WatchPuts bool
}

// AheadLimit is how many of the newest older blocking entries a read must
// return for Decide: limit+1 (one more than can hold, to tell the oldest
// waiter from the others).
func AheadLimit(limit int) int { return limit + 1 }

// Decide decides for an entry of a line that serves limit entries at once
// (1 for exclusive and shared entries, the semaphore's limit for permits),
// given ahead: the keys of the newest blocking entries older than it,
// newest first, as many as AheadLimit(limit) asks for (fewer if there are
// fewer).
//
// With k entries ahead: k < limit, the turn has come. k == limit, the entry
// is the oldest waiter: any of those limit entries leaving lets it in, and
// nothing else can while all of them remain, so it watches all of them.
// k > limit, it watches only its predecessor: it cannot be let in before
// becoming the oldest waiter, which happens when the predecessor leaves or
// is let in. A predecessor that is let in puts to its own key to say so
// (see MustSignal) when limit > 1; with limit 1 the oldest waiter's only
// entry ahead is the predecessor itself, so its delete is all that matters.
func Decide(limit int, ahead []string) Decision {
	switch k := len(ahead); {
	case k < limit:
		return Decision{Granted: true}
	case k == limit:
		return Decision{Watch: append([]string(nil), ahead...)}
	default:
		return Decision{Watch: []string{ahead[0]}, WatchPuts: limit > 1}
	}
}

// MustSignal reports whether an entry just granted must put to its own key
// to wake its successor: only in a line that serves several at once, and
// only when someone is behind it.
func MustSignal(limit int, anyoneBehind bool) bool { return limit > 1 && anyoneBehind }

// MustReread reports whether a waiter must read the line again before it
// can trust its watches. Watches start "now" (a watch from a past revision
// is served by etcd's 100 ms resync loop), so each covers only what happens
// after its created revision; a change between the last read (at readRev)
// and the newest created revision would be missed. The decision waits for
// every pending watch's created reply, so that one read covers them all.
func MustReread(readRev, newestCreated int64, pendingWatches int) bool {
	return pendingWatches == 0 && newestCreated > readRev
}

// Member is what Holders needs to know of an entry.
type Member struct {
	Exclusive bool // an exclusive entry (blocked by everything ahead)
	Shared    bool // a shared entry (blocked by exclusive entries ahead)
	Limit     int  // for a permit: its semaphore's limit (blocked when limit permits of that limit are ahead)
}

// Holders reports, for a line in create-revision order, which entries'
// turn has come. Exclusive and shared entries form one line; permits of
// each limit form a line of their own.
func Holders(line []Member) []bool {
	holds := make([]bool, len(line))
	var olderAny, olderExclusive int
	permitsAhead := map[int]int{}
	for i, m := range line {
		switch {
		case m.Limit > 0:
			holds[i] = permitsAhead[m.Limit] < m.Limit
			permitsAhead[m.Limit]++
		case m.Shared:
			holds[i] = olderExclusive == 0
			olderAny++
		default:
			holds[i] = olderAny == 0
			olderAny++
			olderExclusive++
		}
	}
	return holds
}
