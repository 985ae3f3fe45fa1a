package proxy

import (
	"bytes"
	"net"
	"regexp"
	"sync"
	"time"
)

// Dir is a direction of a proxied connection.
type Dir uint8

// Directions; a connection's client is the side that opened it.
const (
	Up   Dir = 1 << iota // from the client to the target
	Down                 // from the target back to the client
	Both = Up | Down
)

func (d Dir) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	case Both:
		return "both"
	}
	return "none"
}

// Any matches every connection in Cut, whoever opened it.
const Any = ""

// sniffTimeout bounds how long a peer proxy waits for a new connection's
// first request to learn who opened it; a connection that says nothing by
// then is nobody's.
const sniffTimeout = 5 * time.Second

// Proxy forwards the connections made to its address to a target address.
// It is safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	peer   bool

	mu     sync.Mutex
	moved  *sync.Cond // broadcast when cuts change or the proxy closes
	cuts   map[string]Dir
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Listen starts a proxy on addr ("127.0.0.1:0" picks a port) to target.
// With peer set, it learns who opened each connection from etcd's
// X-Server-From header (see Cut).
func Listen(addr, target string, peer bool) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, peer: peer, cuts: map[string]Dir{}, conns: map[net.Conn]struct{}{}}
	p.moved = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut stalls direction d of the connections opened by from (an etcd member
// ID in hex, as in X-Server-From; Any for every connection), those open now
// and those opened later, until Heal. Cuts add up.
func (p *Proxy) Cut(from string, d Dir) {
	p.mu.Lock()
	p.cuts[from] |= d
	p.mu.Unlock()
}

// Heal lifts every cut: what was held is delivered.
func (p *Proxy) Heal() {
	p.mu.Lock()
	clear(p.cuts)
	p.moved.Broadcast()
	p.mu.Unlock()
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.moved.Broadcast()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track adds c to the connections Close closes; false once closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
	p.mu.Unlock()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	var first []byte
	from := Any
	if p.peer {
		first, from = sniff(client)
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		p.untrack(client)
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.pump(server, client, first, from, Up)
	}()
	go func() {
		defer wg.Done()
		p.pump(client, server, nil, from, Down)
	}()
	wg.Wait()
	p.untrack(client, server)
}

// pump copies src to dst in direction d, first the bytes already read,
// waiting while the direction is cut; either side failing closes both.
func (p *Proxy) pump(dst, src net.Conn, first []byte, from string, d Dir) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	if len(first) > 0 {
		if !p.pass(from, d) {
			return
		}
		if _, err := dst.Write(first); err != nil {
			return
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass(from, d) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass waits until direction d of from's connections is not cut; false
// once the proxy is closed.
func (p *Proxy) pass(from string, d Dir) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && (p.cuts[Any]&d != 0 || (from != Any && p.cuts[from]&d != 0)) {
		p.moved.Wait()
	}
	return !p.closed
}

var serverFrom = regexp.MustCompile(`(?i)\r\nX-Server-From: *([0-9a-f]+)\r\n`)

// sniff reads a connection's first request head (up to 8 KiB) and returns
// what it read and the member ID in its X-Server-From header (Any for
// none).
func sniff(c net.Conn) ([]byte, string) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 8<<10)
	for len(buf) < cap(buf) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			if m := serverFrom.FindSubmatch(buf[:i+2]); m != nil {
				return buf, string(bytes.ToLower(m[1]))
			}
			return buf, Any
		}
		if err != nil {
			return buf, Any // silent, closed or timed out: nobody's
		}
	}
	return buf, Any
}
