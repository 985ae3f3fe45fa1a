package rwmutex_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/rwmutex"
)

// checker tracks who holds the lock, as the holders themselves report it.
// A holder reports before it releases and after it is granted, so the counts
// never exceed the real holds: any overlap they show is real.
type checker struct {
	t          *testing.T
	mu         sync.Mutex
	readers    int
	writers    int
	maxReaders int
	lastToken  int64
	reads      int
	writes     int
	cancelled  int
	refused    int
}

func (c *checker) enter(read bool, token int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		if c.writers > 0 {
			c.t.Errorf("a reader was granted while %d writer(s) held", c.writers)
		}
		c.readers++
		c.reads++
		c.maxReaders = max(c.maxReaders, c.readers)
		return
	}
	if c.writers > 0 || c.readers > 0 {
		c.t.Errorf("a writer was granted while %d writer(s) and %d reader(s) held", c.writers, c.readers)
	}
	// Writers hold one at a time in line order, so their tokens rise.
	if token <= c.lastToken {
		c.t.Errorf("writer token %d after %d", token, c.lastToken)
	}
	c.lastToken = token
	c.writers++
	c.writes++
}

func (c *checker) leave(read bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		c.readers--
	} else {
		c.writers--
	}
}

func (c *checker) count(p *int) {
	c.mu.Lock()
	*p++
	c.mu.Unlock()
}

// locker is what one workload goroutine drives: an RWMutex, or a
// fairmutex.Mutex standing in as a writer on the same name.
type locker struct {
	rw         *rwmutex.RWMutex
	m          *fairmutex.Mutex
	readsOnly  bool // for goroutines that share one RWMutex value
	writesOnly bool
}

// TestRandomWorkload runs several nodes doing random reads and writes, some
// with contexts that time out while they wait, some with TryLock and
// TryRLock, for a few seconds; a fairmutex node writes on the same name and
// two goroutines share one RWMutex value. It checks that a writer never
// holds with anyone else, that writer tokens rise, that readers really did
// hold together, and that nothing is left in etcd afterwards.
func TestRandomWorkload(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	name := lockName(t)
	const run = 3 * time.Second
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	var lockers []locker
	for i := range 5 {
		lockers = append(lockers, locker{rw: newNode(t, c, i, name, 10).rw})
	}
	shared := newNode(t, c, 5, name, 10).rw
	lockers = append(lockers, locker{rw: shared, readsOnly: true}, locker{rw: shared, readsOnly: true})
	m, err := fairmutex.New(testcluster.Session(t, testcluster.Client(t, c, 6), 10), name)
	must(t, err, "fairmutex.New")
	lockers = append(lockers, locker{m: m, writesOnly: true})

	chk := &checker{t: t}
	end := time.Now().Add(run)
	var wg sync.WaitGroup
	for i, l := range lockers {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() { work(t, chk, l, rng, end) })
	}
	wg.Wait()

	chk.mu.Lock()
	defer chk.mu.Unlock()
	t.Logf("%d reads, %d writes, %d cancelled waits, %d refused tries, at most %d readers at once",
		chk.reads, chk.writes, chk.cancelled, chk.refused, chk.maxReaders)
	if chk.reads == 0 || chk.writes == 0 {
		t.Errorf("the workload did not both read and write: %d reads, %d writes", chk.reads, chk.writes)
	}
	if chk.maxReaders < 2 {
		t.Errorf("readers never held together (at most %d at once)", chk.maxReaders)
	}
	noKeys(t, testcluster.Client(t, c, 0), name)
}

func work(t *testing.T, chk *checker, l locker, rng *rand.Rand, end time.Time) {
	for time.Now().Before(end) {
		read := !l.writesOnly && (l.readsOnly || rng.IntN(10) < 6)
		try := rng.IntN(10) == 0
		ctx, cancel := context.WithCancel(bg)
		if !try && rng.IntN(6) == 0 {
			// Often ends while waiting, sometimes while joining.
			ctx, cancel = context.WithTimeout(bg, time.Duration(rng.IntN(30))*time.Millisecond)
		}
		var err error
		switch {
		case l.m != nil && try:
			err = l.m.TryLock(ctx)
		case l.m != nil:
			err = l.m.Lock(ctx)
		case read && try:
			err = l.rw.TryRLock(ctx)
		case read:
			err = l.rw.RLock(ctx)
		case try:
			err = l.rw.TryLock(ctx)
		default:
			err = l.rw.Lock(ctx)
		}
		cancel()
		switch {
		case err == nil:
		case try && (errors.Is(err, rwmutex.ErrLocked) || errors.Is(err, fairmutex.ErrLocked)):
			chk.count(&chk.refused)
			continue
		case errors.Is(err, context.DeadlineExceeded):
			chk.count(&chk.cancelled)
			if l.rw != nil && !read && l.rw.Token() != 0 {
				t.Error("a Lock that timed out left a write hold")
				return
			}
			continue
		default:
			t.Errorf("lock (read %v, try %v): %v", read, try, err)
			return
		}

		var token int64
		switch {
		case l.m != nil:
			token = l.m.Token()
		case !read:
			token = l.rw.Token()
		}
		chk.enter(read, token)
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond) // hold for a while
		chk.leave(read)

		switch {
		case l.m != nil:
			err = l.m.Unlock(bg)
		case read:
			err = l.rw.RUnlock(bg)
		default:
			err = l.rw.Unlock(bg)
		}
		if err != nil {
			t.Errorf("release (read %v): %v", read, err)
			return
		}
	}
}
