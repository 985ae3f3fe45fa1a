package testcluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Calls counts what a client asks of etcd.
type Calls struct {
	unary atomic.Int64

	// watchEvents counts the events (puts and deletes) delivered to the
	// client's watches; created, progress and cancel replies are not events.
	watchEvents atomic.Int64

	// watchStreams counts the watch streams the client opened.
	watchStreams atomic.Int64

	mu sync.Mutex
	// watchCreates holds the start revision of every watch the client created.
	watchCreates []int64
}

// WatchEvents returns the number of key events (puts and deletes) etcd has
// delivered to the client's watches so far: how often it was woken.
func (c *Calls) WatchEvents() int64 { return c.watchEvents.Load() }

// WatchStreams returns the number of watch streams the client has opened:
// clientv3 opens one per distinct watch context, fairlock's Done one per
// session (and again after a break).
func (c *Calls) WatchStreams() int64 { return c.watchStreams.Load() }

// Unary returns the number of unary RPCs (Range, Txn, Put, LeaseGrant...)
// the client has sent.
func (c *Calls) Unary() int64 { return c.unary.Load() }

// WatchStartRevs returns the start revision of every watch created so far
// (0 means "from now").
func (c *Calls) WatchStartRevs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.watchCreates...)
}

// CountingClient returns a client of member i that counts its calls, closed
// when the test ends.
func CountingClient(t testing.TB, c *integration.Cluster, i int) (*clientv3.Client, *Calls) {
	t.Helper()
	calls := &Calls{}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{c.Members[i%len(c.Members)].GRPCURL},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(calls.countUnary),
			grpc.WithChainStreamInterceptor(calls.inspectStream),
		},
	})
	if err != nil {
		t.Fatalf("client of member %d: %v", i, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, calls
}

func (c *Calls) countUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.unary.Add(1)
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (c *Calls) inspectStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	if method == "/etcdserverpb.Watch/Watch" {
		c.watchStreams.Add(1)
	}
	return &watchSpy{ClientStream: s, calls: c}, nil
}

type watchSpy struct {
	grpc.ClientStream
	calls *Calls
}

func (w *watchSpy) SendMsg(m any) error {
	if req, ok := m.(*pb.WatchRequest); ok {
		if cr := req.GetCreateRequest(); cr != nil {
			w.calls.mu.Lock()
			w.calls.watchCreates = append(w.calls.watchCreates, cr.StartRevision)
			w.calls.mu.Unlock()
		}
	}
	return w.ClientStream.SendMsg(m)
}

func (w *watchSpy) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	if resp, ok := m.(*pb.WatchResponse); ok && err == nil {
		w.calls.watchEvents.Add(int64(len(resp.Events)))
	}
	return err
}
