#!/bin/sh
# tests/bench.sh -- smoke test of `wodanc bench`, run by `make check` with
# WODANC (path to the binary) set.
#
# Runs every workload with a small N on RAM devices and on a file, checks
# the exit codes, that --json prints one valid JSON object per phase with
# every expected phase and key, --phases, --verify, the file device rules
# (created, removed, -F) and usage errors.  A benchmark is a measurement:
# nothing here looks at a time or a rate.
# POSIX sh; python3 validates the JSON when present (grep otherwise).

set -u
: "${WODANC:?set WODANC to the path of the wodanc binary}"

T=$(mktemp -d "${TMPDIR:-/tmp}/wodanc-bench.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
N=2000

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
show() { sed 's/^/    | /' "$1"; }
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_rc WANT DESC CMD...
expect_rc() {
	want=$1 desc=$2
	shift 2
	run "$@"
	if [ "$rc" -eq "$want" ]; then
		ok "$desc"
	else
		bad "$desc (exit $rc, wanted $want)"
		show "$T/err"
	fi
}

check_that() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}

KEYS="workload phase n ops seconds ops_per_sec p50_us p99_us bytes_written
bytes_read write_amplification read_amplification flushes barriers
peak_rss_kib used_blocks block_size key_size value_size device seed cache
fanout dirty user_bytes_written user_bytes_read"

have_python=no
command -v python3 >/dev/null 2>&1 && have_python=yes

# json_phases FILE WORKLOAD PHASE...: FILE has exactly one valid JSON
# object per line, one per PHASE in this order, each of the workload with
# every key of $KEYS, integer byte counts, and ops > 0.
json_phases() {
	f=$1 wl=$2
	shift 2
	if [ "$have_python" = yes ]; then
		python3 - "$f" "$wl" "$*" "$KEYS" <<'EOF'
import json, sys
path, wl, phases, keys = sys.argv[1], sys.argv[2], sys.argv[3].split(), \
    sys.argv[4].split()
lines = [l for l in open(path).read().split("\n") if l.strip()]
got = []
for l in lines:
    o = json.loads(l)
    missing = [k for k in keys if k not in o]
    if missing:
        sys.exit("%s: missing keys %s" % (o.get("phase"), missing))
    if o["workload"] != wl:
        sys.exit("workload %r" % o["workload"])
    for k in ("bytes_written", "bytes_read", "used_blocks", "flushes",
              "barriers", "peak_rss_kib", "ops", "block_size"):
        if not isinstance(o[k], int) or isinstance(o[k], bool):
            sys.exit("%s: %s is not an integer" % (o["phase"], k))
    if o["ops"] <= 0:
        sys.exit("%s: no operations" % o["phase"])
    got.append(o["phase"])
if got != phases:
    sys.exit("phases %s, wanted %s" % (got, phases))
EOF
		return $?
	fi
	[ "$(grep -c . "$f")" -eq $# ] || return 1
	for ph in "$@"; do
		grep -q "\"phase\": \"$ph\"" "$f" || return 1
	done
	for k in $KEYS; do
		[ "$(grep -c "\"$k\": " "$f")" -eq $# ] || return 1
	done
	return 0
}

# json_field FILE PHASE KEY: the value of KEY on PHASE's line.
json_field() {
	grep "\"phase\": \"$2\"" "$1" |
		sed -n "s/.*\"$3\": *\([^,}]*\).*/\1/p"
}

# ----------------------------------------------------------- help, usage
expect_rc 0 "bench --help" "$WODANC" bench --help
for w in original index dbbench splitmix64 lookup_absent fillsync \
	readrandom "write amplification"; do
	check_that "help mentions $w" grep -q "$w" "$T/out"
done
expect_rc 16 "unknown workload -> 16" "$WODANC" bench --workload nope
expect_rc 16 "--n 0 -> 16" "$WODANC" bench --n 0
expect_rc 16 "--n x -> 16" "$WODANC" bench --n 12x
expect_rc 16 "unknown phase -> 16" \
	"$WODANC" bench --workload index --phases insert,nope
expect_rc 16 "bad block size -> 16" "$WODANC" bench --block-size 1000
expect_rc 16 "key size 4 -> 16" "$WODANC" bench --key-size 4
expect_rc 16 "unexpected operand -> 16" "$WODANC" bench extra
expect_rc 16 "unknown option -> 16" "$WODANC" bench --frobnicate
expect_rc 16 "value too large for the block -> 16" \
	"$WODANC" bench --block-size 512 --value-size 4000

# --------------------------------------------------------- the workloads
expect_rc 0 "original (table)" "$WODANC" bench --workload original --n $N
check_that "table has a header and both phases" \
	sh -c "grep -q '^phase ' '$T/out' && grep -q '^insert ' '$T/out' &&
	       grep -q '^flush ' '$T/out'"

expect_rc 0 "original --json" "$WODANC" bench --workload original --n $N \
	--json
cp "$T/out" "$T/orig.json"
check_that "original JSON: insert, flush" \
	json_phases "$T/orig.json" original insert flush
check_that "original flush writes bytes" \
	[ "$(json_field "$T/orig.json" flush bytes_written)" -gt 0 ]

expect_rc 0 "index --json" "$WODANC" bench --workload index --n $N --json
cp "$T/out" "$T/index.json"
check_that "index JSON: all five phases" json_phases "$T/index.json" index \
	insert lookup lookup_absent scan mixed
check_that "index scan visits every key" \
	[ "$(json_field "$T/index.json" scan ops)" -eq $N ]
check_that "index lookup finds every key" \
	[ "$(json_field "$T/index.json" lookup found)" -eq $N ]

expect_rc 0 "dbbench --json --verify" "$WODANC" bench --workload dbbench \
	--n $N --json --verify
cp "$T/out" "$T/db.json"
check_that "dbbench JSON: all six phases" json_phases "$T/db.json" dbbench \
	fillseq fillrandom overwrite readrandom readseq fillsync
check_that "fillsync flushes after each insert" \
	[ "$(json_field "$T/db.json" fillsync flushes)" -ge $N ]

expect_rc 0 "index --phases scan (insert runs unreported)" \
	"$WODANC" bench --workload index --n $N --phases scan --json
cp "$T/out" "$T/scan.json"
check_that "only the scan is reported" json_phases "$T/scan.json" index scan

expect_rc 0 "index with --fanout, --dirty, --no-autoflush, --block-size" \
	"$WODANC" bench --workload index --n $N --fanout 16 --dirty 1M \
	--no-autoflush --block-size 16K --cache 1M --json --verify \
	--phases insert,lookup,mixed
cp "$T/out" "$T/opt.json"
check_that "options JSON" json_phases "$T/opt.json" index insert lookup mixed
check_that "block size reported" \
	[ "$(json_field "$T/opt.json" insert block_size)" -eq 16384 ]

# ------------------------------------------------------------ file device
expect_rc 0 "index on file:" "$WODANC" bench --workload index --n $N \
	--device "file:$T/b.img" --json --cold
cp "$T/out" "$T/file.json"
check_that "file JSON: all phases" json_phases "$T/file.json" index \
	insert lookup lookup_absent scan mixed
check_that "the created file is removed" [ ! -e "$T/b.img" ]
expect_rc 0 "--keep keeps the file" "$WODANC" bench --n $N \
	--device "file:$T/b.img" --keep --phases insert
check_that "the kept file exists" [ -s "$T/b.img" ]
expect_rc 1 "existing file without -F -> 1" "$WODANC" bench --n $N \
	--device "file:$T/b.img"
expect_rc 0 "existing file with -F" "$WODANC" bench --n $N \
	--device "file:$T/b.img" -F
check_that "an existing file is left in place" [ -e "$T/b.img" ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
