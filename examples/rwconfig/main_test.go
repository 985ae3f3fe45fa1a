package main

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/etcdtest"
	"github.com/fairlock/fairlock/examples/internal/cluster"
	"github.com/fairlock/fairlock/examples/internal/exampletest"
)

var (
	readsLine  = regexp.MustCompile(`(?m)^reads: (\d+) by \d+ readers.*; torn: (\d+)$`)
	writerLine = regexp.MustCompile(`writer: config v(\d+) written`)
)

// TestRun runs the program against an etcd it was given and checks, besides
// its verdict, that readers read and none saw a torn configuration, that the
// writer wrote every version in turn, and that the configuration left in
// etcd is whole and the lock's keys are gone.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := exampletest.Etcd(t, ctx)

	cfg := config{
		endpoints: strings.Join(e.Endpoints(), ","),
		name:      "/test/config-lock",
		prefix:    "/test/config/",
		readers:   4,
		updates:   6,
		every:     30 * time.Millisecond,
		step:      3 * time.Millisecond,
		readPause: time.Millisecond,
		ttl:       5,
	}
	var out exampletest.Output
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Logf("output:\n%s", text)
	if !strings.Contains(text, "\nOK: no reader saw a half-written config") {
		t.Errorf("no OK verdict")
	}
	m := readsLine.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no reads line")
	}
	if reads, _ := strconv.Atoi(m[1]); reads == 0 {
		t.Errorf("no reads")
	}
	if m[2] != "0" {
		t.Errorf("%s torn reads under the lock", m[2])
	}
	for i, w := range writerLine.FindAllStringSubmatch(text, -1) {
		if w[1] != strconv.Itoa(i+1) {
			t.Errorf("update %d wrote v%s", i+1, w[1])
		}
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, cfg.prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	final := make(map[string]string)
	for _, kv := range resp.Kvs {
		final[strings.TrimPrefix(string(kv.Key), cfg.prefix)] = string(kv.Value)
	}
	if v, err := consistent(final); err != nil || v != cfg.updates+1 {
		t.Errorf("config left in etcd: version %d, %v; want version %d, whole", v, err, cfg.updates+1)
	}
	left, err := cli.Get(ctx, cfg.name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if left.Count != 0 {
		t.Errorf("%d lock keys left after the run", left.Count)
	}
}

// TestNoLock runs the readers without the read lock and checks that they
// do see torn configurations and the program fails: the reads are really
// exposed to the writer's half-done updates, so the 0 above means something.
func TestNoLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config{
		embed:   etcdtest.Options{NoFsync: true},
		name:    "/test/config-lock",
		prefix:  "/test/config/",
		readers: 4,
		updates: 8,
		every:   20 * time.Millisecond,
		step:    20 * time.Millisecond, // long torn windows: readers cannot all miss them
		noLock:  true,
		ttl:     5,
	}
	var out exampletest.Output
	err := run(ctx, cfg, &out)
	text := out.String()
	t.Logf("output:\n%s", text)
	if !errors.Is(err, cluster.ErrCheckFailed) {
		t.Fatalf("run = %v, want cluster.ErrCheckFailed", err)
	}
	m := readsLine.FindStringSubmatch(text)
	if m == nil || m[2] == "0" {
		t.Errorf("no torn reads reported: %q", m)
	}
	if !strings.Contains(text, "\nFAIL: ") {
		t.Errorf("no FAIL verdict")
	}
}

// TestConsistent shows that a configuration mixing two versions in any
// field is caught, and a whole one is not.
func TestConsistent(t *testing.T) {
	old, cur := settings(3), settings(4)
	if v, err := consistent(cur); v != 4 || err != nil {
		t.Fatalf("consistent(v4) = %d, %v", v, err)
	}
	for _, f := range fields {
		mixed := make(map[string]string)
		for k, v := range cur {
			mixed[k] = v
		}
		mixed[f] = old[f]
		if _, err := consistent(mixed); err == nil {
			t.Errorf("v4 with the old %s passed", f)
		}
		delete(mixed, f)
		if _, err := consistent(mixed); err == nil {
			t.Errorf("v4 without %s passed", f)
		}
	}
}
