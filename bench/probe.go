package main

import (
	"context"
	"sync"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// probe watches one contender's client: armed with a Lock call's arrival,
// it counts the call's server calls and records when the first of them
// returns, the moment the server first knows of the caller. It sees every
// contender the same way, whatever its lock does inside.
type probe struct {
	mu        sync.Mutex
	rec       *recorder
	armed     *arrival
	releasing bool // armed for the arrival's Unlock, not its Lock
}

// arm books the server calls that follow in rec, for a's Lock.
func (p *probe) arm(rec *recorder, a *arrival) {
	p.mu.Lock()
	p.rec, p.armed, p.releasing = rec, a, false
	p.mu.Unlock()
}

// armRelease books the revisions of the server calls that follow in rec,
// for a's Unlock.
func (p *probe) armRelease(rec *recorder, a *arrival) {
	p.mu.Lock()
	p.rec, p.armed, p.releasing = rec, a, true
	p.mu.Unlock()
}

func (p *probe) disarm() { p.arm(nil, nil) }

func (p *probe) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	p.mu.Lock()
	rec, a, releasing := p.rec, p.armed, p.releasing
	p.mu.Unlock()
	var rev int64
	if h, ok := reply.(interface {
		GetHeader() *etcdserverpb.ResponseHeader
	}); ok && err == nil {
		rev = h.GetHeader().GetRevision()
	}
	switch {
	case a == nil:
	case releasing:
		rec.releasedAt(a, rev)
	default:
		rec.called(a, err == nil, rev)
	}
	return err
}
