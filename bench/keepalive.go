package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc"

	"github.com/fairlock/fairlock/fairmutex"
)

// The lease guard (internal/leaseguard) times a session's lease from the
// send times of keep-alives of its own, at most one round per TTL/3 per
// session with a hold, on top of the session's own keep-alives. The
// keep-alive probe counts what a session sends, on its client: sessions
// holding a fairmutex and, for comparison, sessions holding nothing.

// keepAliveSessions is how many sessions of each sort the probe opens.
const keepAliveSessions = 4

// keepAliveResult is what the probe counted.
type keepAliveResult struct {
	TTL      time.Duration // granted
	Window   time.Duration
	Sessions int // of each sort
	// Keep-alive requests, and LeaseKeepAlive streams opened, per session
	// per TTL.
	Holding, Idle               float64
	HoldingStreams, IdleStreams float64
	// Guarded: a hold's HeldUntil was set, so queue runs the lease guard.
	Guarded bool
	Err     string
}

// kaCounter counts the keep-alive traffic of one client.
type kaCounter struct{ sends, streams atomic.Int64 }

const keepAliveMethod = "/etcdserverpb.Lease/LeaseKeepAlive"

func (c *kaCounter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil || method != keepAliveMethod {
		return cs, err
	}
	c.streams.Add(1)
	return countingStream{cs, c}, nil
}

type countingStream struct {
	grpc.ClientStream
	c *kaCounter
}

func (s countingStream) SendMsg(m any) error {
	s.c.sends.Add(1)
	return s.ClientStream.SendMsg(m)
}

// kaSession is one session of the probe.
type kaSession struct {
	cli *clientv3.Client
	s   *concurrency.Session
	m   *fairmutex.Mutex // nil for an idle session
	n   kaCounter
}

// keepAliveProbe runs while other cells do: its figures are per session,
// counted on its own clients.
type keepAliveProbe struct {
	holding, idle []*kaSession
	ttl           time.Duration
	start         time.Time
}

// startKeepAlive opens the probe's sessions with a lease of ttl seconds
// and has half of them take a lock each.
func startKeepAlive(ctx context.Context, endpoints []string, ttl int) (*keepAliveProbe, error) {
	p := &keepAliveProbe{}
	open := func(hold bool) (*kaSession, error) {
		ks := &kaSession{}
		cli, err := newClient(endpoints, &probe{}, grpc.WithChainStreamInterceptor(ks.n.stream))
		if err != nil {
			return nil, err
		}
		ks.cli = cli
		if ks.s, err = concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx)); err != nil {
			cli.Close()
			return nil, err
		}
		if hold {
			if ks.m, err = fairmutex.New(ks.s, fmt.Sprintf("/bench/keepalive/c%d", cellSeq.Add(1))); err == nil {
				err = ks.m.Lock(ctx)
			}
		}
		if err != nil {
			ks.close()
			return nil, err
		}
		return ks, nil
	}
	for range keepAliveSessions {
		for _, hold := range []bool{true, false} {
			ks, err := open(hold)
			if err != nil {
				p.close()
				return nil, err
			}
			if hold {
				p.holding = append(p.holding, ks)
			} else {
				p.idle = append(p.idle, ks)
			}
		}
	}
	resp, err := p.idle[0].cli.TimeToLive(ctx, p.idle[0].s.Lease())
	if err != nil {
		p.close()
		return nil, err
	}
	p.ttl = time.Duration(resp.GrantedTTL) * time.Second
	// Count from now: the sessions' first keep-alives are behind them.
	for _, ks := range append(append([]*kaSession{}, p.holding...), p.idle...) {
		ks.n.sends.Store(0)
		ks.n.streams.Store(0)
	}
	p.start = time.Now()
	return p, nil
}

// stop waits until the probe has run for at least minTTLs TTLs, counts,
// and closes its sessions.
func (p *keepAliveProbe) stop(ctx context.Context, minTTLs int) keepAliveResult {
	defer p.close()
	res := keepAliveResult{TTL: p.ttl, Sessions: keepAliveSessions}
	if wait := time.Until(p.start.Add(time.Duration(minTTLs) * p.ttl)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			res.Err = ctx.Err().Error()
			return res
		}
	}
	res.Window = time.Since(p.start)
	perTTL := func(ss []*kaSession) (sends, streams float64) {
		for _, ks := range ss {
			sends += float64(ks.n.sends.Load())
			streams += float64(ks.n.streams.Load())
		}
		scale := float64(p.ttl) / float64(res.Window) / float64(len(ss))
		return sends * scale, streams * scale
	}
	res.Holding, res.HoldingStreams = perTTL(p.holding)
	res.Idle, res.IdleStreams = perTTL(p.idle)
	var errs []error
	for _, ks := range p.holding {
		if !ks.m.HeldUntil().IsZero() {
			res.Guarded = true
		}
		select {
		case <-ks.m.Done():
			errs = append(errs, fmt.Errorf("a hold of the keep-alive probe ended early"))
		default:
		}
		errs = append(errs, ks.m.Unlock(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		res.Err = err.Error()
	}
	return res
}

func (p *keepAliveProbe) close() {
	var wg sync.WaitGroup
	for _, ks := range append(append([]*kaSession{}, p.holding...), p.idle...) {
		wg.Go(ks.close)
	}
	wg.Wait()
}

func (ks *kaSession) close() {
	if ks.s != nil {
		ks.s.Close()
	}
	ks.cli.Close()
}
