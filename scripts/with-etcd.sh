#!/usr/bin/env bash
# with-etcd.sh COMMAND [ARG...]
#
# Runs COMMAND with FAIRLOCK_TEST_ENDPOINTS naming a single-member etcd
# started for it (etcdtest/cmd/testetcd: loopback, fsync off, data in a
# temporary directory), and stops the member afterwards, whatever happens.
# make test runs the library module's tests (its godoc Examples) this way.
# Exits with COMMAND's status.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
GO="${GO:-go}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-with-etcd.XXXXXX")"
pid=
stop() {
	local status=$?
	# Closing the member's standard input stops it even if this shell dies
	# before the kill below; the signal makes it quick.
	exec 3>&- || true
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$root/etcdtest" && "$GO" build -o "$tmp/testetcd" ./cmd/testetcd)
mkfifo "$tmp/in"
exec 3<>"$tmp/in" # held open by this shell only (3>&- below), so it ends with it
"$tmp/testetcd" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" 3>&- &
pid=$!

# The member prints its endpoints as its first line once it serves.
for _ in $(seq 600); do
	if [ -s "$tmp/out" ]; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/err" >&2
		echo "with-etcd: testetcd exited before serving" >&2
		exit 1
	fi
	sleep 0.1
done
endpoints="$(head -n 1 "$tmp/out")"
if [ -z "$endpoints" ]; then
	cat "$tmp/err" >&2
	echo "with-etcd: testetcd not serving after 60s" >&2
	exit 1
fi
echo "with-etcd: etcd at $endpoints" >&2
FAIRLOCK_TEST_ENDPOINTS="$endpoints" "$@"
