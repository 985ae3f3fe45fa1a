package fairlock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

// With etcd's auth on, Connect logs in with Username and Password and its
// locks work; a wrong password is a prompt error that says so, not a wait
// for the dial timeout.
func TestConnectAuth(t *testing.T) {
	c := oneMember(t)
	admin := testcluster.Client(t, c, 0)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("setting up auth: %v", err)
		}
	}

	fc := connect(t, c, fairlock.Config{Username: "root", Password: "rootpw"})
	m, err := fc.Mutex("/connect/auth")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock as root: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock as root: %v", err)
	}

	start := time.Now()
	bad, err := fairlock.Connect(ctx, fairlock.Config{
		Endpoints: []string{c.Members[0].GRPCURL}, Username: "root", Password: "wrong", DialTimeout: time.Minute,
	})
	if err == nil {
		bad.Close()
		t.Fatal("Connect with a wrong password succeeded")
	}
	if errors.Is(err, fairlock.ErrUnreachable) || !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("err = %v, want an authentication failure", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("wrong password reported after %v", took)
	}
}

// Connect speaks TLS with Config.TLS, client certificate included.
func TestConnectTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	integration.BeforeTest(t)
	c := integration.NewCluster(t, &integration.ClusterConfig{Size: 1, ClientTLS: serverTLS})
	t.Cleanup(func() { c.Terminate(t) })
	fc := connect(t, c, fairlock.Config{TLS: clientTLS})
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	m, err := fc.Mutex("/connect/tls")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock over TLS: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock over TLS: %v", err)
	}

	// Without TLS the same endpoint cannot be reached: the error is bounded.
	dctx, dcancel := context.WithTimeout(ctx, time.Second)
	defer dcancel()
	plain, err := fairlock.Connect(dctx, fairlock.Config{Endpoints: []string{c.Members[0].GRPCURL}})
	if err == nil {
		plain.Close()
		t.Fatal("Connect without TLS to a TLS endpoint succeeded")
	}
}
