package compat_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/queue"
)

// childEnv, set, makes the test binary a holder process: it locks the
// name in the variable, prints "locked TOKEN" and waits to be killed.
const childEnv = "FAIRLOCK_COMPAT_CHILD_LOCK"

// childTTL is the holder's session TTL, in seconds.
const childTTL = 2

func holdUntilKilled() int {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := fairlock.Connect(ctx, fairlock.Config{
		Endpoints: strings.Split(os.Getenv(envEndpoints), ","),
		TTL:       childTTL * time.Second,
		Identity:  "doomed-holder",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		return 1
	}
	m, err := c.Mutex(os.Getenv(childEnv))
	if err == nil {
		err = m.Lock(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		return 1
	}
	fmt.Println("locked", m.Token())
	select {} // until SIGKILL: no Unlock, no Close, no revoke
}

// A holder process killed with SIGKILL unlocks nothing and revokes
// nothing; its lease expires after its TTL, its entry goes with it, and
// the next waiter is granted.
func TestKilledHolder(t *testing.T) {
	name := lockName(t)
	eps := endpoints(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout+childTTL*time.Second)
	defer cancel()

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+name, envEndpoints+"="+strings.Join(eps, ","))
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill() //nolint:errcheck // on an early return
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("holder process: %v", err)
	}
	var childToken int64
	if f := strings.Fields(line); len(f) == 2 && f[0] == "locked" {
		childToken, _ = strconv.ParseInt(f[1], 10, 64)
	}
	if childToken == 0 {
		t.Fatalf("holder process said %q", line)
	}

	joined := make(chan struct{}, 1)
	w := connect(t, fairlock.Config{Hooks: &queue.Hooks{Joined: func(queue.JoinInfo) { joined <- struct{}{} }}})
	m, err := w.Mutex(name)
	if err != nil {
		t.Fatal(err)
	}
	granted := make(chan error, 1)
	go func() { granted <- m.Lock(ctx) }()
	select {
	case <-joined:
	case <-ctx.Done():
		t.Fatal("the waiter never joined")
	}
	select {
	case err := <-granted:
		t.Fatalf("waiter granted while the holder lives: %v", err)
	default:
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	child.Wait() //nolint:errcheck // killed: the status says so
	if err := <-granted; err != nil {
		t.Fatalf("waiter after the holder was killed: %v", err)
	}
	took := time.Since(killed)
	t.Logf("granted %v after SIGKILL (holder TTL %ds)", took.Round(time.Millisecond), childTTL)
	if m.Token() <= childToken {
		t.Errorf("waiter's token %d not above the killed holder's %d", m.Token(), childToken)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
