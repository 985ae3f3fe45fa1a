package lockall_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// shared checks one line of an RWMutex: a writer alone, readers together,
// and a writer granted only after every grant before it (a writer is
// served once all older entries have left, so its token is above all of
// theirs), a reader only after the writers before it.
type shared struct {
	name             string
	readers, writers atomic.Int32
	maxToken         atomic.Int64 // of every grant so far
	lastWrite        atomic.Int64 // token of the last write grant
}

func (l *shared) enter(read bool, token int64) error {
	if read {
		l.readers.Add(1)
		if w := l.writers.Load(); w != 0 {
			return fmt.Errorf("%s: a reader in while %d writer(s) hold", l.name, w)
		}
		if last := l.lastWrite.Load(); token <= last {
			return fmt.Errorf("%s: reader with token %d granted after the writer with token %d", l.name, token, last)
		}
	} else {
		if w := l.writers.Add(1); w != 1 {
			return fmt.Errorf("%s: %d writers at once", l.name, w)
		}
		if r := l.readers.Load(); r != 0 {
			return fmt.Errorf("%s: a writer in while %d reader(s) hold", l.name, r)
		}
		if max := l.maxToken.Load(); token <= max {
			return fmt.Errorf("%s: writer with token %d granted after a grant with token %d", l.name, token, max)
		}
		l.lastWrite.Store(token)
	}
	for {
		max := l.maxToken.Load()
		if token <= max || l.maxToken.CompareAndSwap(max, token) {
			return nil
		}
	}
}

func (l *shared) leave(read bool) {
	if read {
		l.readers.Add(-1)
	} else {
		l.writers.Add(-1)
	}
}

// Two callers each take a read hold of one lock and a write hold of the
// other in one rwmutex.LockAll, in opposite roles (read P + write Q, read
// Q + write P), against single readers and writers on both locks. Taken
// one by one they could deadlock (each reader admitted, each writer behind
// the other's reader); with LockAll every call returns within its
// deadline, each line keeps its reader/writer exclusion and order, and a
// LockAll's holds share one token.
func TestRWLockAllReadOneWriteAnother(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	lines := map[string]*shared{"/P": {name: "/P"}, "/Q": {name: "/Q"}}
	type hold struct {
		name string
		read bool
	}
	callers := []struct {
		who   string
		holds []hold
	}{
		{"rP+wQ", []hold{{"/P", true}, {"/Q", false}}},
		{"wP+rQ", []hold{{"/Q", true}, {"/P", false}}},
		{"rP", []hold{{"/P", true}}},
		{"wP", []hold{{"/P", false}}},
		{"rQ", []hold{{"/Q", true}}},
		{"wQ", []hold{{"/Q", false}}},
	}

	ctx, cancel := context.WithTimeout(context.Background(), runFor+2*time.Minute)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	end := time.Now().Add(runFor)
	rounds := make([]atomic.Int64, len(callers))
	for i, cl := range callers {
		nd := newNode(t, c, i, 30)
		holds := make([]rwmutex.Hold, len(cl.holds))
		for j, h := range cl.holds {
			holds[j] = rwmutex.Hold{RW: nd.rw(t, h.name), Read: h.read}
		}
		token := func(h rwmutex.Hold) int64 {
			if h.Read {
				return h.RW.RToken()
			}
			return h.RW.Token()
		}
		g.Go(func() error {
			for time.Now().Before(end) {
				lock := func(ctx context.Context) error { return rwmutex.LockAll(ctx, holds...) }
				if len(holds) == 1 && holds[0].Read {
					lock = holds[0].RW.RLock
				} else if len(holds) == 1 {
					lock = holds[0].RW.Lock
				}
				if err := within(gctx, lock); err != nil {
					return fmt.Errorf("%s: round %d: %w", cl.who, rounds[i].Load(), err)
				}
				tok := token(holds[0])
				for j, h := range holds {
					if token(h) != tok || tok == 0 {
						return fmt.Errorf("%s: tokens %d and %d of one LockAll", cl.who, tok, token(h))
					}
					if err := lines[cl.holds[j].name].enter(h.Read, tok); err != nil {
						return fmt.Errorf("%s: %w", cl.who, err)
					}
				}
				time.Sleep(time.Millisecond) // hold a little, so that overlaps would show
				for j, h := range holds {
					lines[cl.holds[j].name].leave(h.Read)
					unlock := h.RW.Unlock
					if h.Read {
						unlock = h.RW.RUnlock
					}
					if err := within(gctx, unlock); err != nil {
						return fmt.Errorf("%s: unlock %s: %w", cl.who, cl.holds[j].name, err)
					}
				}
				rounds[i].Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	admin := testcluster.Client(t, c, 0)
	for i, cl := range callers {
		t.Logf("%s: %d rounds", cl.who, rounds[i].Load())
		if rounds[i].Load() == 0 {
			t.Errorf("%s never held its locks in %v", cl.who, runFor)
		}
	}
	for name := range lines {
		if k := keys(t, admin, name); len(k) != 0 {
			t.Errorf("keys left in %s: %v", name, k)
		}
	}
}
