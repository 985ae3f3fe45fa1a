#!/usr/bin/env bash
# etcd-build.sh: etcd servers built from the Go module proxy, cached.
#
# Sourced by compat.sh and robustness.sh; run directly, it builds (once)
# and prints the binary of each version given: etcd-build.sh v3.7.3.
#
# The binaries are cached in $FAIRLOCK_COMPAT_CACHE (default
# ~/.cache/fairlock-compat), outside the repository, as etcd-vX.Y.Z. go
# install refuses etcd's module (it has replace directives), so a scratch
# module requires it and builds its main package. A build goes to a
# temporary name first, so an interrupted one never leaves a half binary.

etcd_build_cache="${FAIRLOCK_COMPAT_CACHE:-$HOME/.cache/fairlock-compat}"

# etcd_build builds etcd's server at version $1 (v3.x.y) into the cache,
# once, and prints the binary's path. Scratch modules go under $2 (default:
# a temporary directory removed after).
etcd_build() {
	local v="$1" scratch="${2:-}" bin
	bin="$etcd_build_cache/etcd-$v"
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	mkdir -p "$etcd_build_cache"
	local own=
	if [ -z "$scratch" ]; then
		scratch="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-etcd-build.XXXXXX")"
		own=1
	fi
	local mod="$scratch/build-$v" status=0
	mkdir -p "$mod"
	echo "etcd-build: building etcd $v from the module proxy" >&2
	(
		# set -e does not hold inside a subshell followed by ||: chain.
		cd "$mod" &&
			export GOWORK=off GOFLAGS=-mod=mod &&
			printf 'module scratch\n\ngo 1.23\n' >go.mod &&
			"${GO:-go}" get "go.etcd.io/etcd/server/v3@$v" >&2 &&
			CGO_ENABLED=0 "${GO:-go}" build -trimpath -o "$bin.tmp.$$" go.etcd.io/etcd/server/v3 >&2
	) || status=$?
	[ -n "$own" ] && rm -rf "$scratch"
	if [ "$status" -ne 0 ]; then
		rm -f "$bin.tmp.$$"
		return "$status"
	fi
	mv "$bin.tmp.$$" "$bin"
	echo "$bin"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -gt 0 ] || { echo "usage: etcd-build.sh vX.Y.Z..." >&2; exit 2; }
	for v in "$@"; do etcd_build "$v"; done
fi
