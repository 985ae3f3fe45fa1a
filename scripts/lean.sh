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
package main

import (
	"fmt"

	"github.com/fairlock/fairlock/fairmutex"
)

func main() { fmt.Println(fairmutex.ErrLocked) }
GO
cd "$tmp"
export GOWORK=off GOFLAGS=-mod=mod
"$GO" mod tidy
"$GO" build -o /dev/null .
count="$(awk '{print $1}' go.sum | sort -u | wc -l | tr -d ' ')"
etcd="$(awk '$1 == "go.etcd.io/etcd/client/v3" && $2 !~ /go.mod/ {print $2}' go.sum)"
echo "lean: a consumer of fairmutex has $count modules in go.sum (limit $limit; etcd client $etcd)"
if [ "$count" -gt "$limit" ]; then
	echo "lean: FAIL: more than $limit modules:" >&2
	awk '{print $1}' go.sum | sort -u | sed 's/^/  /' >&2
	exit 1
fi
