#!/usr/bin/env bash
# robustness-planted.sh [NAME...]: proves the robustness suite's checkers
# catch the bugs they are there for.
#
# Each robustness/planted/NAME.patch plants one bug in fairlock (a Lock that
# does not wait, a semaphore that lets one too many in, an Observe that
# skips revisions, an exec that kills late, ...). For each, this script
# copies the working tree, applies the patch, runs the suite on the copy
# (DUR, default 20s, unless the patch's header names one; the fault kinds
# the header names; SEED, default 1) and expects the workload the header names to FAIL. It prints
# what the report said. A patch that no longer applies (the code it plants
# in has changed) is reported as such, by name, and fails the script: it
# needs refreshing against the tree. Exits 0 only when every bug is caught.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
GO="${GO:-go}"
export GO

patches=()
if [ $# -gt 0 ]; then
	for n in "$@"; do patches+=("$root/robustness/planted/$n.patch"); done
else
	patches=("$root"/robustness/planted/*.patch)
fi
trees="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-planted-trees.XXXXXX")"
runs="$(mktemp -d "${TMPDIR:-/tmp}/fairlock-planted-runs.XXXXXX")"
trap 'rm -rf "$trees"' EXIT

declare -a rows
failed=0
for p in "${patches[@]}"; do
	name="$(basename "$p" .patch)"
	what="$(sed -n 's/^robustness-planted: *//p' "$p")"
	expect="$(sed -n 's/^robustness-expect: *//p' "$p")"
	faults="$(sed -n 's/^robustness-faults: *//p' "$p")"
	dur="$(sed -n 's/^robustness-dur: *//p' "$p")"
	echo "== planted: $name: $what (expect $expect to fail${faults:+; faults $faults})"
	tree="$trees/$name"
	mkdir -p "$tree"
	(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tree")
	if ! (cd "$tree" && patch -p1 -s --dry-run <"$p" >/dev/null 2>&1); then
		echo "   PATCH NO LONGER APPLIES: robustness/planted/$name.patch must be refreshed against the tree"
		rows+=("| $name | patch no longer applies: refresh it |")
		failed=1
		continue
	fi
	(cd "$tree" && patch -p1 -s <"$p")
	out="$runs/$name.out"
	(cd "$tree" && DUR="${dur:-${DUR:-20s}}" SEED="${SEED:-1}" FAULTS="$faults" OUT="$runs/$name" scripts/robustness.sh) >"$out" 2>&1
	status=$?
	rm -rf "$runs/$name"/etcd/m*.etcd # the members' data (~120 MB each); histories and logs stay
	if [ "$status" -eq 0 ]; then
		echo "   NOT CAUGHT: the suite passed with the bug planted (see $out)"
		rows+=("| $name | NOT CAUGHT |")
		failed=1
	elif grep -q "^FAIL $expect " "$out"; then
		grep -A 40 "^FAIL $expect " "$out" | sed -n '/VIOLATION/p' | head -n 3 | sed 's/^ */   /'
		rows+=("| $name | caught: $expect FAIL, $(grep -A 200 "^FAIL $expect " "$out" | sed -n '1s/.*violations \([0-9]*\).*/\1/p') violations |")
	else
		echo "   the suite failed, but not in $expect (see $out):"
		grep -E '^(FAIL|robustness: FAIL)' "$out" | sed 's/^/   /'
		rows+=("| $name | failed elsewhere, not in $expect |")
		failed=1
	fi
done
echo
echo "| planted bug | what the suite said |"
echo "|---|---|"
printf '%s\n' "${rows[@]}"
echo "(runs kept in $runs)"
exit "$failed"
