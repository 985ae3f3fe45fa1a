package auth_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/election"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/integration/internal/authsetup"
	"github.com/fairlock/fairlock/queue"
)

// etcd checks a watch's permission when the watch is made, with the token
// its stream was opened with. JWT tokens carry the auth store's revision,
// so any change to the auth store (here, a user added for someone else)
// makes the token of every stream opened before it stale, and etcd refuses
// every watch made on such a stream ("revision of auth store is old"),
// though the user may read the key. fairlock makes such a watch again on a
// fresh stream: after the change a waiter is still granted, Done still
// closes when the entry is deleted, a request to yield still arrives and
// an observer still follows, and a watch made before the change goes on.
func TestWatchesAfterAnAuthChange(t *testing.T) {
	c := authCluster(t, true)
	root := rootClient(t, c)
	ctx := ctxFor(t)
	h := tenant(t, c)
	joined := make(chan string, 8)
	refusals := &logRecords{}
	w := connect(t, c, authsetup.Tenant, authsetup.TenantPassword, fairlock.Config{
		Hooks:  &queue.Hooks{Joined: func(i queue.JoinInfo) { joined <- i.Name }},
		Logger: slog.New(slog.NewTextHandler(refusals, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	waitJoined := func(name string) {
		t.Helper()
		for {
			select {
			case n := <-joined:
				if n == prefix+name {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s never joined", name)
			}
		}
	}
	// Before the change: an observer watching on etcd's client's stream of
	// this client (its report of a new leader proves the watch is up, and
	// it keeps the stream open), a waiter watching there too, and a Done
	// watch on fairlock's own stream (a Done that closes on a deleted
	// entry proves it is up).
	names := []string{"/stale/wait", "/stale/proof", "/stale/after"}
	hs := map[string]*fairmutex.Mutex{}
	for _, n := range names {
		hs[n] = mutex(t, h, prefix+n)
		if err := hs[n].Lock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	observed := elect(t, w, prefix+"/stale/keep").ObserveWith(ctx, election.ObserveOptions{Empty: true})
	observe := func(what string, ch <-chan election.Leader, want string) {
		t.Helper()
		select {
		case l, ok := <-ch:
			if !ok || l.Value != want {
				t.Fatalf("%s: observed %+v (open %v), want leader %q", what, l, ok, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no report, want leader %q", what, want)
		}
	}
	observe("the observer before the change", observed, "") // vacant
	leader := elect(t, h, prefix+"/stale/keep")
	if err := leader.Campaign(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	observe("the observer before the change", observed, "h")
	longWait := lockAsync(ctx, mutex(t, w, prefix+"/stale/wait"))
	waitJoined("/stale/wait")
	proof := mutex(t, w, prefix+"/stale/proof")
	proofGrant := lockAsync(ctx, proof)
	waitJoined("/stale/proof")
	if err := hs["/stale/proof"].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-proofGrant; err != nil {
		t.Fatal(err)
	}
	doneBefore := proof.Done()
	mine := mutex(t, w, prefix+"/stale/mine")
	if err := mine.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	mineDone := mine.Done()
	if _, err := root.Delete(ctx, proof.Key()); err != nil {
		t.Fatal(err)
	}
	closes(t, "Done of a hold deleted before the change", doneBefore)

	if _, err := root.UserAdd(ctx, "someone-else", "pw"); err != nil {
		t.Fatal(err)
	}

	// After: a new waiter on the stale stream of etcd's client.
	after := mutex(t, w, prefix+"/stale/after")
	afterGrant := lockAsync(ctx, after)
	waitJoined("/stale/after")
	if err := hs["/stale/after"].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-afterGrant; err != nil {
		t.Fatalf("the waiter that joined after the change: %v", err)
	}

	// A request to yield, watched for after the change.
	asked := after.YieldRequested()
	q, err := h.Queue(prefix + "/stale/after")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.AskToYield(ctx, "after the change"); err != nil {
		t.Fatal(err)
	}
	closes(t, "YieldRequested after the change", asked)

	// A Done watch made after the change, on fairlock's stale stream.
	doneAfter := after.Done()
	if _, err := root.Delete(ctx, after.Key()); err != nil {
		t.Fatal(err)
	}
	closes(t, "Done of a hold deleted after the change", doneAfter)

	// An observer that starts after the change, and the one from before.
	seen := elect(t, w, prefix+"/stale/keep").ObserveWith(ctx, election.ObserveOptions{})
	observe("the observer that started after the change", seen, "h")
	if err := leader.Proclaim(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	observe("the observer that started after the change", seen, "h2")
	observe("the observer from before the change", observed, "h2")

	// The watch made before the change goes on.
	if err := hs["/stale/wait"].Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-longWait; err != nil {
		t.Fatalf("the waiter that joined before the change: %v", err)
	}
	if isClosed(mineDone) {
		t.Error("Done of a hold nobody touched closed")
	}
	// Done closes on a refusal too: only the log tells a refused watch
	// from one that saw the delete.
	if log := refusals.String(); log != "" {
		t.Errorf("etcd refused watches after the change:\n%s", log)
	}
}

// logRecords is an io.Writer for a logger, safe for concurrent use.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
