package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/semaphore"
)

// recorder keeps what the hooks were told.
type recorder struct {
	mu       sync.Mutex
	joined   []queue.JoinInfo
	granted  []queue.GrantInfo
	released []queue.ReleaseInfo
	lost     []queue.LossInfo
}

func (r *recorder) hooks() *queue.Hooks {
	return &queue.Hooks{
		Joined:   func(i queue.JoinInfo) { r.mu.Lock(); r.joined = append(r.joined, i); r.mu.Unlock() },
		Granted:  func(i queue.GrantInfo) { r.mu.Lock(); r.granted = append(r.granted, i); r.mu.Unlock() },
		Released: func(i queue.ReleaseInfo) { r.mu.Lock(); r.released = append(r.released, i); r.mu.Unlock() },
		Lost:     func(i queue.LossInfo) { r.mu.Lock(); r.lost = append(r.lost, i); r.mu.Unlock() },
	}
}

// counts returns how many joins, grants, releases and losses were told.
func (r *recorder) counts() [4]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return [4]int{len(r.joined), len(r.granted), len(r.released), len(r.lost)}
}

func (r *recorder) last() (queue.JoinInfo, queue.GrantInfo, queue.ReleaseInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var j queue.JoinInfo
	var g queue.GrantInfo
	var rel queue.ReleaseInfo
	if n := len(r.joined); n > 0 {
		j = r.joined[n-1]
	}
	if n := len(r.granted); n > 0 {
		g = r.granted[n-1]
	}
	if n := len(r.released); n > 0 {
		rel = r.released[n-1]
	}
	return j, g, rel
}

// holder is one kind of hold, as the hooks see it.
type holder struct {
	lock, unlock func(context.Context) error
	token        func() int64
}

type holderKind struct {
	name string
	kind queue.Kind
	try  bool // lock is a Try call: it fails rather than waits
	make func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder
	// block joins the entry of another session that holds the line
	// against this kind; nil: an exclusive entry.
	block func(ctx context.Context, q *queue.Queue) (*queue.Ticket, error)
}

var holderKinds = []holderKind{
	{name: "fairmutex", kind: queue.Exclusive, try: false, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		m, err := fairmutex.New(s, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return holder{m.Lock, m.Unlock, m.Token}
	}},
	{name: "fairmutex-TryLock", kind: queue.Exclusive, try: true, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		m, err := fairmutex.New(s, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return holder{m.TryLock, m.Unlock, m.Token}
	}},
	{name: "rwmutex-write", kind: queue.Exclusive, try: false, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		rw := mustRW(t, s, name, opts...)
		return holder{rw.Lock, rw.Unlock, rw.Token}
	}},
	{name: "rwmutex-read", kind: queue.Shared, try: false, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		rw := mustRW(t, s, name, opts...)
		return holder{rw.RLock, rw.RUnlock, rw.RToken}
	}},
	{name: "semaphore-permit", kind: queue.Permit, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		sm, err := semaphore.New(s, name, 1, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var p *semaphore.Permit
		return holder{
			lock: func(ctx context.Context) error {
				got, err := sm.Acquire(ctx)
				if err == nil {
					mu.Lock()
					p = got
					mu.Unlock()
				}
				return err
			},
			unlock: func(ctx context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				return p.Release(ctx)
			},
			token: func() int64 {
				mu.Lock()
				defer mu.Unlock()
				return p.Token()
			},
		}
	}, block: func(ctx context.Context, q *queue.Queue) (*queue.Ticket, error) { return q.JoinPermit(ctx, "x", 1) }},
	{name: "election-leader", kind: queue.Exclusive, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		e, err := election.New(s, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return holder{func(ctx context.Context) error { return e.Campaign(ctx, "v") }, e.Resign, e.Token}
	}},
	{name: "queue-ticket", kind: queue.Exclusive, try: false, make: func(t *testing.T, s *concurrency.Session, name string, opts ...queue.Option) holder {
		q := mustQueue(t, s, name, opts...)
		var mu sync.Mutex
		var tk *queue.Ticket
		return holder{
			lock: func(ctx context.Context) error {
				got, err := q.Acquire(ctx, "v")
				if err == nil {
					mu.Lock()
					tk = got
					mu.Unlock()
				}
				return err
			},
			unlock: func(ctx context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				err := tk.Leave(ctx)
				tk = nil
				return err
			},
			token: func() int64 {
				mu.Lock()
				defer mu.Unlock()
				if tk == nil {
					return 0
				}
				return tk.Rev()
			},
		}
	}},
}

// With queue.WithHooks, every successful lock is told once as joined and
// once as granted, every release once as released, every lost hold once as
// lost (and not as released), with the token, kind and plausible durations.
func TestHooks(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 2)
	cli := testcluster.Client(t, c, 0)
	other := testcluster.Session(t, testcluster.Client(t, c, 1), 30)
	const held = 50 * time.Millisecond
	for _, hk := range holderKinds {
		t.Run(hk.name, func(t *testing.T) {
			name := "/hooks/" + hk.name
			ctx, cancel := context.WithTimeout(bg, callTimeout)
			defer cancel()
			var rec recorder
			h := hk.make(t, testcluster.Session(t, cli, 30), name, queue.WithHooks(rec.hooks()))
			check := func(when string, want [4]int) {
				t.Helper()
				if got := rec.counts(); got != want {
					t.Fatalf("%s: told %d joins, %d grants, %d releases, %d losses; want %v", when, got[0], got[1], got[2], got[3], want)
				}
			}

			// Uncontended.
			start := time.Now()
			if err := h.lock(ctx); err != nil {
				t.Fatal(err)
			}
			locked := time.Since(start)
			check("after an uncontended lock", [4]int{1, 1, 0, 0})
			j, g, _ := rec.last()
			if j.Token != h.token() || g.Token != h.token() || j.Kind != hk.kind || g.Kind != hk.kind || j.Name != name || g.Key != j.Key {
				t.Errorf("joined %+v, granted %+v; want token %d, kind %s, lock %s", j, g, h.token(), hk.kind, name)
			}
			if g.Wait < 0 || g.Wait > locked || j.Ahead != 0 || g.Ahead != 0 {
				t.Errorf("uncontended grant: Wait %v (the call took %v), Ahead %d/%d; want Wait within the call and nothing ahead", g.Wait, locked, j.Ahead, g.Ahead)
			}
			time.Sleep(held) // a hold of known length: what Released.Held must cover
			if err := h.unlock(ctx); err != nil {
				t.Fatal(err)
			}
			heldMax := time.Since(start)
			check("after the unlock", [4]int{1, 1, 1, 0})
			if _, _, r := rec.last(); r.Token != j.Token || r.Kind != hk.kind || r.Held < held || r.Held > heldMax {
				t.Errorf("released %+v; want token %d, kind %s, Held in [%v, %v]", r, j.Token, hk.kind, held, heldMax)
			}

			// Contended: an exclusive entry of another session holds the line.
			var head *queue.Ticket
			if hk.block != nil {
				var err error
				if head, err = hk.block(ctx, mustQueue(t, other, name)); err != nil {
					t.Fatal(err)
				}
			} else {
				head = mustJoin(ctx, t, mustQueue(t, other, name))
			}
			if hk.try {
				if err := h.lock(ctx); err == nil {
					t.Fatal("a Try call behind a holder succeeded")
				}
				check("after a failed Try call", [4]int{1, 1, 1, 0})
				leave(t, head)
			} else {
				locked := make(chan error, 1)
				go func() { locked <- h.lock(ctx) }()
				testcluster.WaitKeys(t, admin, name+"/", 2)
				time.Sleep(held) // a wait of known length
				leave(t, head)
				if err := <-locked; err != nil {
					t.Fatal(err)
				}
				check("after a contended lock", [4]int{2, 2, 1, 0})
				j, g, _ := rec.last()
				if g.Wait < held || j.Ahead != 1 || g.Ahead != 1 || g.Token != h.token() {
					t.Errorf("contended grant %+v (joined %+v); want Wait at least %v, one entry ahead, token %d", g, j, held, h.token())
				}
				if err := h.unlock(ctx); err != nil {
					t.Fatal(err)
				}
				check("after the second unlock", [4]int{2, 2, 2, 0})
			}

			// A hold lost: the lease revoked, then the unlock. On a session
			// of its own, which the revoke ends.
			var lostRec recorder
			ls := testcluster.Session(t, cli, 30)
			lh := hk.make(t, ls, name, queue.WithHooks(lostRec.hooks()))
			locking := time.Now() // before the grant, so Held is at most the time since
			if err := lh.lock(ctx); err != nil {
				t.Fatal(err)
			}
			token := lh.token()
			if _, err := admin.Revoke(ctx, ls.Lease()); err != nil {
				t.Fatal(err)
			}
			if err := lh.unlock(ctx); !errors.Is(err, queue.ErrLost) {
				t.Fatalf("unlock of a hold whose lease was revoked = %v, want ErrLost", err)
			}
			if got := lostRec.counts(); got != [4]int{1, 1, 0, 1} {
				t.Fatalf("lost hold: told %d joins, %d grants, %d releases, %d losses; want 1, 1, 0, 1", got[0], got[1], got[2], got[3])
			}
			l := lostRec.lost[0]
			if l.Token != token || !l.Granted || l.Kind != hk.kind || l.Held <= 0 || l.Held > time.Since(locking) ||
				!errors.Is(l.Reason, queue.ErrLost) || !errors.Is(l.Reason, queue.ErrSessionExpired) {
				t.Errorf("lost %+v; want token %d, granted, kind %s, Held in (0, %v], a Reason matching ErrLost and ErrSessionExpired",
					l, token, hk.kind, time.Since(locking))
			}
		})
	}
}

// A nil hooks value, hooks with no fields set and a nil logger are all
// valid, through every event: a grant, a release, a loss.
func TestNilHooksAndLogger(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 1)
	cli := testcluster.Client(t, c, 0)
	for optsName, opts := range map[string][]queue.Option{
		"nil":   {queue.WithHooks(nil), queue.WithLogger(nil)},
		"empty": {queue.WithHooks(&queue.Hooks{}), queue.WithLogger(nil)},
	} {
		for _, hk := range holderKinds {
			t.Run(optsName+"/"+hk.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(bg, callTimeout)
				defer cancel()
				s := testcluster.Session(t, cli, 30)
				h := hk.make(t, s, "/nil-hooks/"+optsName+"/"+hk.name, opts...)
				for range 2 {
					if err := h.lock(ctx); err != nil {
						t.Fatal(err)
					}
					if err := h.unlock(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if err := h.lock(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := admin.Revoke(ctx, s.Lease()); err != nil {
					t.Fatal(err)
				}
				if err := h.unlock(ctx); !errors.Is(err, queue.ErrLost) {
					t.Fatalf("unlock of a lost hold = %v, want ErrLost", err)
				}
			})
		}
	}
}

// With a logger (at Debug level, so that the level is not what filters),
// a lost hold is logged once as a warning, with the lock and the token as
// attributes.
func TestLoggerWarnsOnLoss(t *testing.T) {
	c := testcluster.Cluster(t, 3)
	admin := testcluster.Client(t, c, 1)
	s := testcluster.Session(t, testcluster.Client(t, c, 0), 30)
	ctx, cancel := context.WithTimeout(bg, callTimeout)
	defer cancel()
	logs := newLogRecorder()
	const name = "/logged"
	m, err := fairmutex.New(s, name, queue.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if w := logs.warnings(); len(w) != 0 {
		t.Fatalf("warnings logged by a lock and its unlock: %v", w)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	token := m.Token()
	if _, err := admin.Delete(ctx, m.Key()); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); !errors.Is(err, queue.ErrLost) {
		t.Fatalf("Unlock of a deleted hold = %v, want ErrLost", err)
	}
	w := logs.warnings()
	if len(w) != 1 {
		t.Fatalf("%d warnings logged for one loss, want 1: %v", len(w), w)
	}
	if w[0]["lock"] != name || w[0]["token"] != token {
		t.Errorf("loss logged with attributes %v, want lock=%s token=%d", w[0], name, token)
	}
}

// logRecorder is a slog.Handler that keeps the attributes of every record
// at warning level or above.
type logRecorder struct {
	sink  *logSink
	attrs []slog.Attr // from WithAttrs
}

type logSink struct {
	mu    sync.Mutex
	warns []map[string]any
}

func newLogRecorder() *logRecorder { return &logRecorder{sink: &logSink{}} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return nil
	}
	m := map[string]any{"msg": r.Message}
	add := func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true }
	for _, a := range l.attrs {
		add(a)
	}
	r.Attrs(add)
	l.sink.mu.Lock()
	l.sink.warns = append(l.sink.warns, m)
	l.sink.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{sink: l.sink, attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

func (l *logRecorder) warnings() []map[string]any {
	l.sink.mu.Lock()
	defer l.sink.mu.Unlock()
	return append([]map[string]any(nil), l.sink.warns...)
}
