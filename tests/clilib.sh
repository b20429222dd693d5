# tests/clilib.sh -- shared helpers of the wodanc shell tests; source it
# (". "$top_srcdir/tests/clilib.sh"") with WODANC set.  POSIX sh.
#
# Sets: T (a fresh temporary directory, removed at exit), pass, fail, BS,
# KS.  Functions: ok, bad, show, run, expect_rc, expect_fail, check_that,
# hex2bin, bytes, json_ok, json_int, json_str, mkimg, gen_text, damage_child,
# finish.

set -u
: "${WODANC:?set WODANC to the path of the wodanc binary}"
top_srcdir=${top_srcdir:-.}

T=$(mktemp -d "${TMPDIR:-/tmp}/wodanc-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
BS=4096
KS=4

# ok DESC / bad DESC: count and print one result line.
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

# show FILE: indent a captured output file into the log.
show() { sed 's/^/    | /' "$1"; }

# run CMD...: run with stdout to $T/out, stderr to $T/err; sets rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_rc WANT DESC CMD...: run CMD and compare its exit code.
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

# expect_fail DESC CMD...: CMD must exit non-zero and say something on
# stderr.
expect_fail() {
	desc=$1
	shift
	run "$@"
	if [ "$rc" -ne 0 ] && [ -s "$T/err" ]; then
		ok "$desc"
	else
		bad "$desc (exit $rc, stderr empty or exit 0)"
		show "$T/err"
	fi
}

# check_that DESC COND...: evaluate a test command.
check_that() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}

# hex2bin HEX: write the bytes spelled by HEX (spaces ignored) to stdout.
hex2bin() {
	for h in $(printf '%s' "$1" | sed 's/[^0-9a-fA-F]//g; s/../& /g'); do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "0x$h")"
	done
}

# bytes N...: write the bytes with decimal values N... to stdout.
bytes() {
	for b in "$@"; do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "$b")"
	done
}

# json_ok FILE: true when FILE holds valid JSON (or python3 is missing).
have_python=no
command -v python3 >/dev/null 2>&1 && have_python=yes
json_ok() {
	[ "$have_python" = no ] && return 0
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$1" 2>/dev/null
}

# json_int FILE KEY: the integer value of "KEY" in a one-line JSON object.
json_int() {
	sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1"
}

# json_str FILE KEY: the value of "KEY" (a string without quotes inside,
# true, false or null) in a one-line JSON object.
json_str() {
	sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\).*/\1/p" "$1"
}

# mkimg PATH [MKFS OPTIONS...]: a fresh 8 MiB image with the test geometry.
mkimg() {
	p=$1
	shift
	"$WODANC" mkfs "$p" --size 8M --block-size $BS --key-size $KS "$@" \
		>/dev/null 2>"$T/mkimg.err"
}

# gen_text N VLEN SEED [TOMBSTONES]: a text dump (wodanc dump --format text)
# of N records with 4-byte keys 0..N-1 and VLEN pseudo-random bytes each
# (awk's srand(SEED)); every 7th value is empty when TOMBSTONES is 0.
gen_text() {
	awk -v n="$1" -v vlen="$2" -v seed="$3" -v tomb="${4:-1}" 'BEGIN {
		srand(seed)
		print "wodan-dump-text 1 key_size=4 tombstones=" tomb
		for (i = 0; i < n; i++) {
			v = ""
			for (j = 0; j < vlen; j++)
				v = v sprintf("%02x", int(rand() * 256))
			if (tomb == 0 && i % 7 == 3)
				v = "-"
			printf "%08x %s\n", i, v
		}
		printf "end records=%d\n", n
	}'
}

# damage_child IMG: overwrite one byte inside a child node (node type 2) of
# IMG, an image written by mkfs plus restores on a fresh sparse file; falls
# back to the root block.  Prints the damaged block.
damage_child() {
	dd if=/dev/zero of="$T/zero.cmp" bs=65536 count=128 2>/dev/null
	blk=$(cmp -l "$T/zero.cmp" "$1" 2>/dev/null |
		awk -v bs=$BS '{ p = $1 - 1; if (p % bs == 0 && $3 == 2) {
			print p / bs; exit } }')
	if [ -z "$blk" ]; then
		"$WODANC" check --json "$1" >"$T/dc.json" 2>/dev/null
		blk=$(json_int "$T/dc.json" root_block)
	fi
	printf 'X' | dd of="$1" bs=1 seek=$((blk * BS + 100)) conv=notrunc \
		2>/dev/null
	echo "$blk"
}

# finish: print the totals; the exit status of the test.
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
