package queue

import (
	"context"
	"log/slog"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/internal/turn"
)

// Wait blocks until the ticket's turn has come: for an exclusive ticket,
// until no older exclusive or shared entry remains; for a shared one, until
// no older exclusive entry remains; for a permit, until the weights of the
// older permits and its own fit in its limit (every older one having been
// let in: nobody overtakes). It returns at once if that is already so.
//
// While it waits it watches only the entries whose leaving can bring its
// turn (see package internal/turn): a release wakes the waiter it lets in,
// not the line, and a waiter costs etcd one watcher (the oldest permit
// waiter one per holder). Its own entry is checked at each wake-up and by
// its session every OwnKeyCheckInterval, so an entry deleted by someone
// else is noticed within that; a session that ends is noticed at once. It
// returns an error matching ErrLost when the entry goes, and
// ErrSessionExpired as well when the session's lease ended; ErrLeft when
// the ticket leaves meanwhile (Leave or Abandon from another goroutine) or
// had left. A ticket found at its turn by its join or an earlier Wait
// returns at once without asking etcd again. When ctx ends it returns
// ctx.Err() and leaves the entry in the line, holding its place: call Wait
// again, or Leave. Transient etcd errors are retried until ctx ends.
func (t *Ticket) Wait(ctx context.Context) error {
	if err := t.usable(); err != nil {
		return err
	}
	ahead, readRev := t.lastRead()
	if readRev != 0 && turn.Decide(t.limit, t.weight, ahead).Granted {
		// The turn came at the join or an earlier Wait: no watch, no read
		// (this is the one-round-trip uncontended Lock), unless the entry
		// is known gone.
		if t.doneClosed() || sessionEnded(t.q.s) {
			return t.observeGone(ctx, sessionEnded(t.q.s))
		}
		return t.grant(ctx)
	}
	w := waiter{t: t, cli: t.q.s.Client(), ahead: ahead, readRev: readRev,
		watches: map[string]*keyWatchState{}, events: make(chan watchEvent, 8)}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := w.run(ctx, wctx); err != nil {
		return err
	}
	t.setRead(nil, w.readRev)
	if err := t.grant(ctx); err != nil {
		return err
	}
	if turn.MustTouch(t.limit, w.behind, w.touched) {
		t.touch()
	}
	return nil
}

// brokenWatchPause is how long a waiter waits before watching again after
// a watch broke (no leader, compaction, a reconnection).
const brokenWatchPause = 50 * time.Millisecond

// waiter is the state of one Wait call.
type waiter struct {
	t   *Ticket
	cli *clientv3.Client

	ahead    []turn.Ahead // the last read's newest blocking entries
	readRev  int64        // revision of the last read; 0 before the first
	decision turn.Decision
	behind   bool // the last read saw an entry behind this one
	touched  bool // the last read saw the entry touched by the release that let it in

	events  chan watchEvent
	own     *ownCheck                 // the session's check of the entry (ownkeys.go)
	watches map[string]*keyWatchState // by key: the entries ahead watched
	newest  int64                     // newest created revision of a watch
	reread  bool
	// The next read must reflect at least this revision (0: any). Knowing
	// it lets the read be served by the member the client talks to, without
	// a round to the leader (see read).
	needRev int64
}

type keyWatchState struct {
	cancel  context.CancelFunc
	pending bool // no created reply yet
}

func (w *waiter) run(ctx, wctx context.Context) error {
	w.reread = w.readRev == 0
	w.decision = turn.Decide(w.t.limit, w.t.weight, w.ahead)
	own, stop := w.t.q.st.checkOwn(w.t)
	defer stop()
	w.own = own
	for {
		if w.reread {
			if err := w.read(ctx); err != nil {
				return err
			}
			if w.decision.Granted {
				return nil
			}
		}
		w.follow(wctx)
		if err := w.next(ctx, wctx); err != nil {
			return err
		}
	}
}

// follow makes the set of watched keys the decision's.
func (w *waiter) follow(wctx context.Context) {
	want := w.decision.Watch
	if w.decision.Oldest && w.t.limit > 1 {
		// The oldest permit waiter: one watch on its line's deletes rather
		// than one per holder. The deletes of entries behind it wake it
		// too; they are rare (a waiter giving up) and cost one read.
		from, _ := w.t.q.blockRange(w.t.kind, w.t.limit)
		want = []string{from}
	}
	for key, ws := range w.watches {
		if !slices.Contains(want, key) {
			ws.cancel()
			delete(w.watches, key)
		}
	}
	for _, key := range want {
		if w.watches[key] == nil {
			w.watches[key] = w.start(wctx, key)
		}
	}
}

func (w *waiter) start(wctx context.Context, key string) *keyWatchState {
	ctx, cancel := context.WithCancel(wctx)
	var opts []clientv3.OpOption
	if from, to := w.t.q.blockRange(w.t.kind, w.t.limit); key == from {
		opts = append(opts, clientv3.WithRange(to)) // the line's range (see follow)
	}
	if !w.decision.WatchPuts {
		// Only a delete matters: not a put on an entry ahead whose grant
		// does not concern this one. (A key's watch outlives decisions, but
		// puts only come to matter for a key watched from further back,
		// never the other way round.)
		opts = append(opts, clientv3.WithFilterPut())
	}
	go watchKey(ctx, w.cli, key, w.events, opts...)
	return &keyWatchState{cancel: cancel, pending: true}
}

// next waits for one thing to happen and records what it means.
func (w *waiter) next(ctx, wctx context.Context) error {
	var ev watchEvent
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.t.q.s.Done():
		return w.t.observeGone(ctx, true)
	case <-w.t.ended:
		return ErrLeft // Leave or Abandon, from another goroutine
	case <-w.own.gone:
		if w.own.err != nil {
			return w.t.q.refused(w.own.err)
		}
		return w.t.observeGone(ctx, false)
	case ev = <-w.events:
	}
	ws := w.watches[ev.key]
	if ws == nil {
		return nil // from a watch already stopped
	}
	switch {
	case ev.broken:
		if w.cli.Ctx().Err() != nil {
			// The client was closed: the session's keep-alives stopped with it.
			return w.t.observeGone(ctx, true)
		}
		if etcderr.IsRefused(ev.err) {
			return w.t.q.refused(ev.err) // refused on a fresh stream too (watchKey): final
		}
		// Broken (no leader, compaction): watch again, and read again once
		// it is in place. A member without a leader refuses the watch at
		// once, so pause first rather than spin.
		ws.cancel()
		pause := time.NewTimer(brokenWatchPause)
		select {
		case <-ctx.Done():
			pause.Stop()
			return ctx.Err()
		case <-w.t.q.s.Done():
			pause.Stop()
			return w.t.observeGone(ctx, true)
		case <-pause.C:
		}
		w.watches[ev.key] = w.start(wctx, ev.key)
	case ev.created:
		ws.pending = false
		w.newest = max(w.newest, ev.rev)
	case ev.rev <= w.readRev:
		// Already reflected by the last read.
	case ev.deleted, ev.put && w.decision.WatchPuts:
		w.reread = true
		w.needRev = max(w.needRev, ev.rev)
	}
	pending := 0
	for _, ws := range w.watches {
		if ws.pending {
			pending++
		}
	}
	if turn.MustReread(w.readRev, w.newest, pending) {
		w.reread = true
		w.needRev = max(w.needRev, w.newest)
	}
	return nil
}

// read finds the newest entries that block the ticket and checks, in the
// same read-only transaction, that the ticket's own entry is still there;
// for permits it also looks for an entry behind (see signal).
//
// When the read only has to reflect a known revision (that of the delete
// that woke the waiter, or of the watches' creation), it is serializable:
// the member the client talks to answers from its own store, which is as
// good as a linearizable read once that store has reached the revision, and
// spares a round to the leader on the handoff path. Entries older than the
// ticket can only disappear, never appear, so a state at or after that
// revision is a valid answer. A member that is behind gets a linearizable
// read instead.
func (w *waiter) read(ctx context.Context) error {
	resp, err := w.readAt(ctx, w.needRev > 0)
	if err == nil && resp.Header.Revision < w.needRev {
		resp, err = w.readAt(ctx, false)
	}
	if err != nil {
		return err
	}
	if !ownedIn(resp.Responses[0], w.t.rev) {
		return w.t.observeGone(ctx, false)
	}
	own := resp.Responses[0].GetResponseRange().GetKvs()[0]
	w.touched = own.ModRevision > own.CreateRevision
	w.ahead = aheadOf(resp.Responses[1], w.t.rev)
	w.behind = len(resp.Responses) > 2 && len(resp.Responses[2].GetResponseRange().GetKvs()) > 0
	w.readRev = resp.Header.Revision
	w.decision = turn.Decide(w.t.limit, w.t.weight, w.ahead)
	w.reread = false
	w.needRev = 0
	return nil
}

func (w *waiter) readAt(ctx context.Context, serializable bool) (resp *clientv3.TxnResponse, err error) {
	from, to := w.t.q.blockRange(w.t.kind, w.t.limit)
	own := []clientv3.OpOption{clientv3.WithKeysOnly()}
	ahead := []clientv3.OpOption{clientv3.WithRange(to), clientv3.WithKeysOnly(),
		clientv3.WithLimit(int64(turn.AheadLimit(w.t.limit))), clientv3.WithMaxCreateRev(w.t.rev - 1),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)}
	behind := []clientv3.OpOption{clientv3.WithRange(to), clientv3.WithKeysOnly(), clientv3.WithLimit(1),
		clientv3.WithMinCreateRev(w.t.rev + 1)}
	if serializable {
		own = append(own, clientv3.WithSerializable())
		ahead = append(ahead, clientv3.WithSerializable())
		behind = append(behind, clientv3.WithSerializable())
	}
	ops := []clientv3.Op{clientv3.OpGet(w.t.key, own...), clientv3.OpGet(from, ahead...)}
	if w.t.limit > 1 {
		ops = append(ops, clientv3.OpGet(from, behind...))
	}
	err = w.t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = w.cli.Txn(ctx).Then(ops...).Commit()
		return err
	})
	return resp, err
}

// touch wakes the waiter behind a permit just granted by a path that did
// not touch it (a holder's lease ending, its key deleted, a view of the
// line that the releaser's Leave could not keep up with): the successor
// watches this entry for puts, and must now watch the holders instead (see
// turn.Decide). The put keeps the entry's value, lease and create revision,
// and is fenced, so a hold already ended touches nothing (its delete woke
// the successor already). It is sent after the grant is returned, off the
// grant's path, and retried on transient errors while the ticket lives.
func (t *Ticket) touch() {
	q := t.q
	go func() {
		ctx := q.st.ctx
		err := q.retry(ctx, func(ctx context.Context) error {
			select {
			case <-t.ended:
				return nil // the hold's delete woke the successor
			default:
			}
			_, err := q.s.Client().Txn(ctx).If(t.IsOwner()).
				Then(clientv3.OpPut(t.key, "", clientv3.WithIgnoreValue(), clientv3.WithIgnoreLease())).Commit()
			return err
		})
		if err != nil && ctx.Err() == nil {
			q.log(slog.LevelWarn, "waking the next permit waiter failed", slog.String("key", t.key),
				slog.Int64("token", t.rev), slog.Any("err", err))
		}
	}()
}

func isLost(err error) bool {
	_, ok := err.(*lostError)
	return ok
}
