#!/usr/bin/env bash
# scripts/main-job.sh -- the project's main job: store every object of a git
# repository in a wodan image and prove that they all come back intact.
#
#   bash scripts/main-job.sh [REPO]
#
# REPO defaults to the wodan repository itself (the top of this source tree).
# Steps (each timed; the first failure stops the job with a message naming
# the step and a non-zero exit):
#   setup    scripts/setup.sh (installs missing packages when root, builds)
#   git2dump wodan-git2dump REPO -o objects.cbor
#   mkfs     wodanc mkfs img --size S -F --block-size 65536 --key-size 20
#   restore  wodanc restore img -i objects.cbor
#   check    wodanc check img                      (must exit 0)
#   dump     wodanc dump img -o back.cbor
#   verify   wodan-verify-git back.cbor --expect objects.cbor
# S = max(64 MiB, 4 x dump size), rounded up to a multiple of the block size.
# Objects whose value (type byte + content) exceeds the image's value limit,
# min(65535, floor(15*bs/16) - 35 - ks) bytes (doc/SPEC.md §6), are skipped by
# git2dump and counted.
#
# Environment: WODAN_BUILD_DIR (as for setup.sh: where the binaries are
# built), SETUP_ARGS (extra ./configure arguments, space separated),
# KEEP_TMP=1 (keep the work directory), WODAN_IMG_FACTOR (default 4),
# SKIP_SETUP=1 (use the binaries already built in WODAN_BUILD_DIR).
set -euo pipefail

BLOCK_SIZE=65536
KEY_SIZE=20
MIN_IMG_BYTES=$((64 * 1024 * 1024))
FACTOR=${WODAN_IMG_FACTOR:-4}

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=${1:-$top}
build=${WODAN_BUILD_DIR:-$top}

say() { printf 'main-job: %s\n' "$*" >&2; }

if [ $# -gt 1 ]; then
	say "usage: bash scripts/main-job.sh [REPO]"
	exit 2
fi

# ------------------------------------------------------------- timing
now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		printf '%s\n' "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}
steps=()
secs=()
job_start=$(now)

# run_step NAME CMD...: run, time, and stop the job when CMD fails.
run_step() {
	local name=$1 t0 t1 rc
	shift
	say "== $name: $*"
	t0=$(now)
	set +e
	"$@"
	rc=$?
	set -e
	t1=$(now)
	steps+=("$name")
	secs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
	if [ $rc -ne 0 ]; then
		say "FAILED at step '$name' (exit status $rc): $*"
		exit 1
	fi
}

# ------------------------------------------------------------- setup
if [ "${SKIP_SETUP:-0}" = 1 ]; then
	say "== setup: skipped (SKIP_SETUP=1), using the build in $build"
else
	# shellcheck disable=SC2086 # SETUP_ARGS is split on purpose
	run_step setup env WODAN_BUILD_DIR="$build" \
		bash "$top/scripts/setup.sh" ${SETUP_ARGS:-}
fi
build=$(cd "$build" && pwd)

wodanc=$build/wodanc/wodanc
git2dump=$build/tools/wodan-git2dump
verify=$build/tools/wodan-verify-git
for b in "$wodanc" "$git2dump" "$verify"; do
	[ -x "$b" ] || { say "FAILED at step 'setup': $b was not built"; exit 1; }
done

repo=$(cd "$repo" 2>/dev/null && pwd) || { say "FAILED: repository '${1:-$top}' not found"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wodan-main-job.XXXXXX")
cleanup() {
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		say "work directory kept: $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# largest value the image takes (doc/SPEC.md §6)
max_value=$((15 * BLOCK_SIZE / 16 - 35 - KEY_SIZE))
[ $max_value -le 65535 ] || max_value=65535

# ------------------------------------------------------------- the job
# git2dump's stderr is kept for the summary; verify's stdout likewise
do_git2dump() {
	local rc=0
	"$git2dump" "$repo" --max-value "$max_value" -o "$tmp/objects.cbor" \
		2>"$tmp/git2dump.err" || rc=$?
	cat "$tmp/git2dump.err" >&2
	return $rc
}
do_verify() {
	local rc=0
	"$verify" "$tmp/back.cbor" --expect "$tmp/objects.cbor" \
		>"$tmp/verify.out" || rc=$?
	cat "$tmp/verify.out"
	return $rc
}

run_step git2dump do_git2dump

dump_bytes=$(stat -c %s "$tmp/objects.cbor")
img_bytes=$((FACTOR * dump_bytes))
[ $img_bytes -ge $MIN_IMG_BYTES ] || img_bytes=$MIN_IMG_BYTES
img_bytes=$(( (img_bytes + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE ))

img=$tmp/img
run_step mkfs "$wodanc" mkfs "$img" --size "$img_bytes" -F \
	--block-size "$BLOCK_SIZE" --key-size "$KEY_SIZE"
run_step restore "$wodanc" restore "$img" -i "$tmp/objects.cbor"
run_step check "$wodanc" check "$img"
run_step dump "$wodanc" dump "$img" -o "$tmp/back.cbor"
run_step verify do_verify

job_end=$(now)

# ------------------------------------------------------------- summary
# git2dump's summary line: "...: N objects, W written, S skipped (too
# large), V value bytes, D dump bytes"
summary=$(grep -E '[0-9]+ objects, [0-9]+ written' "$tmp/git2dump.err" | tail -n 1 || true)
field() { printf '%s\n' "$summary" | grep -oE "[0-9]+ $1" | head -n 1 | cut -d' ' -f1; }
objects=$(field objects)
written=$(field written)
skipped=$(field skipped)
value_bytes=$(field 'value bytes')
img_alloc=$(( $(stat -c %b "$img") * $(stat -c %B "$img") ))

echo
echo "main job summary"
echo "  repository:     $repo"
echo "  objects:        ${objects:-?} (${written:-?} stored, ${skipped:-?} skipped: value over $max_value bytes)"
echo "  bytes:          ${value_bytes:-?} value bytes, $dump_bytes dump bytes"
echo "  image:          $img_bytes bytes ($((img_bytes / 1048576)) MiB, block size $BLOCK_SIZE), $img_alloc bytes allocated"
echo "  verify:         $(cat "$tmp/verify.out")"
for i in "${!steps[@]}"; do
	printf '  %-15s %8s s\n' "${steps[$i]}:" "${secs[$i]}"
done
printf '  %-15s %8s s\n' "total:" "$(awk -v a="$job_start" -v b="$job_end" 'BEGIN { printf "%.2f", b - a }')"
