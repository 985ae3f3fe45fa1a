#!/usr/bin/env bash
# compat.sh: runs fairlock against real etcd servers of several versions.
#
# For each of etcd 3.4 (Debian's etcd-server package), 3.5, 3.6 and 3.7 (the
# newest patch of each, built from the Go module proxy), it starts one
# server process on loopback ports with a temporary data directory, then
# runs against it the smoke suite in integration/compat (every primitive
# once: the mutex, a weighted semaphore's hand-off, the RW lock, LockAll,
# yield, an election's Rotate and ObserveWith, a killed holder process) and
# the jobs example with -endpoints, then the confined-user test (auth
# turned on through the client with a root user, every primitive as a user
# confined to one prefix, auth turned off again: the server needs no flag
# for it), and prints a table: version, smoke suite, confined user.
#
# Binaries are cached in $FAIRLOCK_COMPAT_CACHE (default
# ~/.cache/fairlock-compat), outside the repository. Arguments restrict the
# run to some minor versions: compat.sh 3.4 3.7.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=etcd-build.sh
. "$root/scripts/etcd-build.sh"
GO="${GO:-go}"
cache="${FAIRLOCK_COMPAT_CACHE:-$HOME/.cache/fairlock-compat}"
minors=("$@")
[ ${#minors[@]} -gt 0 ] || minors=(3.4 3.5 3.6 3.7)
mkdir -p "$cache"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-compat.XXXXXX")"
server=
cleanup() {
	if [ -n "$server" ]; then kill -KILL "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "compat: $*" >&2; }

# newest prints the newest release v3.MINOR.N of etcd's server module on
# the Go module proxy.
newest() {
	(cd "$tmp" && GOWORK=off GOFLAGS=-mod=mod "$GO" list -m -versions go.etcd.io/etcd/server/v3) |
		tr ' ' '\n' | grep -E "^v$1\.[0-9]+$" | sort -V | tail -n 1
}

# build builds etcd's server at version $1 (v3.x.y) into the cache, once,
# and prints the binary's path (scripts/etcd-build.sh).
build() { etcd_build "$1" "$tmp"; }

# debian installs Debian's etcd-server (3.4) and copies its binary into the
# cache, once, and prints the binary's path.
debian() {
	local bin
	bin="$(ls "$cache"/etcd-v3.4.* 2>/dev/null | sort -V | tail -n 1 || true)"
	if [ -z "$bin" ]; then
		if ! command -v etcd >/dev/null || ! etcd --version 2>/dev/null | grep -q 'etcd Version: 3\.4\.'; then
			log "installing Debian's etcd-server"
			apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >&2
		fi
		local v
		v="$(etcd --version | sed -n 's/^etcd Version: //p')"
		bin="$cache/etcd-v$v"
		cp "$(command -v etcd)" "$bin"
	fi
	echo "$bin"
}

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

# start starts the binary $1 on loopback ports with a new data directory and
# prints its client URL once it is healthy.
start() {
	local bin="$1" cport pport data
	cport="$(freeport)"
	pport="$(freeport)"
	data="$(mktemp -d "$tmp/data.XXXXXX")"
	"$bin" --name compat --data-dir "$data" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "compat=http://127.0.0.1:$pport" \
		--auto-compaction-mode periodic --auto-compaction-retention 5m \
		>"$data.log" 2>&1 &
	server=$!
	for _ in $(seq 300); do
		if curl -fsS "http://127.0.0.1:$cport/health" 2>/dev/null | grep -q '"health":"true"'; then
			echo "http://127.0.0.1:$cport"
			return 0
		fi
		if ! kill -0 "$server" 2>/dev/null; then break; fi
		sleep 0.1
	done
	tail -n 20 "$data.log" >&2
	return 1
}

stop() {
	kill -TERM "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	server=
}

# smoke runs the suite (but the confined-user test) and the example
# against the server at $1.
smoke() {
	local ep="$1"
	(cd "$root/integration" && FAIRLOCK_COMPAT_ENDPOINTS="$ep" "$GO" test -count=1 -v -skip '^TestConfinedUser$' ./compat/) >&2 || return 1
	local out
	out="$(cd "$root" && "$GO" run ./examples/jobs -endpoints "$ep" 2>&1)" || {
		echo "$out" >&2
		return 1
	}
	echo "$out" | grep -E '^(OK|FAIL): ' >&2 || true
	echo "$out" | grep -q '^OK: ' || return 1
}

# confined runs the confined-user test against the server at $1; it turns
# auth on, and off again, through the client.
confined() {
	(cd "$root/integration" && FAIRLOCK_COMPAT_ENDPOINTS="$1" "$GO" test -count=1 -v -run '^TestConfinedUser$' ./compat/) >&2
}

declare -a rows
failed=0
for minor in "${minors[@]}"; do
	start_time=$SECONDS
	if [ "$minor" = 3.4 ]; then
		bin="$(debian)" || { rows+=("| 3.4 (Debian) | not installed | - | FAIL |"); failed=1; continue; }
	else
		v="$(newest "$minor")"
		if [ -z "$v" ]; then rows+=("| $minor | no release | - | FAIL |"); failed=1; continue; fi
		bin="$(build "$v")" || { rows+=("| $v | build failed | - | FAIL |"); failed=1; continue; }
	fi
	version="$("$bin" --version | sed -n 's/^etcd Version: //p')"
	log "etcd $version: $bin"
	if ep="$(start "$bin")"; then
		log "etcd $version serving at $ep"
		if smoke "$ep"; then result=pass; else result=FAIL; failed=1; fi
		if confined "$ep"; then auth=pass; else auth=FAIL; failed=1; fi
		stop
	else
		result="FAIL (did not start)" auth=-
		failed=1
	fi
	rows+=("| $version | $result | $auth | $((SECONDS - start_time))s |")
	log "etcd $version: smoke $result, confined user $auth"
done

echo
echo "| etcd server | fairlock smoke suite and examples/jobs | confined user | took |"
echo "|---|---|---|---:|"
printf '%s\n' "${rows[@]}"
exit "$failed"
