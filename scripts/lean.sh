#!/usr/bin/env bash
# lean.sh: proves the library module stays lean. It makes a fresh consumer
# module in a temporary directory that imports only fairmutex (with a
# replace to this checkout, no go.work), runs go mod tidy and go build, and
# fails if the consumer's go.sum names more than LEAN_LIMIT (default 40)
# distinct modules: what a user downloads to adopt fairlock.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
GO="${GO:-go}"
limit="${LEAN_LIMIT:-40}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-lean.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# The consumer's go line is the library's: the oldest Go it supports.
gover="$(sed -n 's/^go //p' "$root/go.mod")"
cat >"$tmp/go.mod" <<MOD
module example.com/consumer

go $gover

require github.com/fairlock/fairlock v0.0.0-00010101000000-000000000000

replace github.com/fairlock/fairlock => $root
MOD
cat >"$tmp/main.go" <<'GO'
// A consumer at the library's minimum versions: with FAIRLOCK_TEST_ENDPOINTS
// set it also locks for real, so those versions are run, not only built.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
)

func main() {
	eps := os.Getenv("FAIRLOCK_TEST_ENDPOINTS")
	if eps == "" {
		fmt.Println("built; FAIRLOCK_TEST_ENDPOINTS unset, not run")
		return
	}
	if err := run(strings.Split(eps, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "lean consumer:", err)
		os.Exit(1)
	}
	fmt.Println("ran: Lock, TryLock refused, Unlock, TryLock, Unlock, Connect to a closed port")
}

func run(eps []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: eps, TTL: 5 * time.Second})
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := fairlock.Connect(ctx, fairlock.Config{Endpoints: eps, TTL: 5 * time.Second})
	if err != nil {
		return err
	}
	defer b.Close()
	ma, _ := a.Mutex("/lean/smoke")
	mb, _ := b.Mutex("/lean/smoke")
	if err := ma.Lock(ctx); err != nil {
		return err
	}
	if err := mb.TryLock(ctx); !errors.Is(err, fairmutex.ErrLocked) {
		return fmt.Errorf("TryLock while held = %v, want ErrLocked", err)
	}
	if err := ma.Unlock(ctx); err != nil {
		return err
	}
	if err := mb.TryLock(ctx); err != nil {
		return fmt.Errorf("TryLock after Unlock: %w", err)
	}
	if err := mb.Unlock(ctx); err != nil {
		return err
	}
	// Unreachable: the error names why, as gRPC of these versions says it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	closed := l.Addr().String()
	l.Close()
	_, err = fairlock.Connect(ctx, fairlock.Config{Endpoints: []string{closed}, DialTimeout: time.Second})
	if !errors.Is(err, fairlock.ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("Connect to a closed port = %v, want ErrUnreachable saying connection refused", err)
	}
	return nil
}
GO
cd "$tmp"
export GOWORK=off GOFLAGS=-mod=mod
"$GO" mod tidy
"$GO" build -o "$tmp/consumer" .
count="$(awk '{print $1}' go.sum | sort -u | wc -l | tr -d ' ')"
etcd="$(awk '$1 == "go.etcd.io/etcd/client/v3" && $2 !~ /go.mod/ {print $2}' go.sum)"
echo "lean: a consumer of fairmutex has $count modules in go.sum (limit $limit; etcd client $etcd)"
if [ "$count" -gt "$limit" ]; then
	echo "lean: FAIL: more than $limit modules:" >&2
	awk '{print $1}' go.sum | sort -u | sed 's/^/  /' >&2
	exit 1
fi
"$tmp/consumer"
