#!/usr/bin/env bash
# robustness.sh: fairlock's robustness suite (robustness/, docs/robustness.md).
#
# Builds etcd's server at the version the integration tests use (cached
# like compat.sh's, scripts/etcd-build.sh), the fairlock command and the
# suite's runner and worker, then runs the suite: a three-process etcd
# cluster on loopback under faults for DUR (default 60s), then a
# whole-cluster outage. SEED replays a schedule (default: a new one, which
# the report prints); FAULTS restricts the kinds of fault (comma-separated);
# OUT keeps the histories in a directory of your choosing (default: a new
# one under $TMPDIR, kept, named in the report). Arguments go to the
# runner.
# Exits 0 only when no checker found a violation.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=etcd-build.sh
. "$root/scripts/etcd-build.sh"
GO="${GO:-go}"

version="$(sed -n 's/^[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\1/p' "$root/integration/go.mod" | head -n 1)"
[ -n "$version" ] || { echo "robustness: no etcd server version in integration/go.mod" >&2; exit 2; }
etcd="$(etcd_build "$version")"

bin="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-robustness-bin.XXXXXX")"
trap 'rm -rf "$bin"' EXIT
(cd "$root/robustness" && "$GO" build -o "$bin/" ./cmd/robustness ./cmd/worker)
(cd "$root/cmd/fairlock" && "$GO" build -o "$bin/fairlock" .)

args=(-etcd "$etcd" -worker "$bin/worker" -fairlock "$bin/fairlock" -dur "${DUR:-60s}")
[ -z "${SEED:-}" ] || args+=(-seed "$SEED")
[ -z "${FAULTS:-}" ] || args+=(-faults "$FAULTS")
[ -z "${OUT:-}" ] || args+=(-out "$OUT")
"$bin/robustness" "${args[@]}" "$@"
