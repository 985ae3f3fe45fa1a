package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fairlock/fairlock/robustness/proxy"
)

// echo serves lines back upper-cased, so that a reply proves the request
// went up and the reply came down.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, strings.ToUpper(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T, peer bool) *proxy.Proxy {
	t.Helper()
	p, err := proxy.Listen("127.0.0.1:0", echo(t), peer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *proxy.Proxy, head string) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{c: c, r: bufio.NewReader(c)}
	if head != "" {
		cl.send(t, head)
		for _, line := range strings.SplitAfter(strings.ToUpper(head), "\n") {
			if line != "" {
				cl.expect(t, line)
			}
		}
	}
	return cl
}

func (cl *client) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(cl.c, line); err != nil {
		t.Fatal(err)
	}
}

// expect reads one line within 10 s (a proxy that forwards at all does so
// at once; the bound only keeps a broken one from hanging the test).
func (cl *client) expect(t *testing.T, want string) {
	t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := cl.r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}

// silent asserts that nothing arrives for a while: a cut that leaks fails
// it; a loaded machine can only make it pass more easily, never fail.
func (cl *client) silent(t *testing.T) {
	t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if got, err := cl.r.ReadString('\n'); err == nil || got != "" {
		t.Fatalf("read %q through a cut", got)
	}
}

// A cut holds what is sent, in either direction, and Heal delivers it: the
// connection survives, as a TCP connection survives a short partition.
func TestCutStallsAndHealDelivers(t *testing.T) {
	for _, d := range []proxy.Dir{proxy.Up, proxy.Down, proxy.Both} {
		t.Run(d.String(), func(t *testing.T) {
			p := start(t, false)
			cl := dial(t, p, "hello\n")
			p.Cut(proxy.Any, d)
			cl.send(t, "during\n")
			cl.silent(t)
			later := dial(t, p, "")
			later.send(t, "new\n")
			later.silent(t)
			p.Heal()
			cl.expect(t, "DURING\n")
			later.expect(t, "NEW\n")
		})
	}
}

// A peer proxy cuts the connections of one member only, by the
// X-Server-From header of their first request.
func TestPeerCutsOneMember(t *testing.T) {
	p := start(t, true)
	const head = "GET /raft/stream/msgapp/1 HTTP/1.1\r\nHost: x\r\nX-Server-From: %s\r\n\r\n"
	a := dial(t, p, strings.Replace(head, "%s", "8e9e05c52164694d", 1)+"\n")
	b := dial(t, p, strings.Replace(head, "%s", "91bc3c398fb3c146", 1)+"\n")
	anon := dial(t, p, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n\n")

	p.Cut("8e9e05c52164694d", proxy.Both)
	a.send(t, "from a\n")
	b.send(t, "from b\n")
	anon.send(t, "from nobody\n")
	b.expect(t, "FROM B\n")
	anon.expect(t, "FROM NOBODY\n")
	a.silent(t)

	p.Heal()
	a.expect(t, "FROM A\n")
}

// Close ends the connections of a proxy, those stalled by a cut included.
func TestCloseEndsStalledConnections(t *testing.T) {
	p := start(t, false)
	cl := dial(t, p, "hi\n")
	p.Cut(proxy.Any, proxy.Both)
	cl.send(t, "stuck\n")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := cl.r.ReadString('\n'); err == nil {
		t.Fatal("a stalled connection outlived Close")
	}
}
