#!/bin/sh
# tests/fuzz_images.sh -- `wodanc fuzz IMAGE` and `wodanc check IMAGE` over
# every image of fuzz/corpus/image and fuzz/regress/image, plus images
# crafted here whose newest root has the generation 2^64-1 or 2^64-2 (the
# root's generation field patched and its CRC-32C re-sealed by
# tests/clitool setgen; from an image made by wodanc and from a corpus
# image).  Asserts: neither command dies of a signal (fuzz aborts on a
# disagreement between check and open, so an abort is a disagreement), and
# both exit with codes of the one table: fuzz 0, check 0, 4 or 8.  The
# crafted images: check says the image is damaged (4), fuzz agrees (0).
# Run by `make check` with WODANC and top_srcdir set.  POSIX sh.

# ok, bad, show; $T
. "${top_srcdir:-.}/tests/clilib.sh"
CLITOOL=${CLITOOL:-$(dirname "$WODANC")/../tests/clitool}

[ -x "$CLITOOL" ] || { echo "missing $CLITOOL (make builds it)"; exit 99; }

# one IMAGE LABEL CHECK_CODES: fuzz must exit 0 (no abort), check one of
# CHECK_CODES (a space-separated list)
one() {
	"$WODANC" fuzz "$1" >"$T/fout" 2>"$T/ferr"
	frc=$?
	"$WODANC" check "$1" >"$T/cout" 2>"$T/cerr"
	crc=$?
	case " $3 " in *" $crc "*) cok=1 ;; *) cok=0 ;; esac
	if [ "$frc" -eq 0 ] && [ "$cok" -eq 1 ]; then
		ok "$2: fuzz 0, check $crc"
	else
		bad "$2: fuzz exit $frc (want 0), check exit $crc (want $3)"
		show "$T/ferr"
		show "$T/cerr"
	fi
}

n=0
for f in "$top_srcdir"/fuzz/corpus/image/* "$top_srcdir"/fuzz/regress/image/*; do
	[ -f "$f" ] || continue
	case $f in *.md) continue ;; esac
	# corpus images carry the magic CRC trailer: plain check finds them
	# damaged (4); it must never crash or fail to run
	one "$f" "${f#"$top_srcdir"/}" "0 4"
	n=$((n + 1))
done
if [ "$n" -ge 10 ]; then ok "ran over $n stored images"
else bad "only $n stored images found under $top_srcdir/fuzz"; fi

# ---------------------------------------- crafted huge root generations
printf '\331\331\367\243\152wodan-dump\001\150key-size\004\152tombstones\365\202\104\000\000\000\001\102hi\242\147records\001\146crc32c\032\232\262\050\012' \
	>"$T/ex.cbor"
"$WODANC" mkfs -q "$T/base.img" --size 1M -b 4096 --key-size 4 &&
	"$WODANC" restore "$T/base.img" -i "$T/ex.cbor" >/dev/null ||
	bad "cannot make the base image"
for gen in 18446744073709551615 18446744073709551614; do
	cp "$T/base.img" "$T/g.img"
	blk=$("$CLITOOL" setgen "$T/g.img" $gen) || bad "setgen $gen"
	one "$T/g.img" "made image, root (block $blk) generation $gen" "4"
	for c in ops1k.img ops512-journal.img; do
		src=$top_srcdir/fuzz/corpus/image/$c
		[ -f "$src" ] || continue
		cp "$src" "$T/c.img"
		blk=$("$CLITOOL" setgen "$T/c.img" $gen) || bad "setgen $c"
		one "$T/c.img" "$c, root (block $blk) generation $gen" "4"
	done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
