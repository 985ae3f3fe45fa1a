// Package turn holds the decisions of fairlock's line as pure functions:
// whose turn it is, what a waiter watches, when it must read again, and
// whom a release lets in. Package queue does the I/O around them.
package turn

// Decision is what a waiter does after a read of the line.
type Decision struct {
	// Granted: the entries ahead leave room for this one; the turn has come.
	Granted bool
	// Watch lists the keys whose change can bring the turn closer.
	Watch []string
	// WatchPuts: a put on a watched key matters too, not only its delete
	// (the predecessor's "touch" when it is granted a permit).
	WatchPuts bool
	// WatchLine: watch the deletes of the whole line's range instead of
	// keys (Watch is empty): the entry is the oldest waiter of a line that
	// serves several at once, so every entry ahead holds and any of them
	// leaving may let it in.
	WatchLine bool
}

// Ahead is an entry older than the deciding one, as a read reports it.
type Ahead struct {
	Key    string
	Weight int // a permit's weight; 1 for every other entry
}

// AheadLimit is how many of the newest older blocking entries a read must
// return for Decide: limit+1. Every entry weighs at least 1, so more than
// limit entries ahead means that one of them waits, whatever their weights.
func AheadLimit(limit int) int { return limit + 1 }

// Decide decides for an entry of the given weight in a line that serves
// entries while their weights fit in limit (1 with weight 1 for exclusive
// and shared entries, the semaphore's limit and the permit's weight for
// permits), given ahead: the newest blocking entries older than it, newest
// first, as many as AheadLimit(limit) asks for (fewer if there are fewer).
//
// Entries are served in order while the sum of the weights served, the
// next one's included, fits in limit: no entry overtakes an older one, even
// one that would fit. So the entries that hold are always a prefix of the
// line, and with the weights ahead summing to sum:
//
//   - fewer than AheadLimit entries ahead and sum+weight <= limit: the turn
//     has come.
//   - fewer than AheadLimit ahead and sum <= limit: every entry ahead holds
//     and this one is the oldest waiter. Only entries ahead leaving can let
//     it in, and nothing else can (no entry joins ahead of it). In a line
//     that serves one at a time the one entry ahead is its predecessor,
//     whose delete it watches; in one that serves several, it watches the
//     line's deletes: one watch rather than one per holder (the deletes of
//     entries behind it wake it too; they are rare, a waiter giving up,
//     and cost one read).
//   - otherwise some entry ahead waits, and so does the predecessor (the
//     holders are a prefix). This one cannot be let in before it is the
//     oldest waiter, which happens when the predecessor leaves or is let
//     in, so it watches only the predecessor: its delete, and, where
//     several entries can hold at once (limit > 1), the put that says it
//     was let in (its "touch").
func Decide(limit, weight int, ahead []Ahead) Decision {
	sum := 0
	for _, a := range ahead {
		sum += a.Weight
	}
	complete := len(ahead) < AheadLimit(limit)
	switch {
	case complete && sum+weight <= limit:
		return Decision{Granted: true}
	case complete && sum <= limit && limit > 1:
		return Decision{WatchLine: true}
	default: // the predecessor, also the oldest waiter's in a line of limit 1
		return Decision{Watch: []string{ahead[0].Key}, WatchPuts: limit > 1}
	}
}

// MustTouch reports whether an entry just granted must put to its own key
// to wake its successor: only in a line that serves several at once, when
// someone is behind it, and when the release that let it in did not touch
// it already (touched: its key was written after its creation).
func MustTouch(limit int, anyoneBehind, touched bool) bool {
	return limit > 1 && anyoneBehind && !touched
}

// LetIn returns whom a release lets in, for the releaser to touch in its
// own delete's transaction: the indices of the entries of line (the
// weights of the oldest entries of the line, oldest first, the leaving
// one's at index leaving) that hold once the leaving entry is gone and did
// not hold before. line must reach at least AheadLimit(limit) entries past
// the head, or the end of the line; a leaving entry that holds is always
// within that. In a line that serves one entry at a time (limit 1) the
// successor watches its predecessor's delete and needs no touch; a
// tenant's release asks LetIn there too, for the caller it admits (see
// package queue, "Tenants").
func LetIn(limit int, line []int, leaving int) []int {
	if limit < 1 || leaving < 0 || leaving >= len(line) {
		return nil
	}
	var in []int
	before, after := 0, 0
	for i, w := range line {
		before += w
		if i != leaving {
			after += w
		}
		if after > limit {
			break
		}
		if i != leaving && before > limit {
			in = append(in, i)
		}
	}
	return in
}

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
	Limit     int  // for a permit: its semaphore's limit
	Weight    int  // for a permit: its weight (0 counts as 1)
	// Line tells apart lines of permits of one limit: a tenant's admission
	// line has its tenant here; "" for a semaphore's permits.
	Line string
}

// Holders reports, for a line in create-revision order, which entries'
// turn has come. Exclusive and shared entries form one line; permits of
// each limit (and Line) form a line of their own, where an entry holds
// while the weights of the entries up to it, its own included, fit in the
// limit.
func Holders(line []Member) []bool {
	holds := make([]bool, len(line))
	var olderAny, olderExclusive int
	type permitLine struct {
		name  string
		limit int
	}
	permitWeight := map[permitLine]int{}
	for i, m := range line {
		switch {
		case m.Limit > 0:
			l := permitLine{m.Line, m.Limit}
			permitWeight[l] += max(m.Weight, 1)
			holds[i] = permitWeight[l] <= m.Limit
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

// Position returns how many entries must leave or be let in before an
// entry of the given weight is let in, in a line that serves entries while
// their weights fit in limit, given the weights of every blocking entry
// older than it, oldest first: 0 when its turn has come, otherwise the
// waiters ahead of it plus one.
func Position(limit, weight int, ahead []int) int {
	sum, waiting := 0, 0
	for _, w := range ahead {
		sum += w
		if sum > limit {
			waiting++
		}
	}
	if sum+weight <= limit {
		return 0
	}
	return waiting + 1
}
