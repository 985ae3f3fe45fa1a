#!/usr/bin/env bash
# tidy-check.sh [-w] MODULE_DIR
#
# Checks that a module which `go install MODULE@version` must build is tidy.
# Such a module has no replace directives (go install refuses them): it
# requires this repository's modules at the placeholder version, and go.work
# ties them to the local tree. `go mod tidy` alone would try to download the
# placeholder and fail, so tidy runs on a temporary copy of go.mod and go.sum
# that replaces every module of this repository required at the placeholder
# with its local directory; the result, with those replaces dropped again,
# must equal the real go.mod and go.sum. With -w, it is written back instead.
set -euo pipefail
GO="${GO:-go}"

write=false
if [ "${1:-}" = "-w" ]; then
	write=true
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [-w] MODULE_DIR" >&2
	exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(cd "$1" && pwd)"
repo=github.com/fairlock/fairlock
placeholder=v0.0.0-00010101000000-000000000000

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$dir/go.mod" "$tmp/go.mod"
if [ -f "$dir/go.sum" ]; then cp "$dir/go.sum" "$tmp/go.sum"; else : >"$tmp/go.sum"; fi

cd "$dir"
export GOWORK=off
# placeholder_requires GOMOD prints the modules of this repository that
# GOMOD requires at the placeholder, one a line.
placeholder_requires() {
	"$GO" mod edit -json "$1" | tr -d ' \t\n' |
		grep -oE '\{"Path":"'"${repo//./\\.}"'(/[^"]*)?","Version":"'"${placeholder//./\\.}"'"' |
		sed 's/^{"Path":"\([^"]*\)".*/\1/' | sort -u || true
}
# Every module of this repository that go.mod requires at the placeholder,
# and those that they require in turn: tidy loads the tests of the packages
# the command imports (to record their sums), so a module such as the
# prometheus adapter brings in the modules its tests import (etcdtest).
pending=($(placeholder_requires "$tmp/go.mod"))
replaced=()
while [ ${#pending[@]} -gt 0 ]; do
	m="${pending[0]}"
	pending=("${pending[@]:1}")
	case " ${replaced[*]} " in *" $m "*) continue ;; esac
	local_dir="$root${m#"$repo"}"
	if [ ! -f "$local_dir/go.mod" ]; then
		echo "$0: $m is required at $placeholder but $local_dir has no go.mod" >&2
		exit 1
	fi
	"$GO" mod edit -modfile="$tmp/go.mod" -replace "$m=$local_dir"
	replaced+=("$m")
	pending+=($(placeholder_requires "$local_dir/go.mod"))
done
"$GO" mod tidy -modfile="$tmp/go.mod"
for m in "${replaced[@]}"; do
	"$GO" mod edit -modfile="$tmp/go.mod" -dropreplace "$m"
done

if $write; then
	cp "$tmp/go.mod" "$dir/go.mod"
	cp "$tmp/go.sum" "$dir/go.sum"
	exit 0
fi
status=0
diff -u "$dir/go.mod" "$tmp/go.mod" || status=1
if [ -f "$dir/go.sum" ]; then
	diff -u "$dir/go.sum" "$tmp/go.sum" || status=1
elif [ -s "$tmp/go.sum" ]; then
	echo "$0: $1/go.sum is missing" >&2
	status=1
fi
if [ $status -ne 0 ]; then
	echo "$0: $1 is not tidy: run scripts/tidy-check.sh -w $1" >&2
fi
exit $status
