package queue

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/keys"
)

// A yield request is one key per asked entry, N/.a/<the entry's key past
// N/.>, outside every range an entry waits on, so asking never moves the
// line. Its value is the asked entry's token and the reason; it is bound to
// the asked entry's lease, so it goes when that session does, and the
// entry's own Leave or Requeue deletes it in the same transaction as the
// entry. A request left behind by an entry removed some other way (fairlock
// rm, a cancelled call's cleanup) carries that entry's token, which the next
// entry on the same key does not have: readers ignore it, and the next ask
// replaces it.

// YieldInfo describes a yield request as its holder learns of it.
type YieldInfo struct {
	Name   string
	Key    string
	Token  int64
	Kind   Kind
	Reason string        // as the asker gave it
	Held   time.Duration // from the grant to the request being noticed (0 if unknown)
}

func (h *Hooks) yieldRequested(i YieldInfo) {
	if h != nil && h.YieldRequested != nil {
		h.YieldRequested(i)
	}
}

// yieldState is a ticket's side of yield requests, guarded by the
// ticket's mu. The zero value means YieldRequested was never called: no
// watch, no cost.
type yieldState struct {
	ch     chan struct{} // made by the first YieldRequested; closed once asked
	reason string
	stop   context.CancelFunc // ends the watch of the request's key
}

// stopLocked ends the watch, if any; called with the ticket's mu held when
// the hold ends.
func (y *yieldState) stopLocked() {
	if y.stop != nil {
		y.stop()
		y.stop = nil
	}
}

// AskToYield asks every current holder of the line (the exclusive holder,
// every read holder, every permit holder) to give its hold up, for reason,
// and returns the entries asked, in line order, with YieldRequested set and
// the reason their request holds (the first one's, for a holder asked
// before). Asking moves nobody and grants nothing: a holder learns of it
// on YieldRequested, and releases, or keeps the lock.
//
// On a line that nobody holds it returns ErrNoHolder and writes nothing.
// When ctx ends first it returns ctx.Err(), and the holders asked so far
// stay asked. A request is bound to its holder's lease and token, so it
// never reaches the holder's successor; a holder already asked costs no
// write, and an entry without a lease (written by hand) is not asked.
func (q *Queue) AskToYield(ctx context.Context, reason string) ([]Entry, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	for {
		line, err := q.List(ctx)
		if err != nil {
			return nil, err
		}
		var holders []Entry
		for _, e := range line {
			if e.Holds && e.Kind != Admission && e.Lease != clientv3.NoLease {
				holders = append(holders, e)
			}
		}
		if len(holders) == 0 {
			return nil, ErrNoHolder
		}
		var asked []Entry
		for _, e := range holders {
			ok, why, err := q.ask(ctx, e, reason)
			if err != nil {
				return nil, err
			}
			if ok {
				e.YieldRequested, e.YieldReason = true, why
				asked = append(asked, e)
			}
		}
		if len(asked) > 0 {
			q.log(slog.LevelInfo, "asked holders to yield", slog.Int("asked", len(asked)), slog.String("reason", reason))
			return asked, nil
		}
		// Every holder left between the read and the asking: the line
		// has moved on, so read it again.
	}
}

// ask writes the request that entry e yield, unless one for e is there
// already. It reports whether e is asked, with the reason its request
// holds; false when e is gone.
func (q *Queue) ask(ctx context.Context, e Entry, reason string) (asked bool, held string, err error) {
	rkey, ok := q.layout.YieldRequest(e.Key)
	if !ok {
		return false, "", nil
	}
	owned := clientv3.Compare(clientv3.CreateRevision(e.Key), "=", e.Rev)
	// mod 0: expect no request there; else the stale request (of an
	// earlier entry on the same key) seen at revision mod, to replace.
	var mod int64
	for range 8 {
		free := clientv3.Compare(clientv3.CreateRevision(rkey), "=", 0)
		if mod != 0 {
			free = clientv3.Compare(clientv3.ModRevision(rkey), "=", mod)
		}
		var resp *clientv3.TxnResponse
		leaseGone := false
		err := q.retry(ctx, func(ctx context.Context) (err error) {
			resp, err = q.s.Client().Txn(ctx).If(owned, free).
				Then(clientv3.OpPut(rkey, encodeYield(e.Rev, reason), clientv3.WithLease(e.Lease))).
				Else(clientv3.OpGet(e.Key, clientv3.WithKeysOnly()), clientv3.OpGet(rkey)).
				Commit()
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				// The holder's lease ended: it is gone, not this session.
				leaseGone = true
				return nil
			}
			return err
		})
		switch {
		case err != nil:
			return false, "", err
		case leaseGone:
			return false, "", nil
		case resp.Succeeded:
			return true, reason, nil
		case !ownedIn(resp.Responses[0], e.Rev):
			return false, "", nil // the holder left
		}
		kvs := resp.Responses[1].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			mod = 0 // the request went in between: try again
			continue
		}
		if token, r, ok := decodeYield(kvs[0].Value); ok && token == e.Rev {
			return true, r, nil // asked already (also: a retried write whose reply was lost)
		}
		mod = kvs[0].ModRevision
	}
	return false, "", nil // the request key kept changing under us: leave it to the others
}

// encodeYield is a request's value: the asked entry's token, a space, the
// reason.
func encodeYield(token int64, reason string) string {
	return strconv.FormatInt(token, 10) + " " + reason
}

// decodeYield undoes encodeYield.
func decodeYield(v []byte) (token int64, reason string, ok bool) {
	tok, reason, found := strings.Cut(string(v), " ")
	n, err := strconv.ParseInt(tok, 10, 64)
	if !found || err != nil || n <= 0 {
		return 0, "", false
	}
	return n, reason, true
}

// attachYieldRequests marks the entries of a List that have a request of
// their own token; requests of any other token are stale and ignored.
func attachYieldRequests(layout keys.Layout, entries []Entry, requests []*mvccpb.KeyValue) {
	if len(requests) == 0 {
		return
	}
	byKey := make(map[string]int, len(entries))
	for i, e := range entries {
		byKey[e.Key] = i
	}
	for _, kv := range requests {
		target, ok := layout.YieldTarget(string(kv.Key))
		if !ok {
			continue
		}
		i, found := byKey[target]
		token, reason, valid := decodeYield(kv.Value)
		if found && valid && token == entries[i].Rev {
			entries[i].YieldRequested, entries[i].YieldReason = true, reason
		}
	}
}

// YieldRequested returns a channel that is closed once this entry, while
// it holds its turn, is asked to yield (see Queue.AskToYield); YieldReason
// then says why. It is never closed for an entry that is not held, nor
// after the entry leaves the line. The first call starts one watch on the
// entry's request key, which ends when the entry leaves the line, Done
// closes or the session ends; until then nothing is watched and asking
// costs the holder nothing. A request reaches the channel within one watch
// event. Being asked changes nothing else: the entry keeps its turn until
// Leave, as usual.
func (t *Ticket) YieldRequested() <-chan struct{} {
	if t == nil || t.q == nil || t.q.st == nil {
		return make(chan struct{})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.yield.ch == nil {
		t.yield.ch = make(chan struct{})
		if !t.phase.Ended() && !(t.done.ch != nil && isClosed(t.done.ch)) && !t.q.st.ended() {
			ctx, cancel := context.WithCancel(t.q.st.ctx)
			t.yield.stop = cancel
			go t.watchYield(ctx)
		}
	}
	return t.yield.ch
}

// YieldReason returns the reason of the request that closed
// YieldRequested's channel; "" before that (and "" for a request given no
// reason).
func (t *Ticket) YieldReason() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.yield.reason
}

// watchYield watches the request's key until a request of this entry's
// token shows up or ctx ends. A watch or read that etcd refuses for good
// stops it (see followKey): YieldRequested then never closes, and the log
// says why.
func (t *Ticket) watchYield(ctx context.Context) {
	if err := followKey(ctx, t.q.s.Client(), t.yieldKey(), t.followYield, clientv3.WithFilterDelete()); err != nil {
		t.q.log(slog.LevelError, "etcd refuses to watch for requests to yield: stopped watching",
			slog.String("key", t.key), slog.Int64("token", t.rev), slog.Any("err", err))
	}
}

// followYield is what the watch of the request's key does with an event:
// it is done once a request of this entry's token shows up. Once the watch
// is in place, one read covers what came before.
func (t *Ticket) followYield(ctx context.Context, ev watchEvent) (bool, error) {
	if ev.put {
		return t.noteYield(ev.value), nil
	}
	get, err := t.q.s.Client().Get(ctx, t.yieldKey())
	if err != nil {
		return false, err
	}
	return len(get.Kvs) == 1 && t.noteYield(get.Kvs[0].Value), nil
}

// noteYield closes YieldRequested's channel if v is a request for this
// entry's token, and tells the hooks and the log, once.
func (t *Ticket) noteYield(v []byte) bool {
	token, reason, ok := decodeYield(v)
	if !ok || token != t.rev {
		return false // stale: a request for an earlier entry on this key
	}
	t.mu.Lock()
	if isClosed(t.yield.ch) || t.phase.Ended() {
		t.mu.Unlock()
		return true
	}
	t.yield.reason = reason
	close(t.yield.ch)
	var held time.Duration
	if !t.grantedAt.IsZero() {
		held = time.Since(t.grantedAt)
	}
	t.mu.Unlock()
	t.q.hooks().yieldRequested(YieldInfo{Name: t.q.Name(), Key: t.key, Token: t.rev, Kind: t.kind, Reason: reason,
		Held: held})
	t.q.log(slog.LevelInfo, "asked to yield", slog.String("key", t.key), slog.Int64("token", t.rev),
		slog.String("reason", reason))
	return true
}
