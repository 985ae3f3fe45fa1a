package leaseguard

import (
	"context"
	"errors"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// streamKeepAlive sends one lease's keep-alive rounds on a LeaseKeepAlive
// stream of its own, kept open from round to round. etcd's client's
// KeepAliveOnce opens a stream per call, and under etcd's auth the client
// authenticates anew for every stream it opens: a password check (bcrypt)
// and a raft proposal on the server, for every round of every session.
//
// Answers come in the order of the requests, so each request waits for
// its own in a queue. A round that ends unanswered (its context: the
// guard's timeout) ends the stream, which may be stuck: the next round
// opens another. A refusal on a stream opened before the round may be the
// stream's stale token (etcd checks a keep-alive with the token its stream
// was opened with): the round is sent once more on a new stream, and only
// a refusal there is final.
type streamKeepAlive struct {
	cli *clientv3.Client
	id  clientv3.LeaseID
	ctx context.Context // the guard's: ends every stream

	mu      sync.Mutex
	stream  pb.Lease_LeaseKeepAliveClient // nil when none is open
	end     context.CancelFunc            // ends stream
	replies []chan kaReply                // one per request on stream, oldest first
}

type kaReply struct {
	ttl int64
	err error
}

// keepAlive is a keepAliveFunc.
func (k *streamKeepAlive) keepAlive(ctx context.Context) (time.Duration, error) {
	r := k.round(ctx)
	if r.fresh || !etcderr.IsRefused(r.err) {
		return r.result()
	}
	return k.round(ctx).result()
}

// round sends one request and waits for its answer or ctx's end.
func (k *streamKeepAlive) round(ctx context.Context) kaRound {
	st, fresh, err := k.streamFor(ctx)
	if err != nil {
		return kaRound{kaReply: kaReply{err: err}, fresh: true}
	}
	ch := k.send(st)
	select {
	case r := <-ch:
		return kaRound{kaReply: r, fresh: fresh}
	case <-ctx.Done():
		k.abandon(ch)
		return kaRound{kaReply: kaReply{err: ctx.Err()}, fresh: fresh}
	}
}

// kaRound is a round's answer, and whether its stream was opened for it.
type kaRound struct {
	kaReply
	fresh bool
}

func (r kaRound) result() (time.Duration, error) {
	switch {
	case r.err != nil:
		return 0, r.err
	case r.ttl <= 0:
		return 0, rpctypes.ErrLeaseNotFound
	}
	return time.Duration(r.ttl) * time.Second, nil
}

// errStreamEnded answers a request whose stream ended before it was sent.
var errStreamEnded = errors.New("fairlock: the lease guard's keep-alive stream ended")

// streamFor returns the open stream, or opens one, and whether it opened
// it. The open (which authenticates, under auth) is bounded by ctx, the
// round's, and holds no lock; the stream itself lives until the guard's
// context ends or it breaks.
func (k *streamKeepAlive) streamFor(ctx context.Context) (st pb.Lease_LeaseKeepAliveClient, fresh bool, err error) {
	k.mu.Lock()
	st = k.stream
	k.mu.Unlock()
	if st != nil {
		return st, false, nil
	}
	sctx, end := context.WithCancel(k.ctx)
	stop := context.AfterFunc(ctx, end)
	st, err = pb.NewLeaseClient(k.cli.ActiveConnection()).LeaseKeepAlive(sctx)
	if !stop() { // ctx ended during the open
		end()
		return nil, true, ctx.Err()
	}
	if err != nil {
		end()
		return nil, true, rpctypes.Error(err)
	}
	k.mu.Lock()
	if k.stream != nil { // another round opened one meanwhile
		other := k.stream
		k.mu.Unlock()
		end()
		return other, false, nil
	}
	k.stream, k.end = st, end
	k.mu.Unlock()
	go k.recv(st)
	return st, true, nil
}

// send sends a request on st and returns the channel its answer, or the
// stream's end, comes on.
func (k *streamKeepAlive) send(st pb.Lease_LeaseKeepAliveClient) chan kaReply {
	ch := make(chan kaReply, 1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stream != st {
		ch <- kaReply{err: errStreamEnded}
		return ch
	}
	k.replies = append(k.replies, ch)
	if err := st.Send(&pb.LeaseKeepAliveRequest{ID: int64(k.id)}); err != nil {
		k.breakLocked(err)
	}
	return ch
}

// recv hands each answer of st to the oldest request waiting, until st
// ends.
func (k *streamKeepAlive) recv(st pb.Lease_LeaseKeepAliveClient) {
	for {
		resp, err := st.Recv()
		k.mu.Lock()
		if k.stream != st {
			k.mu.Unlock()
			return
		}
		if err != nil {
			k.breakLocked(err)
			k.mu.Unlock()
			return
		}
		if len(k.replies) > 0 {
			k.replies[0] <- kaReply{ttl: resp.TTL}
			k.replies = k.replies[1:]
		}
		k.mu.Unlock()
	}
}

// abandon ends the stream if ch, a round given up, still waits on it.
func (k *streamKeepAlive) abandon(ch chan kaReply) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.replies {
		if c == ch {
			k.breakLocked(context.Canceled)
			return
		}
	}
}

// breakLocked ends the stream: every request waiting on it gets err.
func (k *streamKeepAlive) breakLocked(err error) {
	err = rpctypes.Error(err)
	k.end()
	k.stream, k.end = nil, nil
	for _, c := range k.replies {
		c <- kaReply{err: err}
	}
	k.replies = nil
}
