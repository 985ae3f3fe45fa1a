package main

import (
	"context"
	"sync"

	"google.golang.org/grpc"
)

// probe watches one contender's client: armed with a Lock call's arrival,
// it counts the call's server calls and records when the first of them
// returns, the moment the server first knows of the caller. It sees every
// contender the same way, whatever its lock does inside.
type probe struct {
	mu    sync.Mutex
	rec   *recorder
	armed *arrival
}

// arm books the server calls that follow in rec, for a.
func (p *probe) arm(rec *recorder, a *arrival) {
	p.mu.Lock()
	p.rec, p.armed = rec, a
	p.mu.Unlock()
}

func (p *probe) disarm() { p.arm(nil, nil) }

func (p *probe) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	p.mu.Lock()
	rec, a := p.rec, p.armed
	p.mu.Unlock()
	if a != nil {
		rec.called(a, err == nil)
	}
	return err
}
