package queue

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
	"github.com/fairlock/fairlock/internal/turn"
)

// Wait blocks until the ticket's turn has come: until the entries ahead
// that block it have left or, for a permit, leave room for its weight.
//
// It returns nil at once when the join or an earlier Wait found the turn
// come. When ctx ends it returns ctx.Err() and the entry keeps its place,
// unlike Acquire's (and a Mutex's Lock's), which go: unless Wait is called
// again or the ticket leaves, its turn comes and it holds the line with
// nothing running, until Leave or the end of its session. So after Join,
// defer Leave (with a context of its own), or call Abandon. It returns an
// error matching ErrLost when the entry goes (and ErrSessionExpired as
// well when the session's lease ended), and ErrLeft when the ticket has
// left or leaves meanwhile.
func (t *Ticket) Wait(ctx context.Context) error {
	_, _, err := t.waitReading(ctx, nil)
	return err
}

// extraReads are reads a Wait makes beside its own, in each of its reads
// of the line, narrowed by opts (serializable ones, say); see
// waitReading.
type extraReads func(opts ...clientv3.OpOption) []clientv3.Op

// waitReading is Wait, with extra's reads in every read of the line it
// makes: it returns their answers from the read that found the turn come,
// and that read's revision; nil when the turn came otherwise (at the join,
// or on the session's check's read).
func (t *Ticket) waitReading(ctx context.Context, extra extraReads) ([]*etcdserverpb.ResponseOp, int64, error) {
	if err := t.usable(); err != nil {
		return nil, 0, err
	}
	r := t.lastRead()
	if r.rev != 0 && turn.Decide(t.limit, t.weight, r.ahead).Granted {
		// The turn came at the join or an earlier Wait: no watch, no read
		// (this is the one-round-trip uncontended Lock), unless the entry
		// is known gone.
		if t.doneClosed() || t.q.st.ended() {
			return nil, 0, t.observeGone(ctx, t.q.st.ended())
		}
		return nil, 0, t.grant(ctx)
	}
	w := waiter{t: t, cli: t.q.s.Client(), ahead: r.ahead, readRev: r.rev, extra: extra,
		watches: map[string]*keyWatchState{}, events: make(chan watchEvent, 8)}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := w.run(ctx, wctx); err != nil {
		return nil, 0, err
	}
	t.mu.Lock()
	t.read = view{rev: w.readRev}
	t.mu.Unlock()
	if err := t.grant(ctx); err != nil {
		return nil, 0, err
	}
	if turn.MustTouch(t.limit, w.behind, w.touched) {
		t.touch()
	}
	if w.extraRead == nil {
		return nil, 0, nil
	}
	return w.extraRead, w.readRev, nil
}

// waiter is the state of one Wait call.
type waiter struct {
	t   *Ticket
	cli *clientv3.Client

	ahead   []turn.Ahead // the last read's newest blocking entries
	readRev int64        // revision of the last read; 0 before the first
	// published: readRev as last given to the session's check (publish).
	published int64
	decision  turn.Decision
	behind    bool // the last read saw an entry behind this one
	touched   bool // the last read saw the entry touched by the release that let it in

	// extra: reads beside the waiter's own (waitReading); extraRead their
	// answers in the last read, nil when it did not decide.
	extra     extraReads
	extraRead []*etcdserverpb.ResponseOp

	events  chan watchEvent
	own     *ownWait                  // the session's check of the entry (ownkeys.go)
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
	own, stop := w.t.q.st.own.add(w.t)
	defer stop()
	w.own = own
	if w.reread {
		// Nothing read yet: any read the check makes is news.
		w.t.q.st.own.setProbe(w.own, &probe{op: w.t.olderOp(), unknown: true})
	} else {
		w.publish()
	}
	for {
		if w.reread {
			if err := w.read(ctx); err != nil {
				return err
			}
			if w.decision.Granted {
				return nil
			}
			w.publish()
		}
		w.follow(wctx)
		if err := w.next(ctx, wctx); err != nil {
			return err
		}
		if w.decision.Granted {
			return nil // decided on the session's check's read
		}
		if !w.reread && w.readRev > w.published {
			w.publish()
		}
	}
}

// publish gives the session's check what the last read saw ahead, for it
// to read again every OwnKeyCheckInterval: a change the watches do not
// deliver (their member stopped or cut off) wakes the waiter all the same.
func (w *waiter) publish() {
	t := w.t
	n := turn.AheadLimit(t.limit)
	keys := make([]string, 0, min(len(w.ahead), n))
	for _, a := range w.ahead[:min(len(w.ahead), n)] {
		keys = append(keys, a.Key)
	}
	t.q.st.own.setProbe(w.own, newProbe(t.olderOp(), keys, w.readRev))
	w.published = w.readRev
}

// follow makes the set of watched keys the decision's.
func (w *waiter) follow(wctx context.Context) {
	want := w.decision.Watch
	if w.decision.WatchLine {
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
	case s := <-w.own.seen:
		// What is ahead changed and no watch said so (yet): decide on the
		// check's read, which went through a member that answered.
		if s.rev > w.readRev {
			w.saw(s.own, s.ahead, nil, s.rev)
		}
		return nil
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
// same read-only transaction, that the ticket's own entry is still there
// and whether a release touched it; for permits it also looks for an entry
// behind (see touch).
//
// When the read only has to reflect a known revision (that of the delete
// that woke the waiter, or of the watches' creation), it is serializable:
// entries older than the ticket can only disappear, never appear, so the
// member's own store, once it has reached that revision, answers as well
// as the leader. A member that is behind gets a linearizable read instead.
//
// While the read waits for an answer (its attempt went to a member that
// does not answer, say), the session's check may read the line through
// another member: the waiter decides on whichever answer comes first.
func (w *waiter) read(ctx context.Context) error {
	need := w.needRev
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		resp *clientv3.TxnResponse
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := w.readAt(rctx, need > 0)
		if err == nil && resp.Header.Revision < need {
			resp, err = w.readAt(rctx, false)
		}
		answered <- answer{resp, err}
	}()
	var a answer
	for got := false; !got; {
		select {
		case a = <-answered:
			got = true
		case s := <-w.own.seen:
			if s.rev >= need && s.rev > w.readRev {
				cancel()
				<-answered // the read ends with rctx
				w.saw(s.own, s.ahead, nil, s.rev)
				return nil
			}
		}
	}
	resp, err := a.resp, a.err
	if err != nil {
		return err
	}
	if !ownedIn(resp.Responses[0], w.t.rev) {
		return w.t.observeGone(ctx, false)
	}
	var behind *etcdserverpb.ResponseOp
	extra := resp.Responses[2:]
	if w.t.limit > 1 {
		behind, extra = resp.Responses[2], resp.Responses[3:]
	}
	w.saw(resp.Responses[0].GetResponseRange().GetKvs()[0], resp.Responses[1], behind, resp.Header.Revision)
	if w.decision.Granted && len(extra) > 0 {
		w.extraRead = extra
	}
	return nil
}

// saw records a read of the line, made at revision rev, and decides on it:
// own is the ticket's entry, ahead the read of the entries ahead of it,
// behind the read of an entry behind it (nil when not read: for permits,
// then taken to be there, so that a grant touches its entry, which costs
// a write at most).
func (w *waiter) saw(own *mvccpb.KeyValue, ahead, behind *etcdserverpb.ResponseOp, rev int64) {
	w.touched = own.ModRevision > own.CreateRevision
	w.ahead = aheadOf(ahead, w.t.rev)
	w.behind = behind == nil || len(behind.GetResponseRange().GetKvs()) > 0
	w.readRev = rev
	w.decision = turn.Decide(w.t.limit, w.t.weight, w.ahead)
	w.reread = false
	w.needRev = 0
}

func (w *waiter) readAt(ctx context.Context, serializable bool) (resp *clientv3.TxnResponse, err error) {
	t := w.t
	var local []clientv3.OpOption
	if serializable {
		local = []clientv3.OpOption{clientv3.WithSerializable()}
	}
	ops := []clientv3.Op{t.ownOp(local...),
		t.olderOp(local...)}
	if t.limit > 1 {
		ops = append(ops, t.lineOp(append(local, clientv3.WithLimit(1), clientv3.WithMinCreateRev(t.rev+1))...))
	}
	if w.extra != nil {
		ops = append(ops, w.extra(local...)...)
	}
	err = t.retry(ctx, func(ctx context.Context) (err error) {
		resp, err = w.cli.Txn(ctx).Then(ops...).Commit()
		return err
	})
	return resp, err
}

// touch wakes the waiter behind a permit just granted by a path that did
// not touch it (a holder's lease ending, its key deleted, a view of the
// line that the releaser's Leave could not keep up with): the successor
// watches this entry for puts, and must now watch the line's deletes
// instead (see turn.Decide). The put keeps the entry's value, lease and create revision,
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
			_, err := q.s.Client().Txn(ctx).If(t.owned()).Then(touchOp(t.key)).Commit()
			return err
		})
		if err != nil && ctx.Err() == nil {
			q.log(slog.LevelWarn, "waking the next permit waiter failed", slog.String("key", t.key),
				slog.Int64("token", t.rev), slog.Any("err", err))
		}
	}()
}
