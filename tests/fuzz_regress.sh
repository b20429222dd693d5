#!/bin/sh
# tests/fuzz_regress.sh -- `wodanc fuzz` in make check:
# the random operation loop over a spread of seeds (each seed draws its own
# geometry, budgets and operation mix), the IMAGE entry point on every seed
# image and saved finding (fuzz/corpus/image, fuzz/regress/image), --magic-
# seal, and the usage errors.  The libFuzzer harness code paths are
# replayed by the fuzz/regress_* check programs.
# Env: WODANC, top_srcdir (make check sets both); FUZZ_OPS (default 3000)
# and FUZZ_SEEDS (default "1 2 ... 16") change the loop.
set -u
: "${WODANC:?set WODANC to the path of the wodanc binary}"
top_srcdir=${top_srcdir:-.}
OPS=${FUZZ_OPS:-3000}
SEEDS=${FUZZ_SEEDS:-"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"}
T=$(mktemp -d "${TMPDIR:-/tmp}/wodan-fuzzt.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; sed 's/^/    | /' "$T/err"; }
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

for s in $SEEDS; do
	run "$WODANC" fuzz --ops "$OPS" --seed "$s"
	if [ "$rc" -eq 0 ]; then ok "fuzz --ops $OPS --seed $s"
	else bad "fuzz --ops $OPS --seed $s (exit $rc)"; fi
done
# a file device, kept between two runs: the second one needs -F
run "$WODANC" fuzz --ops 500 --seed 77 --device "file:$T/dev.img" \
	--block-size 1K --key-size 4 --blocks 64 --keys 100
if [ "$rc" -eq 0 ] && [ -s "$T/dev.img" ]; then ok "fuzz --ops on a file device"
else bad "fuzz --ops on a file device (exit $rc)"; fi
run "$WODANC" fuzz --ops 10 --device "file:$T/dev.img"
if [ "$rc" -eq 1 ] && grep -q -- '-F' "$T/err"; then
	ok "fuzz --ops refuses a device holding an image without -F"
else bad "fuzz --ops without -F on an image (exit $rc)"; fi
run "$WODANC" fuzz --ops 200 --device "file:$T/dev.img" -F
if [ "$rc" -eq 0 ]; then ok "fuzz --ops -F reformats the device"
else bad "fuzz --ops -F (exit $rc)"; fi

# IMAGE mode: every seed image and every saved finding exits 0
for f in "$top_srcdir"/fuzz/corpus/image/* "$top_srcdir"/fuzz/regress/image/*; do
	[ -f "$f" ] || continue
	case $f in *.md) continue ;; esac
	run "$WODANC" fuzz "$f"
	if [ "$rc" -eq 0 ]; then ok "fuzz IMAGE $(basename "$f")"
	else bad "fuzz IMAGE $(basename "$f") (exit $rc)"; fi
done
head -c 3000 /dev/zero >"$T/zero.img"
run "$WODANC" fuzz -v "$T/zero.img"
if [ "$rc" -eq 0 ] && grep -q refused "$T/err"; then ok "fuzz IMAGE: a refused image exits 0"
else bad "fuzz IMAGE on zeros (exit $rc)"; fi
run "$WODANC" fuzz "$T/missing.img"
if [ "$rc" -eq 8 ]; then ok "fuzz IMAGE: a missing file exits 8 (cannot run)"
else bad "fuzz IMAGE missing (exit $rc)"; fi

# --magic-seal: a fresh image gets its superblock and root sealed, and
# still opens in the relaxed mode
"$WODANC" mkfs "$T/s.img" --size 16K --block-size 1K --key-size 4 \
	>/dev/null 2>&1
cp "$T/s.img" "$T/s0.img"
run "$WODANC" fuzz --magic-seal "$T/s.img"
if [ "$rc" -eq 1 ] && grep -q -- '-F' "$T/err" && cmp -s "$T/s.img" "$T/s0.img"
then ok "fuzz --magic-seal without -F refuses and changes nothing"
else bad "fuzz --magic-seal without -F (exit $rc)"; fi
run "$WODANC" fuzz --magic-seal "$T/s.img" -F
if [ "$rc" -eq 0 ] && grep -q 'units sealed' "$T/out" &&
   [ "$(od -An -tx1 -j 508 -N 4 "$T/s.img" | tr -d ' \n')" = ffffffff ]; then
	ok "fuzz --magic-seal"
else bad "fuzz --magic-seal (exit $rc)"; fi
run "$WODANC" fuzz -v "$T/s.img"
if [ "$rc" -eq 0 ] && grep -q 'exercised' "$T/err"; then ok "fuzz IMAGE on a sealed image"
else bad "fuzz IMAGE on a sealed image (exit $rc)"; fi

# usage
for args in "" "--seed 3" "--ops x" "--ops 5 extra" "a b" "--key-size 0 --ops 1" \
	    "--block-size 1000 --ops 1"; do
	# shellcheck disable=SC2086
	run "$WODANC" fuzz $args
	if [ "$rc" -eq 16 ]; then ok "fuzz $args -> usage error"
	else bad "fuzz $args (exit $rc, wanted 16)"; fi
done
run "$WODANC" fuzz --help
if [ "$rc" -eq 0 ] && grep -q -- '--ops N --seed S' "$T/out"; then ok "fuzz --help"
else bad "fuzz --help (exit $rc)"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
