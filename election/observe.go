package election

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Observe returns a channel that receives the current leader, if there is
// one, then every change of leader or of the leader's value, in revision
// order, none skipped: every term of a rotation is seen, however short.
// Moments without a leader are not sent. The channel is unbuffered: a slow
// receiver holds the observer back, not the election, and loses nothing.
//
// Observe keeps a copy of the whole line of candidates, so it knows who is
// next when the leader goes. It reads the line once, then watches it from
// the revision after that read. If the watch breaks (etcd compacted the
// history it needed while the observer was cut off or behind, the member
// lost its leader, the connection was reset), it reads the line again and
// sends the leader as of that read if it differs from the last one sent,
// then watches on from there: the terms that began and ended in the
// compacted gap are gone from etcd and cannot be reported, but the leader
// reported is always the one at some revision, never a stale or wrong one.
// A watch that starts after a read starts in the past if the line changed
// in between, and etcd serves such watches from a loop that runs every
// 100 ms: after its first read, and after each re-read, an observer may
// catch up up to 100 ms late, once. That is the price of seeing every
// change from a known revision on; the candidates' own hand-offs never
// wait on that loop.
//
// The channel is closed when ctx ends or the session's client is closed.
// Observe needs no leadership and writes nothing; on a zero Election it
// returns a closed channel.
func (e *Election) Observe(ctx context.Context) <-chan Leader {
	ch := make(chan Leader)
	if e == nil || e.q == nil {
		close(ch)
		return ch
	}
	o := &observer{cli: e.q.Session().Client(), prefix: e.layout.ExclusivePrefix(), ch: ch}
	go o.run(clientv3.WithRequireLeader(ctx))
	return ch
}

// observer is the state of one Observe.
type observer struct {
	cli    *clientv3.Client
	prefix string // the candidates' entries
	ch     chan<- Leader

	line []Leader // the candidates, oldest first, as of rev
	rev  int64
	sent Leader // the last leader sent; zero before the first
}

func (o *observer) run(ctx context.Context) {
	defer close(o.ch)
	for o.read(ctx) && o.send(ctx) && o.watch(ctx) {
	}
}

// read reads the line, retrying until it succeeds; false when ctx ends or
// the client is closed first.
func (o *observer) read(ctx context.Context) bool {
	backoff := 10 * time.Millisecond
	for {
		resp, err := o.cli.Get(ctx, o.prefix, clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
		if err == nil {
			o.line = o.line[:0]
			for _, kv := range resp.Kvs {
				o.line = append(o.line, Leader{Value: string(kv.Value), Token: kv.CreateRevision,
					Key: string(kv.Key), Lease: clientv3.LeaseID(kv.Lease)})
			}
			o.rev = resp.Header.Revision
			return true
		}
		if !o.pause(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, time.Second)
	}
}

// watch follows the line from the revision after the last read, sending
// every change of leader. It returns true when the watch broke and the
// line must be read again, false when ctx ended or the client was closed.
func (o *observer) watch(ctx context.Context) bool {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := o.cli.Watch(wctx, o.prefix, clientv3.WithPrefix(), clientv3.WithRev(o.rev+1))
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return false
		case resp, ok = <-wch:
		}
		if !ok || resp.Canceled || resp.Err() != nil {
			// Compacted, no leader, or closed: read again, after a short
			// pause so that a member without a leader is not hammered.
			return o.pause(ctx, 10*time.Millisecond)
		}
		for _, evs := range byRevision(resp.Events) {
			var changed bool
			o.line, changed = apply(o.line, evs)
			o.rev = evs[0].Kv.ModRevision
			if changed && !o.send(ctx) {
				return false
			}
		}
	}
}

// send sends the leader, if there is one and it is not the one sent last;
// false when ctx ended first.
func (o *observer) send(ctx context.Context) bool {
	l := head(o.line)
	if l == (Leader{}) || l == o.sent {
		return true
	}
	select {
	case o.ch <- l:
		o.sent = l
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
