package election

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// ObserveOptions are the options of ObserveWith. The zero value is
// Observe's behaviour.
type ObserveOptions struct {
	// Empty also reports the moments without a leader: when the line of
	// candidates becomes empty (the last candidate resigned, rotated out
	// alone, or its lease expired), the observer sends a Leader whose
	// Vacant method reports true, and the first report is the line as
	// first read, vacant or not. Without it, as with Observe, moments
	// without a leader are not sent.
	Empty bool
}

// Observe returns a channel that receives the current leader, if there is
// one, then every change of leader or of the leader's value, in revision
// order. Moments without a leader are not sent (ObserveWith with
// ObserveOptions.Empty sends them). It is ObserveWith(ctx,
// ObserveOptions{}); see there for what is promised.
func (e *Election) Observe(ctx context.Context) <-chan Leader {
	return e.ObserveWith(ctx, ObserveOptions{})
}

// ObserveWith returns a channel that receives the current leader, if there
// is one, then every change of leader or of the leader's value, in revision
// order, none skipped while etcd keeps the history: every term of a
// rotation is seen, however short, and each report is the leader as of
// one revision, never a candidate that was not the oldest in line then.
// With opts.Empty the channel also receives a vacant Leader (Vacant
// reports true) whenever nobody leads.
//
// The observer keeps a copy of the whole line of candidates, so it knows
// who is next when the leader goes. It reads the line once, then watches
// it from the revision after that read, working out the leader after
// every revision; a watch response that carries several revisions is
// several changes. When the watch breaks (the member lost its raft
// leader, the connection was reset, etcd cancelled it), the observer
// watches again from the revision after the last one it applied, so the
// terms that passed meanwhile are reported, in order, once the member
// serves again: a broken watch loses nothing.
//
// Only when etcd has compacted the history the observer needs (it was
// cut off, or behind, for longer than the cluster keeps history) does it
// read the line again. The next Leader it sends has Gap set: terms and
// values between the previous report and that one may be missing, because
// etcd no longer has them. That is the leader as of the read, or with
// opts.Empty a vacant Leader if nobody led then; without opts.Empty and
// nobody leading, it is the next leader to come. It is sent even if it
// equals the previous report, unless the read proves that nothing changed
// (the same leader's entry, not modified since the last revision
// applied); then nothing is sent.
//
// The channel is unbuffered and nothing is dropped for a slow receiver:
// the observer waits for it, and the election never waits for the
// observer. While the receiver is slow, etcd's client keeps the watch
// responses that arrive in memory, and compaction does not touch a watch
// that is following: a slow receiver sees every term, late. A receiver
// slower than compaction sees a gap only if the watch also breaks while
// the history after the last revision it was sent is compacted: then the
// next report has Gap set, as above.
//
// A watch that starts in the past (after a read, or after a broken watch)
// is served by a loop of etcd's that runs every 100 ms: after its first
// read and after each broken watch, an observer may catch up up to 100 ms
// late, once. The candidates' own hand-offs never wait on that loop.
//
// The channel is closed when ctx ends or the session's client is closed;
// nothing is left behind. It is closed too when etcd refuses the
// observer's read or watch in a way no retry mends (permission denied: the
// user may not read the election's keys, NAME/): a refused watch is tried
// once more on a stream of its own, since a stream's auth token may be
// stale, and refused there too, the observer ends rather than trying again
// forever. The observer needs no leadership and writes
// nothing. Its watches require the member to have a raft leader, so an
// observer on a member cut off from the majority is not told stale news:
// it waits, then catches up. On a zero Election it returns a closed
// channel.
func (e *Election) ObserveWith(ctx context.Context, opts ObserveOptions) <-chan Leader {
	ch := make(chan Leader)
	if e == nil || e.q == nil {
		close(ch)
		return ch
	}
	o := &observer{cli: e.q.Session().Client(), prefix: e.layout.ExclusivePrefix(), ch: ch, empty: opts.Empty}
	go o.run(clientv3.WithRequireLeader(ctx))
	return ch
}

// The backoff between watches of a member that cannot serve them.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// observer is the state of one Observe.
type observer struct {
	cli    *clientv3.Client
	prefix string // the candidates' entries
	ch     chan<- Leader
	empty  bool // report a vacant line too

	line    []Leader // the candidates, oldest first, as of rev
	rev     int64    // the last revision applied to line
	sent    Leader   // the last leader sent (Gap unset)
	started bool     // something was sent
	gap     bool     // the next report must have Gap set
}

func (o *observer) run(ctx context.Context) {
	defer close(o.ch)
	if !o.read(ctx) || !o.send(ctx) {
		return
	}
	backoff := minBackoff
	wctx, refused := ctx, false
	for {
		k, progressed := o.watch(wctx)
		if k != watchRefused && progressed {
			refused = false
		}
		switch k {
		case watchStopped:
			return
		case watchRefused:
			if refused {
				return // refused on a stream of its own too: final
			}
			refused, wctx = true, etcderr.FreshStream(ctx)
		case watchBroken:
			if progressed {
				backoff = minBackoff
			}
			// Not hammering a member without a leader.
			if !o.pause(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
		case watchCompacted:
			if !o.read(ctx) || !o.send(ctx) {
				return
			}
			backoff = minBackoff
		}
	}
}

// read reads the line, retrying until it succeeds; false when ctx ends,
// the client is closed or etcd refuses the read for good first. After the
// first read it notes whether changes may have been missed since the last
// revision applied.
func (o *observer) read(ctx context.Context) bool {
	backoff := minBackoff
	for {
		resp, err := o.cli.Get(ctx, o.prefix, clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
		if err == nil {
			line := make([]Leader, 0, len(resp.Kvs))
			var headMod int64
			for i, kv := range resp.Kvs {
				if i == 0 {
					headMod = kv.ModRevision
				}
				line = append(line, Leader{Value: string(kv.Value), Token: kv.CreateRevision,
					Key: string(kv.Key), Lease: clientv3.LeaseID(kv.Lease)})
			}
			if o.rev != 0 && mayHaveMissed(o.line, o.rev, line, headMod) {
				o.gap = true
			}
			o.line, o.rev = line, resp.Header.Revision
			return true
		}
		if etcderr.IsRefused(err) {
			return false // etcd's client re-authenticated already if the token was stale
		}
		if !o.pause(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, time.Second)
	}
}

// watch follows the line from the revision after the last one applied,
// sending every change of leader, until the watch ends. It reports how it
// ended, and whether etcd served it at all (so that the backoff can start
// again).
func (o *observer) watch(ctx context.Context) (k watchEnd, progressed bool) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := o.cli.Watch(wctx, o.prefix, clientv3.WithPrefix(), clientv3.WithRev(o.rev+1), clientv3.WithCreatedNotify())
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return watchStopped, progressed
		case resp, ok = <-wch:
		}
		if k := watchEnded(resp, ok); k != watchGoesOn {
			if ctx.Err() != nil || o.cli.Ctx().Err() != nil {
				return watchStopped, progressed
			}
			if etcderr.IsRefused(resp.Err()) {
				return watchRefused, progressed
			}
			return k, progressed
		}
		progressed = true
		for _, evs := range byRevision(resp.Events) {
			var changed bool
			o.line, changed = apply(o.line, evs)
			o.rev = evs[0].Kv.ModRevision
			if changed && !o.send(ctx) {
				return watchStopped, progressed
			}
		}
	}
}

// watchEnd is how a watch ended, or that it goes on.
type watchEnd int

const (
	watchGoesOn    watchEnd = iota // a response to apply
	watchBroken                    // watch again from the next revision
	watchCompacted                 // the next revision is gone: read again
	watchStopped                   // ctx ended or the client was closed
	watchRefused                   // etcd refused the watch (see run)
)

// watchEnded tells what a watch response means for the observer; ok is
// false when the watch channel was closed instead.
func watchEnded(resp clientv3.WatchResponse, ok bool) watchEnd {
	switch {
	case !ok:
		return watchBroken
	case resp.CompactRevision != 0:
		return watchCompacted
	case resp.Canceled || resp.Err() != nil:
		return watchBroken
	}
	return watchGoesOn
}

// mayHaveMissed reports whether a change of leader, of the leader's value
// or a moment without a leader may have passed unseen between rev, when
// the line was line, and a later read that found after, whose first
// entry was last modified at headMod. Only the same leader's entry, not
// modified since rev, proves that nothing was missed: an entry older than
// it cannot have come and gone, since every entry created after rev is
// younger.
func mayHaveMissed(line []Leader, rev int64, after []Leader, headMod int64) bool {
	h := head(line)
	return h == (Leader{}) || head(after) != h || headMod > rev
}

// send sends the leader (with opts.Empty, a vacant one too), unless it is
// the one sent last and no gap is to be reported; false when ctx ended
// first. A gap waits for the next leader when a vacant line is not
// reported.
func (o *observer) send(ctx context.Context) bool {
	l := head(o.line)
	if (l == Leader{}) && !o.empty {
		return true
	}
	if o.started && l == o.sent && !o.gap {
		return true
	}
	out := l
	out.Gap = o.gap
	select {
	case o.ch <- out:
		o.sent, o.started, o.gap = l, true, false
		return true
	case <-ctx.Done():
		return false
	}
}

// pause waits d; false when ctx ends or the client is closed first.
func (o *observer) pause(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil || o.cli.Ctx().Err() != nil {
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-o.cli.Ctx().Done():
		return false
	case <-timer.C:
		return true
	}
}
