// Package watchmux watches many keys for deletion on one etcd watch stream,
// served by one goroutine, so that a process holding thousands of entries
// can learn of each one's loss at the cost of a map entry and a server
// watcher, not a goroutine and a clientv3 substream per entry.
//
// It speaks etcd's gRPC Watch API directly (etcdserverpb.WatchClient on the
// client's connection) with the "require leader" metadata that
// clientv3.WithRequireLeader sets, so that a member cut off from its leader
// ends the stream instead of going quiet. Each watch starts "now", never at
// a past revision (etcd serves those from a loop that runs every 100 ms);
// once etcd has created it, one read (batched with the reads of the other
// watches created meanwhile, or within 25 ms under a burst, and serializable when the member
// read has reached the watches' start) covers what happened before. When the
// stream breaks, it is opened again after a pause (50 ms, doubled up to 1 s
// while it keeps failing), every watch is created again and every key read
// again.
//
// What it costs: two goroutines per Mux (the stream's reader and its
// sender), a third while reads are due, and per watch a map entry and one
// etcd server watcher. A delete is an event, seen at once; an entry already
// gone when its watch was created is found by the read: one round trip
// after the watch's creation, at most about 25 ms more under a burst.
//
// Under etcd's auth, etcd checks a watch when it is created, with the
// token its stream was opened with, which may be stale (expired, or older
// than a change to the auth store): a watch refused on a stream makes the
// Mux open a new one, with a new token, and create every watch again. A
// watch refused on that one too, a read refused, or a stream that cannot
// be opened for a refusal (authentication failed) is final: the watch
// ends, its callback told why (see package internal/etcderr), rather than
// being tried again forever.
package watchmux

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/fairlock/fairlock/internal/etcderr"
)

// Pauses between attempts to open the stream again, and between failed
// reads: the first, doubled up to the last.
const (
	minPause = 50 * time.Millisecond
	maxPause = time.Second
)

// maxBatch is how many keys one read checks: well below etcd's default
// limit of 128 operations per transaction.
const maxBatch = 64

// linger is how long the checker, having just read, waits for more
// watches to be created before a read that would check fewer than maxBatch
// keys. It delays only the finding of an entry deleted before its watch was
// created, and only under a burst of watches; a delete after that is an
// event, seen at once.
const linger = 25 * time.Millisecond

// Mux serves key watches on one etcd watch stream. Its methods are safe for
// concurrent use. The zero value is not usable; call New.
type Mux struct {
	ctx context.Context
	cli *clientv3.Client

	mu       sync.Mutex
	started  bool
	stream   etcdserverpb.Watch_WatchClient // nil while broken
	endIt    context.CancelFunc             // ends the current stream
	watches  map[*watch]struct{}            // every live watch
	pending  []*watch                       // created on the stream, in order, awaiting etcd's answer
	byID     map[int64]*watch               // created by etcd on the current stream
	outbox   []*etcdserverpb.WatchRequest   // for the sender to send, in order
	wake     chan struct{}                  // buffered 1, one per stream: the outbox has requests
	toCheck  []*watch                       // created, not yet covered by a read
	checking bool                           // a checker goroutine runs
	lastRead time.Time                      // when the checker last read
}

type watch struct {
	key     string
	rev     int64
	gone    func(error)
	on      etcdserverpb.Watch_WatchClient // stream its create was sent on
	id      int64                          // etcd's watch id on the current stream; -1 when none
	stopped bool                           // stopped or gone: gone is not called (again)
	check   bool                           // waits in toCheck
	from    int64                          // the store revision its server watcher started at
	refused bool                           // etcd refused its last create; it is on a new stream since
}

// New returns a Mux of cli's connection that ends with ctx: then its stream
// closes, its goroutines return and no callback is called any more. It does
// no I/O and starts no goroutine until the first Watch.
func New(ctx context.Context, cli *clientv3.Client) *Mux {
	return &Mux{ctx: ctx, cli: cli, watches: map[*watch]struct{}{}, byID: map[int64]*watch{}}
}

// Watch calls gone once, from one of the Mux's goroutines and never from
// Watch itself, when key no longer holds the entry made at create revision
// rev: a delete event, or a read after the watch was created that finds the
// key absent or made again; gone's error is nil then. When etcd refuses the
// watch or the read for good (see the package doc) the watch ends and gone
// is called with the refusal instead: whether the entry lives is unknown.
// Watch does not block: the watch is created in the background, and
// created again, and the key read again, after the stream breaks. It
// returns stop, which ends the watch: gone is not called once stop has
// returned (it may be running, or have run). stop may be called more than
// once, and from gone. Once the Mux's context has ended, Watch does
// nothing and gone is never called.
func (m *Mux) Watch(key string, rev int64, gone func(error)) (stop func()) {
	w := &watch{key: key, rev: rev, gone: gone, id: -1}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return func() {}
	}
	m.watches[w] = struct{}{}
	if !m.started {
		m.started = true
		go m.run()
	}
	m.createLocked(w)
	return func() { m.drop(w) }
}

// createLocked queues w's create request on the current stream, unless it
// is stopped, already sent there, or there is no stream (the next one
// creates every live watch).
func (m *Mux) createLocked(w *watch) {
	if w.stopped || m.stream == nil || w.on == m.stream {
		return
	}
	w.on = m.stream
	m.pending = append(m.pending, w)
	m.sendLocked(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{
		CreateRequest: &etcdserverpb.WatchCreateRequest{
			Key:     []byte(w.key),
			Filters: []etcdserverpb.WatchCreateRequest_FilterType{etcdserverpb.WatchCreateRequest_NOPUT},
		},
	}})
}

// cancelLocked asks etcd to drop watch id of the current stream.
func (m *Mux) cancelLocked(id int64) {
	if m.stream != nil {
		m.sendLocked(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CancelRequest{
			CancelRequest: &etcdserverpb.WatchCancelRequest{WatchId: id}}})
	}
}

func (m *Mux) sendLocked(req *etcdserverpb.WatchRequest) {
	m.outbox = append(m.outbox, req)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// drop ends w and its server watcher; it reports whether w was live.
func (m *Mux) drop(w *watch) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.stopped {
		return false
	}
	w.stopped = true
	delete(m.watches, w)
	if w.id >= 0 {
		delete(m.byID, w.id)
		m.cancelLocked(w.id)
		w.id = -1
	}
	// A watch still pending is cancelled when etcd answers its create.
	return true
}

// fire calls w.gone with err (nil: the entry is gone) unless w was
// stopped.
func (m *Mux) fire(w *watch, err error) {
	if m.drop(w) {
		w.gone(err)
	}
}

// run opens the stream and serves it, again after each break, until the
// Mux's context ends, or a refusal to open one ends every watch.
func (m *Mux) run() {
	pause := minPause
	for m.ctx.Err() == nil {
		answered, err := m.serve()
		if answered {
			pause = minPause
		}
		if etcderr.IsRefused(err) {
			// etcd's client authenticated anew for this stream and was
			// refused: no stream will be served.
			m.refuseAll(err)
			return
		}
		select {
		case <-m.ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
	m.mu.Lock()
	for w := range m.watches {
		w.stopped = true
	}
	clear(m.watches)
	m.mu.Unlock()
}

// refuseAll ends every watch with err, a refusal to open a stream, and
// stops the Mux until the next Watch starts it again.
func (m *Mux) refuseAll(err error) {
	m.mu.Lock()
	m.started = false
	var ws []*watch
	for w := range m.watches {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		m.fire(w, err)
	}
}

// serve opens one stream, creates every live watch on it and reads it until
// it breaks; it reports whether etcd answered on it, and the error that
// ended it.
func (m *Mux) serve() (answered bool, err error) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(m.ctx))
	defer cancel()
	// WaitForReady, as clientv3's own calls: after a break, the stream
	// opens as soon as the connection is back.
	st, err := etcdserverpb.NewWatchClient(m.cli.ActiveConnection()).Watch(ctx, grpc.WaitForReady(true))
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	m.stream, m.endIt = st, cancel
	m.outbox = nil
	wake := make(chan struct{}, 1)
	m.wake = wake
	for w := range m.watches {
		m.createLocked(w)
	}
	m.mu.Unlock()
	go m.send(ctx, cancel, st, wake)

	for {
		var resp *etcdserverpb.WatchResponse
		resp, err = st.Recv()
		if err != nil {
			break
		}
		answered = true
		m.handle(resp)
	}
	cancel()
	m.mu.Lock()
	m.stream, m.endIt = nil, nil
	m.pending = nil
	m.outbox = nil
	for id, w := range m.byID {
		w.id = -1
		delete(m.byID, id)
	}
	m.mu.Unlock()
	return answered, err
}

// send sends the outbox on st until ctx ends or a send fails, which ends
// the stream (cancel). Sending from a goroutine of its own keeps Watch, and
// the reader, from ever blocking on the stream's flow control.
func (m *Mux) send(ctx context.Context, cancel context.CancelFunc, st etcdserverpb.Watch_WatchClient,
	wake <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		m.mu.Lock()
		if m.stream != st {
			m.mu.Unlock()
			return
		}
		out := m.outbox
		m.outbox = nil
		m.mu.Unlock()
		for _, req := range out {
			if st.Send(req) != nil {
				cancel()
				return
			}
		}
	}
}

// handle applies one response of the current stream.
func (m *Mux) handle(resp *etcdserverpb.WatchResponse) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case resp.Created:
		if len(m.pending) == 0 {
			return // not ours: cannot happen on a stream of our own
		}
		w := m.pending[0]
		m.pending[0] = nil
		m.pending = m.pending[1:]
		switch {
		case resp.Canceled && etcderr.IsRefused(errors.New(resp.CancelReason)):
			m.refusedLocked(w, errors.New(resp.CancelReason))
		case resp.Canceled: // etcd refused the watch: create it again later
			w.on = nil
			go m.recreate(w)
		case w.stopped:
			m.cancelLocked(resp.WatchId)
		default:
			w.refused = false
			w.id = resp.WatchId
			w.from = resp.GetHeader().GetRevision()
			m.byID[w.id] = w
			m.queueCheckLocked(w)
		}
	case resp.Canceled:
		// etcd dropped a watch: ours after cancel, or of its own doing.
		if w := m.byID[resp.WatchId]; w != nil {
			delete(m.byID, resp.WatchId)
			w.id, w.on = -1, nil
			go m.recreate(w)
		}
	default:
		w := m.byID[resp.WatchId]
		deleted := false
		for _, ev := range resp.Events {
			deleted = deleted || ev.Type == mvccpb.DELETE
		}
		if w != nil && deleted {
			// Called without m.mu: gone may call stop.
			go m.fire(w, nil)
		}
	}
}

// refusedLocked handles etcd's refusal to create w, err. The first ends
// the stream, whose token may be stale, so that every watch is created
// again on a new stream with a new token; a refusal there too is final:
// w ends, and its gone is told why.
func (m *Mux) refusedLocked(w *watch, err error) {
	if w.stopped {
		return
	}
	if !w.refused {
		w.refused, w.on = true, nil
		if m.endIt != nil {
			m.endIt()
		}
		return
	}
	go m.fire(w, err) // without m.mu: gone may call stop
}

// recreate creates w again after a pause, unless it stops first.
func (m *Mux) recreate(w *watch) {
	select {
	case <-m.ctx.Done():
		return
	case <-time.After(minPause):
	}
	m.mu.Lock()
	m.createLocked(w)
	m.mu.Unlock()
}

// queueCheckLocked queues w for a read.
func (m *Mux) queueCheckLocked(w *watch) {
	if w.check {
		return
	}
	w.check = true
	m.toCheck = append(m.toCheck, w)
	if !m.checking {
		m.checking = true
		go m.checkLoop()
	}
}

// checkLoop reads the queued watches' keys, up to maxBatch a read, until
// none is queued; a failed read is tried again after a pause.
func (m *Mux) checkLoop() {
	pause := minPause
	for {
		m.mu.Lock()
		// A read right after another waits for more watches: under a burst
		// of watches, reads batch; a lone watch is read at once.
		if len(m.toCheck) < maxBatch && time.Since(m.lastRead) < linger {
			m.mu.Unlock()
			select {
			case <-m.ctx.Done():
			case <-time.After(linger):
			}
			m.mu.Lock()
		}
		var batch []*watch
		for len(m.toCheck) > 0 && len(batch) < maxBatch {
			w := m.toCheck[0]
			m.toCheck[0] = nil
			m.toCheck = m.toCheck[1:]
			w.check = false
			if !w.stopped {
				batch = append(batch, w)
			}
		}
		if len(batch) == 0 || m.ctx.Err() != nil {
			m.checking = false
			m.toCheck = nil
			m.mu.Unlock()
			return
		}
		m.lastRead = time.Now()
		m.mu.Unlock()

		gone, failed := m.readEach(batch)
		for _, w := range gone {
			m.fire(w, nil)
		}
		if len(failed) == 0 {
			pause = minPause
			continue
		}
		m.mu.Lock()
		for _, w := range failed {
			if !w.check && !w.stopped {
				w.check = true
				m.toCheck = append(m.toCheck, w)
			}
		}
		m.mu.Unlock()
		select {
		case <-m.ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// readEach reads the batch's keys and returns the watches whose entry is
// gone and those whose read failed (to be read again). A refused read is
// final: etcd's client has re-authenticated already if the token was
// stale, and the refused watches fire with the refusal. etcd refuses a
// whole transaction for one key the user may not read, so a refused batch
// of several is read again one watch at a time: only the watches of that
// key's lock are to be told.
func (m *Mux) readEach(batch []*watch) (gone, failed []*watch) {
	gone, err := m.read(batch)
	switch {
	case err == nil:
		return gone, nil
	case !etcderr.IsRefused(err):
		return nil, batch
	case len(batch) == 1:
		m.fire(batch[0], err)
		return nil, nil
	}
	for _, w := range batch {
		g, f := m.readEach([]*watch{w})
		gone, failed = append(gone, g...), append(failed, f...)
	}
	return gone, failed
}

// read reads the batch's keys in one transaction and returns those whose
// entry is gone. It reads serializably, from the member the call reaches,
// with no round through raft (a linearizable read would make raft batch the
// writes of everyone else less well): a member whose store has reached the
// revision every watch of the batch started at has seen all that happened
// before them, and the watches see what happens after. A member behind
// that is read linearizably instead.
func (m *Mux) read(batch []*watch) ([]*watch, error) {
	ops := make([]clientv3.Op, len(batch))
	var from int64
	for i, w := range batch {
		ops[i] = clientv3.OpGet(w.key, clientv3.WithKeysOnly(), clientv3.WithSerializable())
		from = max(from, w.from)
	}
	ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
	defer cancel()
	resp, err := m.cli.Txn(ctx).Then(ops...).Commit()
	if err == nil && resp.Header.GetRevision() < from {
		for i, w := range batch {
			ops[i] = clientv3.OpGet(w.key, clientv3.WithKeysOnly())
		}
		resp, err = m.cli.Txn(ctx).Then(ops...).Commit()
	}
	if err != nil {
		return nil, err
	}
	var gone []*watch
	for i, w := range batch {
		if !holds(resp.Responses[i].GetResponseRange().GetKvs(), w.rev) {
			gone = append(gone, w)
		}
	}
	return gone, nil
}

// holds reports whether a read of one key found the entry made at create
// revision rev.
func holds(kvs []*mvccpb.KeyValue, rev int64) bool {
	return len(kvs) == 1 && kvs[0].CreateRevision == rev
}
