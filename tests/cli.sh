#!/bin/sh
# tests/cli.sh -- end-to-end tests of the wodanc multitool, run by
# `make check` with WODANC (path to the binary) and top_srcdir set.
#
# Covers: mkfs (create, refuse to overwrite, -F, dry run, usage errors),
# restore of doc/DUMP.md §8.1 and of a generated multi-leaf dump, dump
# round trips (restore -> dump A -> restore -> dump B, same records and
# trailer), key ranges, malformed dumps (each rejected naming a byte offset,
# image left clean), check (clean, JSON, corrupted node -> 4, missing
# device -> 8, usage -> 16), trim, and the global help.
# POSIX sh only (dash, bash, busybox sh); no python needed (used to
# validate JSON when present).

# ok, bad, show, run, expect_rc, expect_fail, check_that, hex2bin, bytes,
# json_ok, json_int, mkimg; $T, $BS, $KS
. "${top_srcdir:-.}/tests/clilib.sh"

# ---------------------------------------------------------- CRC32C in sh
# Table-driven CRC32C (Castagnoli, reflected 0x82F63B78); $crc is the
# running register (start 0xFFFFFFFF, final xor 0xFFFFFFFF).
crc_init() {
	i=0
	while [ $i -lt 256 ]; do
		c=$i k=0
		while [ $k -lt 8 ]; do
			if [ $((c & 1)) -eq 1 ]; then
				c=$(((c >> 1) ^ 0x82F63B78))
			else
				c=$((c >> 1))
			fi
			k=$((k + 1))
		done
		eval "CRCT_$i=$c"
		i=$((i + 1))
	done
}

# crc_feed N...: feed bytes with decimal values N... into $crc.
crc_feed() {
	t=0
	for b in "$@"; do
		eval "t=\$CRCT_$(((crc ^ b) & 255))"
		crc=$(((crc >> 8) ^ t))
	done
}

# ------------------------------------------------------------ fixtures
EX_HDR="d9d9f7 a3 6a776f64616e2d64756d70 01 68 6b65792d73697a65 04
	6a746f6d6273746f6e6573 f5"
EX_REC="82 44 00000001 42 6869"
EX_TRL="a2 67 7265636f726473 01 66 637263333263 1a 9ab2280a"
hex2bin "$EX_HDR $EX_REC $EX_TRL" >"$T/ex.cbor"
hex2bin "$EX_REC $EX_TRL" >"$T/ex.tail"       # 31 bytes
EMPTY_TRL="a2 67 7265636f726473 00 66 637263333263 00"
hex2bin "$EMPTY_TRL" >"$T/empty.tail"          # 18 bytes

# The CRC helper must reproduce the doc/DUMP.md check values (§4, §8.1).
crc_init
crc=4294967295
crc_feed 49 50 51 52 53 54 55 56 57
check_that "sh CRC32C of '123456789' is e3069283" \
	[ $((crc ^ 4294967295)) -eq $((0xe3069283)) ]
crc=4294967295
crc_feed 130 68 0 0 0 1 66 104 105
check_that "sh CRC32C of the example record is 9ab2280a" \
	[ $((crc ^ 4294967295)) -eq $((0x9ab2280a)) ]

# ----------------------------------------------------------------- help
expect_rc 0 "wodanc --help" "$WODANC" --help
for c in mkfs restore dump check trim bench fuzz; do
	grep -q "^  $c " "$T/out" || bad "--help lists $c"
done
expect_rc 0 "wodanc --version" "$WODANC" --version
expect_rc 0 "wodanc help mkfs" "$WODANC" help mkfs
for c in mkfs restore dump check trim; do
	run "$WODANC" $c --help
	if [ "$rc" -eq 0 ] && grep -q "^Usage: wodanc $c" "$T/out" &&
	    grep -Eq "Exit (codes|status)" "$T/out" &&
	    grep -q "Example" "$T/out"; then
		ok "$c --help"
	else
		bad "$c --help (exit $rc)"
	fi
done

# ---------------------------------------------------------------- usage
expect_rc 16 "no command -> 16" "$WODANC"
expect_rc 16 "unknown command -> 16" "$WODANC" frobnicate
expect_rc 16 "unknown global option -> 16" "$WODANC" --frobnicate
expect_rc 16 "bench with a bad option -> 16" "$WODANC" bench --no-such-option
expect_rc 16 "fuzz without arguments -> 16" "$WODANC" fuzz
expect_rc 16 "check without device -> 16" "$WODANC" check
expect_rc 16 "check unknown option -> 16" "$WODANC" check --bogus "$T/x"
expect_rc 16 "check two devices -> 16" "$WODANC" check "$T/x" "$T/y"
expect_rc 16 "mkfs --block-size 12x -> 16" \
	"$WODANC" mkfs "$T/u.img" --size 8M --block-size 12x
expect_rc 16 "mkfs --block-size 1000 -> 16" \
	"$WODANC" mkfs "$T/u.img" --size 8M --block-size 1000
expect_rc 16 "mkfs --key-size 0 -> 16" \
	"$WODANC" mkfs "$T/u.img" --size 8M --key-size 0
expect_rc 16 "mkfs --key-size 256 -> 16" \
	"$WODANC" mkfs "$T/u.img" --size 8M --key-size 256
expect_rc 16 "mkfs --size -1 -> 16" "$WODANC" mkfs "$T/u.img" --size -1
expect_rc 16 "mkfs --size overflow -> 16" \
	"$WODANC" mkfs "$T/u.img" --size 99999999999999999999
expect_rc 16 "mkfs --size missing argument -> 16" \
	"$WODANC" mkfs "$T/u.img" --size
expect_rc 16 "dump -o missing argument -> 16" "$WODANC" dump "$T/u.img" -o
expect_rc 16 "restore --size without --mkfs -> 16" \
	"$WODANC" restore "$T/u.img" --size 8M -i "$T/ex.cbor"
check_that "no file left by usage errors" [ ! -e "$T/u.img" ]

# ----------------------------------------------------------------- mkfs
IMG=$T/a.img
expect_fail "mkfs of a missing file without --size fails" \
	"$WODANC" mkfs "$IMG"
expect_rc 0 "mkfs -n on a new file" \
	"$WODANC" mkfs "$IMG" -n --size 8M --block-size $BS --key-size $KS
check_that "mkfs -n wrote nothing" [ ! -e "$IMG" ]
grep -q "3801" "$T/out" || bad "mkfs -n shows max value size 3801"
expect_rc 0 "mkfs new file (8M, bs 4096, ks 4)" \
	"$WODANC" mkfs "$IMG" --size 8M --block-size $BS --key-size $KS
expect_fail "mkfs again without -F refuses" \
	"$WODANC" mkfs "$IMG" --block-size $BS --key-size $KS
grep -q -- "-F" "$T/err" || bad "refusal names -F"
expect_rc 0 "mkfs -F overwrites" \
	"$WODANC" mkfs "$IMG" -F --block-size $BS --key-size $KS --json
check_that "mkfs --json is valid JSON" json_ok "$T/out"
check_that "mkfs --json reports 2048 blocks" \
	[ "$(json_int "$T/out" logical_size_blocks)" = 2048 ]
dd if=/dev/zero of="$T/zeros.img" bs=65536 count=16 2>/dev/null
expect_rc 0 "mkfs on a zeroed file needs no -F" \
	"$WODANC" mkfs "$T/zeros.img" --block-size $BS --key-size $KS

# -------------------------------------------------- restore and dump
expect_rc 0 "restore the doc/DUMP.md example" \
	"$WODANC" restore "$IMG" -i "$T/ex.cbor"
expect_rc 0 "dump it to a file (A)" "$WODANC" dump "$IMG" -o "$T/A.cbor"
check_that "A starts with the self-described tag d9d9f7" \
	[ "$(od -An -tx1 -N3 "$T/A.cbor" | tr -d ' \n')" = d9d9f7 ]
tail -c 31 "$T/A.cbor" >"$T/A.tail"
check_that "A ends with the example's record and trailer" \
	cmp -s "$T/A.tail" "$T/ex.tail"

mkimg "$T/b.img" || bad "mkfs b.img"
expect_rc 0 "restore A into a fresh image" \
	"$WODANC" restore "$T/b.img" -i "$T/A.cbor"
run "$WODANC" dump "$T/b.img"
cp "$T/out" "$T/B.cbor"
check_that "dump to stdout (B) exits 0" [ "$rc" -eq 0 ]
check_that "dump to stdout writes nothing on stderr" [ ! -s "$T/err" ]
check_that "A and B have the same size" \
	[ "$(wc -c <"$T/A.cbor")" -eq "$(wc -c <"$T/B.cbor")" ]
ndiff=$(cmp -l "$T/A.cbor" "$T/B.cbor" 2>/dev/null | wc -l)
check_that "A and B differ at most in the header fsid ($ndiff bytes)" \
	[ "$ndiff" -le 16 ]
tail -c 31 "$T/B.cbor" >"$T/B.tail"
check_that "A and B end with identical records and trailer" \
	cmp -s "$T/A.tail" "$T/B.tail"

# restore from stdin with --mkfs into a new file, then dump again
"$WODANC" restore "$T/c.img" --mkfs --size 8M --block-size $BS \
	<"$T/A.cbor" >"$T/out" 2>"$T/err"
rc=$?
check_that "restore --mkfs from stdin into a new file" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show "$T/err"
"$WODANC" dump "$T/c.img" >"$T/C.cbor" 2>"$T/err"
tail -c 31 "$T/C.cbor" >"$T/C.tail"
check_that "restore --mkfs round trip keeps the records" \
	cmp -s "$T/A.tail" "$T/C.tail"
expect_rc 0 "restore --json" "$WODANC" restore "$T/c.img" --json \
	-i "$T/A.cbor"
check_that "restore --json is valid JSON" json_ok "$T/out"
check_that "restore --json counts 1 record" \
	[ "$(json_int "$T/out" records)" = 1 ]

# key ranges
"$WODANC" dump "$IMG" --from 00000002 >"$T/r.cbor" 2>"$T/err"
tail -c 18 "$T/r.cbor" >"$T/r.tail"
check_that "dump --from 00000002 has no records" \
	cmp -s "$T/r.tail" "$T/empty.tail"
"$WODANC" dump "$IMG" --from 00000001 --to 00000002 >"$T/r.cbor" 2>"$T/err"
tail -c 31 "$T/r.cbor" >"$T/r.tail"
check_that "dump [00000001, 00000002) has the record" \
	cmp -s "$T/r.tail" "$T/ex.tail"
"$WODANC" dump "$IMG" --to 00000001 >"$T/r.cbor" 2>"$T/err"
tail -c 18 "$T/r.cbor" >"$T/r.tail"
check_that "dump --to 00000001 (exclusive) has no records" \
	cmp -s "$T/r.tail" "$T/empty.tail"
expect_rc 16 "dump --from with 3 hex digits -> 16" \
	"$WODANC" dump "$IMG" --from 123 -o "$T/r2.cbor"
expect_rc 16 "dump --from with 5 bytes -> 16" \
	"$WODANC" dump "$IMG" --from 0000000001 -o "$T/r2.cbor"
expect_rc 16 "dump --to not hex -> 16" \
	"$WODANC" dump "$IMG" --to zzzzzzzz -o "$T/r2.cbor"
check_that "no output file after a bad range" [ ! -e "$T/r2.cbor" ]

# ----------------------------------------------------------------- check
expect_rc 0 "check a clean image" "$WODANC" check "$IMG"
expect_rc 0 "check --json" "$WODANC" check --json "$IMG"
cp "$T/out" "$T/check.json"
check_that "check --json is valid JSON" json_ok "$T/check.json"
check_that "check --json: live_keys is 1" \
	[ "$(json_int "$T/check.json" live_keys)" = 1 ]
ROOT=$(json_int "$T/check.json" root_block)
check_that "check --json reports root_block" [ -n "$ROOT" ]
expect_rc 0 "check -q on a clean image" "$WODANC" check -q "$IMG"
check_that "check -q prints nothing when clean" [ ! -s "$T/out" ]
expect_rc 0 "check --rollback on a clean image" \
	"$WODANC" check --rollback "$IMG"
expect_rc 8 "check a missing device -> 8" "$WODANC" check "$T/missing.img"

# -------------------------------------------------------- bad dumps
cp "$IMG" "$T/before.img"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 01 66 637263333263 1a 9ab2" \
	>"$T/bad-truncated.cbor"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 01 66 637263333263 1a 9ab2280b" \
	>"$T/bad-crc.cbor"
hex2bin "d9d9f7 a3 6a776f64616e2d64756d70 01 68 6b65792d73697a65 08
	6a746f6d6273746f6e6573 f5 82 48 0000000000000001 42 6869 $EX_TRL" \
	>"$T/bad-keysize.cbor"
hex2bin "$EX_HDR $EX_REC $EX_TRL 00" >"$T/bad-trailing.cbor"
hex2bin "$EX_HDR 82 43 000001 42 6869 $EX_TRL" >"$T/bad-keylen.cbor"
hex2bin "$EX_REC $EX_TRL" >"$T/bad-notag.cbor"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 02 66 637263333263 1a 9ab2280a" \
	>"$T/bad-count.cbor"
hex2bin "$EX_HDR 82 44 00000001 5a ffffffff 6869 $EX_TRL" \
	>"$T/bad-hugelen.cbor"
for b in truncated crc keysize trailing keylen notag count hugelen; do
	run "$WODANC" restore "$IMG" -i "$T/bad-$b.cbor"
	if [ "$rc" -ne 0 ] && grep -Eq 'byte (offset )?[0-9]|offset [0-9]' \
	    "$T/err"; then
		ok "malformed dump ($b) rejected, naming the byte offset"
	else
		bad "malformed dump ($b): exit $rc, stderr:"
		show "$T/err"
	fi
	expect_rc 0 "check after the rejected $b dump" "$WODANC" check -q "$IMG"
done
"$WODANC" dump "$IMG" >"$T/D.cbor" 2>/dev/null
tail -c 31 "$T/D.cbor" >"$T/D.tail"
check_that "rejected dumps left the data unchanged" \
	cmp -s "$T/D.tail" "$T/ex.tail"

# superblock corruption: check -> 4, mkfs still refuses (magic intact)
cp "$T/before.img" "$T/sb.img"
printf 'X' | dd of="$T/sb.img" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_rc 4 "check with a corrupted superblock -> 4" "$WODANC" check "$T/sb.img"
expect_fail "mkfs refuses a damaged image without -F" \
	"$WODANC" mkfs "$T/sb.img" --block-size $BS --key-size $KS

# ------------------------------------- a multi-node tree, then damage it
# N records: key = 4-byte big-endian i, value = VLEN copies of a letter.
N=64
VLEN=500
GEN=$T/gen.cbor
hex2bin "$EX_HDR" >"$GEN"
crc=4294967295
i=1
while [ $i -le $N ]; do
	ch=$((97 + i % 26))
	letter=$(bytes $ch)
	hi=$((i >> 8)) lo=$((i & 255))
	{
		bytes 130 68 0 0 $hi $lo 89 $((VLEN >> 8)) $((VLEN & 255))
		printf "%${VLEN}s" "" | tr ' ' "$letter"
	} >>"$GEN"
	crc_feed 130 68 0 0 $hi $lo 89 $((VLEN >> 8)) $((VLEN & 255))
	j=0
	while [ $j -lt $VLEN ]; do
		crc_feed $ch $ch $ch $ch $ch $ch $ch $ch $ch $ch
		j=$((j + 10))
	done
	i=$((i + 1))
done
crc=$((crc ^ 4294967295))
{
	hex2bin "a2 67 7265636f726473 18"
	bytes $N
	hex2bin "66 637263333263 1a"
	bytes $(((crc >> 24) & 255)) $(((crc >> 16) & 255)) \
		$(((crc >> 8) & 255)) $((crc & 255))
} >>"$GEN"
TAILLEN=$((N * (VLEN + 9) + 23))

BIG=$T/big.img
mkimg "$BIG" || bad "mkfs big.img"
expect_rc 0 "restore $N records of $VLEN bytes" \
	"$WODANC" restore "$BIG" -i "$GEN"
expect_rc 0 "check the multi-node image" "$WODANC" check --json "$BIG"
cp "$T/out" "$T/big.json"
check_that "check --json counts $N live keys" \
	[ "$(json_int "$T/big.json" live_keys)" = $N ]
check_that "the tree has more than one level" \
	[ "$(json_int "$T/big.json" depth)" -ge 1 ]
expect_rc 0 "dump the multi-node image" "$WODANC" dump "$BIG" -o "$T/G2.cbor"
tail -c $TAILLEN "$GEN" >"$T/gen.tail"
tail -c $TAILLEN "$T/G2.cbor" >"$T/G2.tail"
check_that "dump of the multi-node image equals the generated records" \
	cmp -s "$T/gen.tail" "$T/G2.tail"
expect_rc 0 "restore the same dump again (overwrites)" \
	"$WODANC" restore "$BIG" -i "$GEN"
expect_rc 0 "check after the second restore" "$WODANC" check -q "$BIG"

# trim: discard unused blocks; the image stays clean
run "$WODANC" trim -v "$BIG"
if [ "$rc" -eq 0 ] && grep -q "bytes) trimmed" "$T/out"; then
	ok "trim -v"
elif grep -q "not supported" "$T/err"; then
	ok "trim -v (discard not supported here; skipped)"
else
	bad "trim -v (exit $rc)"
	show "$T/err"
fi
expect_rc 0 "check after trim" "$WODANC" check -q "$BIG"
expect_rc 0 "trim --live (nothing freed since open) -> 0" \
	"$WODANC" trim --live --json "$BIG"
"$WODANC" trim --live --json "$BIG" > "$T/live.json" 2>/dev/null
if grep -q '"trimmed_blocks": *0' "$T/live.json"; then
	ok "trim --live --json reports 0 blocks"
else
	bad "trim --live --json output"
	show "$T/live.json"
fi
expect_rc 0 "mkfs -F --no-discard" "$WODANC" mkfs -F --no-discard \
	--size 8M --block-size 4096 --key-size 4 "$T/nodiscard.img"

# Damage one child node: with one image written by mkfs plus one restore
# flush, blocks whose first byte is 2 (node type "child") are live nodes.
# (A fresh sparse file: every other block is zero or a root/preroot.)
mkimg "$T/big2.img" || bad "mkfs big2.img"
"$WODANC" restore "$T/big2.img" -i "$GEN" >/dev/null 2>&1
dd if=/dev/zero of="$T/zero8m" bs=65536 count=128 2>/dev/null
CHILD=$(cmp -l "$T/zero8m" "$T/big2.img" 2>/dev/null |
	awk -v bs=$BS '{ p = $1 - 1; if (p % bs == 0 && $3 == 2) {
		print p / bs; exit } }')
if [ -n "$CHILD" ]; then
	OFF=$((CHILD * BS + 100))
	what="child node at block $CHILD"
else
	"$WODANC" check --json "$T/big2.img" >"$T/b2.json" 2>/dev/null
	OFF=$(($(json_int "$T/b2.json" root_block) * BS + 100))
	what="root block"
fi
printf 'X' | dd of="$T/big2.img" bs=1 seek=$OFF conv=notrunc 2>/dev/null
expect_rc 4 "check finds the damaged $what -> 4" "$WODANC" check "$T/big2.img"
expect_rc 4 "check --json with problems -> 4" \
	"$WODANC" check --json "$T/big2.img"
cp "$T/out" "$T/bad.json"
check_that "check --json with problems is valid JSON" json_ok "$T/bad.json"
if [ -n "$CHILD" ]; then
	check_that "the problem names block $CHILD" \
		grep -q "\"block\": ${CHILD}[,}]" "$T/bad.json"
	run "$WODANC" dump "$T/big2.img" -o "$T/G3.cbor"
	check_that "dump of the damaged image fails" [ "$rc" -ne 0 ]
	check_that "no partial dump file is left" [ ! -e "$T/G3.cbor" ]
fi

# -------------------------------------------------------------- journal
# mkfs --journal sets incompat 0x10; restore, check, dump round-trip, and
# the check counts what a mount sees (journal replayed)
expect_rc 0 "mkfs --journal" "$WODANC" mkfs "$T/j.img" --size 8M \
	--block-size $BS --key-size $KS --journal --json
check_that "mkfs --json says journal true" grep -q '"journal": true' "$T/out"
check_that "incompat flags 0x1f (31)" grep -q '"incompat_flags": 31' "$T/out"
expect_rc 0 "restore into a journal image" \
	"$WODANC" restore "$T/j.img" -i "$GEN"
expect_rc 0 "check of the journal image -> 0" \
	"$WODANC" check --json "$T/j.img"
JLIVE=$(json_int "$T/out" live_keys)
expect_rc 0 "dump of the journal image" "$WODANC" dump "$T/j.img" \
	-o "$T/J.cbor"
"$WODANC" mkfs "$T/nj.img" --size 8M --block-size $BS --key-size $KS \
	>/dev/null 2>&1
"$WODANC" restore "$T/nj.img" -i "$GEN" >/dev/null 2>&1
"$WODANC" check --json "$T/nj.img" >"$T/nj.json" 2>/dev/null
check_that "journal and plain images hold the same number of keys" \
	[ "${JLIVE:-none}" = "$(json_int "$T/nj.json" live_keys)" ]
"$WODANC" dump "$T/nj.img" -o "$T/NJ.cbor" >/dev/null 2>&1
# the dumps differ only in the header's generation and the trailer's CRC
check_that "journal and plain images dump the same bytes of records" \
	[ "$(wc -c <"$T/J.cbor")" = "$(wc -c <"$T/NJ.cbor")" ]

finish
