package history

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fairlock/fairlock/queue"
)

// History is the record of every attempt on one lock. It is safe for
// concurrent use; the zero value is ready to use.
type History struct {
	mu    sync.Mutex
	seq   int64 // last event number handed out
	start time.Time
	ops   []*Op
}

// Op is one attempt to take the lock, from joining the line to the release
// of the hold it got, if any. Its methods note what the client saw; call
// each at most once, in the order the events happened.
type Op struct {
	h      *History
	who    string
	shared bool

	// Guarded by h.mu. Event numbers are 0 until the event happens.
	rev                       int64 // create revision, once known
	begun, joined, granted    int64
	cancelling, released, end int64
	grantedAt, releasedAt     time.Time
	lost                      bool
	failed                    error
}

// next returns the number of a new event, with h.mu held.
func (h *History) next() int64 {
	h.seq++
	return h.seq
}

// Begin records the start of an attempt by who, about to join the line with
// a shared or an exclusive entry.
func (h *History) Begin(who string, shared bool) *Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.start.IsZero() {
		h.start = time.Now()
	}
	op := &Op{h: h, who: who, shared: shared}
	op.begun = h.next()
	h.ops = append(h.ops, op)
	return op
}

// Joined records the entry's create revision, its place in the line, known
// before the grant (for example from queue.Join).
func (o *Op) Joined(rev int64) {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	o.rev = rev
	o.joined = o.h.next()
}

// Granted records that the call waiting for the lock returned it, with the
// hold's token. Call it after that call has returned.
func (o *Op) Granted(token int64) {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	o.rev = token
	o.granted = o.h.next()
	o.grantedAt = time.Now()
}

// Cancelling records that the test is about to cancel the context of the
// call waiting for the lock. Call it before cancelling.
func (o *Op) Cancelling() {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	if o.cancelling == 0 {
		o.cancelling = o.h.next()
	}
}

// Failed records that the call waiting for the lock returned err instead of
// the lock. A failure that follows Cancelling is a cancellation; any other
// failure (session expired, entry lost) takes the attempt out of the FIFO
// check, since its entry left the line at a time the test cannot see.
func (o *Op) Failed(err error) {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	if err == nil {
		err = errors.New("failed with a nil error")
	}
	o.failed = err
	o.end = o.h.next()
}

// Lost records that the hold (or the waiting entry) was seen gone without
// its owner removing it: Done closed before the release, or a call reported
// ErrLost or ErrSessionExpired.
func (o *Op) Lost() {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	o.lost = true
}

// Release records the release of the hold: it notes the release's start,
// runs unlock, and notes the loss if unlock reports ErrLost. If unlock fails
// in another way (its outcome unknown), the hold is taken to go on, and the
// start is forgotten: call Release again, or Lost if the test gives up.
func (o *Op) Release(unlock func() error) error {
	o.h.mu.Lock()
	o.released = o.h.next()
	o.releasedAt = time.Now()
	o.h.mu.Unlock()

	err := unlock()

	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	switch {
	case err == nil:
	case errors.Is(err, queue.ErrLost):
		o.lost = true
	default:
		o.released, o.releasedAt = 0, time.Time{}
		return err
	}
	o.end = o.h.next()
	return err
}

// Token returns the hold's token, or the entry's revision, 0 if unknown.
func (o *Op) Token() int64 {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	return o.rev
}

// Hold is a granted attempt, as Holds reports it.
type Hold struct {
	Who       string
	Shared    bool
	Token     int64
	GrantedAt time.Time
	// ReleasedAt is zero when the hold was never released.
	ReleasedAt time.Time
	Lost       bool
}

// Holds returns every granted attempt, in grant order.
func (h *History) Holds() []Hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	var holds []Hold
	for _, o := range h.grantOrder() {
		holds = append(holds, Hold{Who: o.who, Shared: o.shared, Token: o.rev,
			GrantedAt: o.grantedAt, ReleasedAt: o.releasedAt, Lost: o.lost})
	}
	return holds
}

// Failures returns the errors of the attempts that ended without a grant,
// cancelled ones excluded.
func (h *History) Failures() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, o := range h.ops {
		if o.failed != nil && o.cancelling == 0 {
			errs = append(errs, fmt.Errorf("%s: %w", o.who, o.failed))
		}
	}
	return errs
}

// grantOrder returns the granted ops in the order of their grants, with
// h.mu held.
func (h *History) grantOrder() []*Op {
	var granted []*Op
	for _, o := range h.ops {
		if o.granted != 0 {
			granted = append(granted, o)
		}
	}
	sort.Slice(granted, func(i, j int) bool { return granted[i].granted < granted[j].granted })
	return granted
}

// conflict reports whether two attempts exclude one another.
func conflict(a, b *Op) bool { return !a.shared || !b.shared }

// maxViolations bounds the report: the first few say what went wrong.
const maxViolations = 20

// Check verifies the history (see the package documentation) and returns
// nil, or an error listing the violations found followed by the timeline.
func (h *History) Check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var v []string
	report := func(format string, args ...any) {
		v = append(v, fmt.Sprintf(format, args...))
	}
	granted := h.grantOrder()

	byToken := map[int64]*Op{}
	for _, o := range granted {
		if o.rev <= 0 {
			report("%s granted with token %d", o.label(), o.rev)
		}
		if prev, ok := byToken[o.rev]; ok {
			report("token %d granted twice: %s and %s", o.rev, prev.label(), o.label())
		}
		byToken[o.rev] = o
		if o.released != 0 && o.released < o.granted {
			report("%s released before it was granted", o.label())
		}
	}

	for i, a := range granted {
		for _, b := range granted[i+1:] {
			if !conflict(a, b) {
				continue
			}
			if (a.released == 0 || a.released > b.granted) && !a.lost && !b.lost {
				report("overlap: %s still held when %s was granted", a.label(), b.label())
			}
			if a.rev > b.rev && !b.lost {
				report("token order: %s granted after %s, with a lower token, and not lost", b.label(), a.label())
			}
		}
	}

	for _, b := range granted {
		for _, x := range h.ops {
			if x == b || x.rev == 0 || x.rev >= b.rev || !conflict(x, b) {
				continue
			}
			gone := (x.granted != 0 && x.granted < b.granted) ||
				(x.cancelling != 0 && x.cancelling < b.granted) ||
				x.lost || (x.failed != nil && x.cancelling == 0)
			if !gone {
				report("FIFO: %s granted while %s, older in the line, still waited", b.label(), x.label())
			}
		}
	}

	if len(v) == 0 {
		return nil
	}
	if len(v) > maxViolations {
		v = append(v[:maxViolations], fmt.Sprintf("... and %d more", len(v)-maxViolations))
	}
	return fmt.Errorf("history: %d violation(s):\n  %s\ntimeline:\n%s",
		len(v), strings.Join(v, "\n  "), h.timelineLocked())
}

// String returns the timeline of the history, one line per attempt.
func (h *History) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.timelineLocked()
}

func (h *History) timelineLocked() string {
	var b strings.Builder
	for _, o := range h.ops {
		fmt.Fprintf(&b, "  %s begun@%d", o.label(), o.begun)
		if o.joined != 0 {
			fmt.Fprintf(&b, " joined@%d", o.joined)
		}
		if o.granted != 0 {
			fmt.Fprintf(&b, " granted@%d(+%v)", o.granted, o.grantedAt.Sub(h.start).Round(time.Millisecond))
		}
		if o.cancelling != 0 {
			fmt.Fprintf(&b, " cancelling@%d", o.cancelling)
		}
		if o.released != 0 {
			fmt.Fprintf(&b, " released@%d(+%v)", o.released, o.releasedAt.Sub(h.start).Round(time.Millisecond))
		}
		if o.lost {
			b.WriteString(" LOST")
		}
		if o.failed != nil {
			fmt.Fprintf(&b, " failed: %v", o.failed)
		}
		if o.end != 0 {
			fmt.Fprintf(&b, " ended@%d", o.end)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// label names the attempt: who, mode and revision; with h.mu held.
func (o *Op) label() string {
	mode := "x"
	if o.shared {
		mode = "s"
	}
	return fmt.Sprintf("%s[%s rev %d]", o.who, mode, o.rev)
}
