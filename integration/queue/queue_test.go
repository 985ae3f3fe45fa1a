package queue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
	"github.com/fairlock/fairlock/queue"
)

var bg = context.Background()

type lineT struct {
	t     *testing.T
	admin *clientv3.Client
	qs    []*queue.Queue // one per node, each with its own client and session
	ss    []*concurrency.Session
}

func newLine(t *testing.T, name string, nodes int) *lineT {
	c := testcluster.Cluster(t, 3)
	l := &lineT{t: t, admin: testcluster.Client(t, c, 0)}
	for i := range nodes {
		s := testcluster.Session(t, testcluster.Client(t, c, i), 10)
		q, err := queue.New(s, name)
		if err != nil {
			t.Fatal(err)
		}
		l.qs, l.ss = append(l.qs, q), append(l.ss, s)
	}
	return l
}

func (l *lineT) join(i int, shared bool, value string) *queue.Ticket {
	l.t.Helper()
	join := l.qs[i].Join
	if shared {
		join = l.qs[i].JoinShared
	}
	tk, err := join(bg, value)
	if err != nil {
		l.t.Fatal(err)
	}
	return tk
}

func positions(t *testing.T, tickets ...*queue.Ticket) []int {
	t.Helper()
	var ps []int
	for _, tk := range tickets {
		p, err := tk.Position(bg)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestListAndPosition(t *testing.T) {
	l := newLine(t, "/line", 5)
	x1 := l.join(0, false, "x1")
	s1 := l.join(1, true, "s1")
	s2 := l.join(2, true, "s2")
	x2 := l.join(3, false, "x2")
	s3 := l.join(4, true, "s3")
	all := []*queue.Ticket{x1, s1, s2, x2, s3}

	entries, err := l.qs[0].List(bg)
	if err != nil {
		t.Fatal(err)
	}
	var want []queue.Entry
	holds := []bool{true, false, false, false, false}
	for i, tk := range all {
		want = append(want, queue.Entry{Key: tk.Key(), Value: tk.Value(), Rev: tk.Rev(), Lease: l.ss[i].Lease(),
			Shared: tk.Shared(), Kind: tk.Kind(), Limit: 0, Weight: 1, Holds: holds[i]})
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	// Exclusive entries count everything ahead, shared ones only exclusive entries.
	if diff := cmp.Diff([]int{0, 1, 1, 3, 2}, positions(t, all...)); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	if err := x1.Leave(bg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 0, 2, 1}, positions(t, s1, s2, x2, s3)); diff != "" {
		t.Errorf("positions after the head left (-want +got):\n%s", diff)
	}
	for _, tk := range all[1:] {
		if err := tk.Leave(bg); err != nil {
			t.Fatal(err)
		}
	}
	testcluster.WaitKeys(t, l.admin, "/line/", 0)
}

// TestServiceOrder queues X1 S1 S2 X2 S3 and checks who is served when: the
// shared run behind X1 together, X2 only after both, S3 only after X2.
func TestServiceOrder(t *testing.T) {
	l := newLine(t, "/order", 5)
	tickets := []*queue.Ticket{
		l.join(0, false, "x1"), l.join(1, true, "s1"), l.join(2, true, "s2"),
		l.join(3, false, "x2"), l.join(4, true, "s3"),
	}
	served := make(chan string, len(tickets))
	for _, tk := range tickets {
		go func() {
			if err := tk.Wait(bg); err != nil {
				served <- "error: " + err.Error()
				return
			}
			served <- tk.Value()
		}()
	}
	next := func() string {
		select {
		case v := <-served:
			return v
		case <-time.After(20 * time.Second):
			return "nothing"
		}
	}
	quiet := func(when string) {
		select {
		case v := <-served:
			t.Fatalf("%s: %s served out of turn", when, v)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got := next(); got != "x1" {
		t.Fatalf("first served %q, want x1", got)
	}
	quiet("while x1 holds")
	leave(t, tickets[0])
	got := []string{next(), next()}
	if !cmp.Equal(got, []string{"s1", "s2"}) && !cmp.Equal(got, []string{"s2", "s1"}) {
		t.Fatalf("after x1 left, served %v, want s1 and s2", got)
	}
	quiet("while s1 and s2 hold")
	leave(t, tickets[1])
	quiet("while s2 holds")
	leave(t, tickets[2])
	if got := next(); got != "x2" {
		t.Fatalf("after the readers left, served %q, want x2", got)
	}
	quiet("while x2 holds")
	leave(t, tickets[3])
	if got := next(); got != "s3" {
		t.Fatalf("after x2 left, served %q, want s3", got)
	}
	leave(t, tickets[4])
	testcluster.WaitKeys(t, l.admin, "/order/", 0)
}

func leave(t *testing.T, tk *queue.Ticket) {
	t.Helper()
	if err := tk.Leave(bg); err != nil {
		t.Fatalf("Leave %s: %v", tk.Value(), err)
	}
}

func TestFIFOAcrossMembers(t *testing.T) {
	const n = 9
	l := newLine(t, "/fifo", n)
	var tickets []*queue.Ticket
	for i := range n {
		tickets = append(tickets, l.join(i, false, fmt.Sprint(i)))
	}
	served := make(chan string, n)
	for _, tk := range tickets {
		go func() {
			if err := tk.Wait(bg); err != nil {
				served <- err.Error()
				return
			}
			served <- tk.Value()
			_ = tk.Leave(bg)
		}()
	}
	var got, want []string
	for i := range n {
		want = append(want, fmt.Sprint(i))
		got = append(got, <-served)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service order (-want +got):\n%s", diff)
	}
	for i := 1; i < n; i++ {
		if tickets[i].Rev() <= tickets[i-1].Rev() {
			t.Errorf("revisions do not rise with join order")
		}
	}
	testcluster.WaitKeys(t, l.admin, "/fifo/", 0)
}

func TestWaitCancelledKeepsPlace(t *testing.T) {
	l := newLine(t, "/keep", 3)
	head, mid, tail := l.join(0, false, "head"), l.join(1, false, "mid"), l.join(2, false, "tail")
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	if err := mid.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait behind a holder = %v, want DeadlineExceeded", err)
	}
	if p := positions(t, mid, tail); !cmp.Equal(p, []int{1, 2}) {
		t.Fatalf("positions after a cancelled Wait = %v, want [1 2]", p)
	}
	leave(t, head)
	if err := mid.Wait(bg); err != nil {
		t.Fatal(err)
	}
	if p := positions(t, tail); !cmp.Equal(p, []int{1}) {
		t.Fatalf("tail position = %v, want [1]", p)
	}
	leave(t, mid)
	leave(t, tail)
}

func TestLeaveIsFenced(t *testing.T) {
	l := newLine(t, "/fenced", 2)
	tk := l.join(0, false, "a")
	done := tk.Done()
	// Someone else deletes the entry: the ticket is lost.
	if _, err := l.admin.Delete(bg, tk.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed when the entry was deleted")
	}
	if _, err := tk.Position(bg); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Position of a deleted entry = %v, want ErrLost", err)
	}
	if err := tk.Wait(bg); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Wait of a deleted entry = %v, want ErrLost", err)
	}
	other := l.join(1, false, "b")
	if err := tk.Leave(bg); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Leave of a deleted entry = %v, want ErrLost", err)
	}
	if got := testcluster.Keys(t, l.admin, "/fenced/"); !cmp.Equal(got, []string{other.Key()}) {
		t.Errorf("line after a stale Leave = %v, want %v", got, []string{other.Key()})
	}
	if err := tk.Leave(bg); !errors.Is(err, queue.ErrLeft) {
		t.Errorf("second Leave = %v, want ErrLeft", err)
	}
	if err := tk.Wait(bg); !errors.Is(err, queue.ErrLeft) {
		t.Errorf("Wait after Leave = %v, want ErrLeft", err)
	}
	leave(t, other)
}

func TestDoneClosesWhenSessionEnds(t *testing.T) {
	l := newLine(t, "/session-end", 1)
	tk := l.join(0, false, "a")
	done := tk.Done()
	if err := l.ss[0].Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed when the session ended")
	}
	testcluster.WaitKeys(t, l.admin, "/session-end/", 0)
	if _, err := l.qs[0].Join(bg, "b"); !errors.Is(err, queue.ErrSessionExpired) {
		t.Errorf("Join on an ended session = %v, want ErrSessionExpired", err)
	}
}

func TestTryJoin(t *testing.T) {
	l := newLine(t, "/tryjoin", 3)
	s1, err := l.qs[0].TryJoinShared(bg, "s1")
	if err != nil {
		t.Fatalf("TryJoinShared on an empty line: %v", err)
	}
	s2, err := l.qs[1].TryJoinShared(bg, "s2")
	if err != nil {
		t.Fatalf("TryJoinShared behind a shared entry: %v", err)
	}
	rev := testcluster.Revision(t, l.admin)
	if _, err := l.qs[2].TryJoin(bg, "x"); !errors.Is(err, queue.ErrBlocked) {
		t.Fatalf("TryJoin behind shared entries = %v, want ErrBlocked", err)
	}
	if got := testcluster.Revision(t, l.admin); got != rev {
		t.Errorf("failed TryJoin moved the revision %d -> %d", rev, got)
	}
	leave(t, s1)
	leave(t, s2)
	x, err := l.qs[2].TryJoin(bg, "x")
	if err != nil {
		t.Fatalf("TryJoin on an empty line: %v", err)
	}
	if err := x.Wait(bg); err != nil {
		t.Fatalf("Wait of a ticket at the head: %v", err)
	}
	if _, err := l.qs[0].TryJoinShared(bg, "s"); !errors.Is(err, queue.ErrBlocked) {
		t.Fatalf("TryJoinShared behind an exclusive entry = %v, want ErrBlocked", err)
	}
	leave(t, x)
}
