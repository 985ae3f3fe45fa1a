package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/robustness/proxy"
)

// Member is one etcd process.
type Member struct {
	Name   string // m1, m2, m3
	ID     string // member ID in hex, as etcd's peer requests carry it
	Client string // its client listener, host:port
	peer   string // its peer listener
	Proxy  *proxy.Proxy
	data   string
	log    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when the process has exited
}

// Cluster is the members, and the proxies made for clients.
type Cluster struct {
	Members []*Member
	bin     string
	dir     string
	args    func(m *Member) []string

	mu      sync.Mutex
	clients map[string][]*proxy.Proxy // by worker
	cli     *clientv3.Client          // the runner's, to every member directly
}

// freePort picks a loopback port nobody listens on now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts n members of the etcd binary bin, with their data and logs
// under dir, and returns once every member answers.
func Start(ctx context.Context, bin, dir string, n int) (*Cluster, error) {
	c := &Cluster{bin: bin, dir: dir, clients: map[string][]*proxy.Proxy{}}
	var initial []string
	for i := 1; i <= n; i++ {
		m := &Member{Name: fmt.Sprintf("m%d", i), data: filepath.Join(dir, fmt.Sprintf("m%d.etcd", i)),
			log: filepath.Join(dir, fmt.Sprintf("m%d.log", i))}
		var err error
		if m.Client, err = freePort(); err != nil {
			return nil, err
		}
		if m.peer, err = freePort(); err != nil {
			return nil, err
		}
		if m.Proxy, err = proxy.Listen("127.0.0.1:0", m.peer, true); err != nil {
			return nil, err
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"=http://"+m.Proxy.Addr())
	}
	c.args = func(m *Member) []string {
		return []string{"--name", m.Name, "--data-dir", m.data,
			"--listen-client-urls", "http://" + m.Client, "--advertise-client-urls", "http://" + m.Client,
			"--listen-peer-urls", "http://" + m.peer, "--initial-advertise-peer-urls", "http://" + m.Proxy.Addr(),
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "fairlock-robustness",
			// A killed process loses nothing that fsync would keep: only a
			// machine's crash would, and this suite kills processes.
			"--unsafe-no-fsync",
			"--log-level", "warn"}
	}
	for _, m := range c.Members {
		if err := c.run(m); err != nil {
			c.Close()
			return nil, err
		}
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.cli = cli
	if err := c.WaitHealthy(ctx); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := cli.MemberList(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, mm := range resp.Members {
		for _, m := range c.Members {
			if mm.Name == m.Name {
				m.ID = fmt.Sprintf("%x", mm.ID)
			}
		}
	}
	for _, m := range c.Members {
		if m.ID == "" {
			c.Close()
			return nil, fmt.Errorf("fairlock: robustness: member %s not in the member list", m.Name)
		}
	}
	return c, nil
}

// run starts m's process.
func (c *Cluster) run(m *Member) error {
	log, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(c.bin, c.args(m)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a runner that dies takes its cluster along
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	m.mu.Lock()
	m.cmd, m.exit = cmd, exit
	m.mu.Unlock()
	return nil
}

// Endpoints are the members' client URLs, reached directly (the runner's
// own connections, which no fault cuts).
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, "http://"+m.Client)
	}
	return eps
}

// Client is the runner's client, to every member directly.
func (c *Cluster) Client() *clientv3.Client { return c.cli }

// WaitHealthy waits until every member answers a linearizable read.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	for _, m := range c.Members {
		if err := c.waitMember(ctx, m); err != nil {
			return fmt.Errorf("fairlock: robustness: member %s: %w (see %s)", m.Name, err, m.log)
		}
	}
	return nil
}

func (c *Cluster) waitMember(ctx context.Context, m *Member) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + m.Client}, DialTimeout: 5 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Get(rctx, "health")
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Leader returns the index of the member that leads, asking each.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	for i, m := range c.Members {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := c.cli.Status(sctx, "http://"+m.Client)
		cancel()
		if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
			return i, nil
		}
	}
	return -1, errors.New("fairlock: robustness: no member says it leads")
}

// Kill sends m SIGKILL and waits for it to exit.
func (c *Cluster) Kill(i int) error {
	m := c.Members[i]
	m.mu.Lock()
	cmd, exit := m.cmd, m.exit
	m.mu.Unlock()
	cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies too, but let it be seen to
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	<-exit
	return nil
}

// Restart starts a killed member again, on its data.
func (c *Cluster) Restart(i int) error { return c.run(c.Members[i]) }

// Signal sends sig (SIGSTOP, SIGCONT) to member i.
func (c *Cluster) Signal(i int, sig syscall.Signal) error {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd.Process.Signal(sig)
}

// Isolate cuts member i from the others in direction d of its messages:
// proxy.Both cuts it off; proxy.Up loses only what it sends them.
func (c *Cluster) Isolate(i int, d proxy.Dir) {
	for _, cut := range PeerCuts(i, len(c.Members), d) {
		c.Members[cut.At].Proxy.Cut(c.Members[cut.From].ID, cut.Dir)
	}
}

// PeerCut is one cut of a member fault: on the proxy in front of member
// At, direction Dir of the connections that member From opened.
type PeerCut struct {
	At, From int
	Dir      proxy.Dir
}

// PeerCuts are the cuts that lose member i's messages to the n-1 others
// (d has proxy.Up), their messages to it (d has proxy.Down), or both. A
// message from a to b travels either as a's request on a connection a
// opened to b (b's proxy, from a, up: a pipeline post) or as a's reply on
// a connection b opened to a (a's proxy, from b, down: the stream b reads
// a's messages from), so each direction takes two cuts per peer.
func PeerCuts(i, n int, d proxy.Dir) []PeerCut {
	var cuts []PeerCut
	for j := range n {
		if j == i {
			continue
		}
		if d&proxy.Up != 0 {
			cuts = append(cuts, PeerCut{At: j, From: i, Dir: proxy.Up}, PeerCut{At: i, From: j, Dir: proxy.Down})
		}
		if d&proxy.Down != 0 {
			cuts = append(cuts, PeerCut{At: i, From: j, Dir: proxy.Up}, PeerCut{At: j, From: i, Dir: proxy.Down})
		}
	}
	return cuts
}

// HealPeers lifts every cut between members.
func (c *Cluster) HealPeers() {
	for _, m := range c.Members {
		m.Proxy.Heal()
	}
}

// ClientProxies makes worker's own proxies to every member and returns
// their endpoints.
func (c *Cluster) ClientProxies(worker string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.clients[worker]; ps != nil {
		return endpoints(ps), nil
	}
	var ps []*proxy.Proxy
	for _, m := range c.Members {
		p, err := proxy.Listen("127.0.0.1:0", m.Client, false)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	c.clients[worker] = ps
	return endpoints(ps), nil
}

func endpoints(ps []*proxy.Proxy) []string {
	var eps []string
	for _, p := range ps {
		eps = append(eps, "http://"+p.Addr())
	}
	return eps
}

// CutClient cuts direction d of worker's links to every member.
func (c *Cluster) CutClient(worker string, d proxy.Dir) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.clients[worker] {
		p.Cut(proxy.Any, d)
	}
}

// HealClient lifts the cuts of worker's links.
func (c *Cluster) HealClient(worker string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.clients[worker] {
		p.Heal()
	}
}

// Close kills every member and closes every proxy.
func (c *Cluster) Close() {
	if c.cli != nil {
		c.cli.Close()
	}
	for _, m := range c.Members {
		m.mu.Lock()
		cmd, exit := m.cmd, m.exit
		m.mu.Unlock()
		if cmd != nil {
			cmd.Process.Signal(syscall.SIGCONT)
			cmd.Process.Kill()
			<-exit
		}
		m.Proxy.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.clients {
		for _, p := range ps {
			p.Close()
		}
	}
}
