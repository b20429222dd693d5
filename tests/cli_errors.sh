#!/bin/sh
# tests/cli_errors.sh -- wodanc refusing to destroy and saying what is
# wrong, run by `make check` with WODANC and top_srcdir set:
#   * mkfs refuses, without -F, a target holding anything (an ext4 file
#     system, a dos or gpt partition table, random bytes, data further in
#     the first MiB) and leaves it unchanged; accepts empty and all-zero
#     files, and anything with -F;
#   * mkfs refuses a size that cannot take one record and its flush,
#     naming the smallest size; exactly that size takes a record;
#   * open failures name the cause (missing file, directory, truncated
#     image, no image at all) with the exit code of the one table;
#   * output errors (>/dev/full) exit 8; --json failures print one JSON
#     error object; every --help shows the exit status table;
#   * option aliases: mkfs -b/-q, check -n/-f, trim -n/-o/-l/-m.
# Helper: tests/clitool (built by make), next to wodanc/ in the build tree.
# POSIX sh.

# ok, bad, show, run, expect_rc, check_that; $T
. "${top_srcdir:-.}/tests/clilib.sh"
CLITOOL=${CLITOOL:-$(dirname "$WODANC")/../tests/clitool}

# err_has TEXT: stderr of the last run contains TEXT (fixed string)
err_has() { grep -qF -- "$1" "$T/err"; }
out_has() { grep -qF -- "$1" "$T/out"; }
have_python=no
command -v python3 >/dev/null 2>&1 && have_python=yes
json_ok() {
	[ "$have_python" = no ] && return 0
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$1"
}
json_int() { sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1"; }
# one_json_error: stdout is exactly one line, a JSON object with "error"
one_json_error() {
	[ "$(wc -l <"$T/out")" -eq 1 ] && grep -q '^{"error": {' "$T/out" &&
	    json_ok "$T/out"
}

[ -x "$CLITOOL" ] || { echo "missing $CLITOOL (make builds it)"; exit 99; }

# doc/DUMP.md §8.1: one record (key 00000001, value "hi"), key size 4.
printf '\331\331\367\243\152wodan-dump\001\150key-size\004\152tombstones\365\202\104\000\000\000\001\102hi\242\147records\001\146crc32c\032\232\262\050\012' \
	>"$T/ex.cbor"

# -------------------------------------------- mkfs refuses foreign data
# refused NAME DESC WHAT: mkfs of $T/NAME without -F exits 1, says WHAT
# and -F, and leaves the file byte for byte as it was; -F then formats it.
refused() {
	f=$T/$1
	cp "$f" "$T/copy"
	run "$WODANC" mkfs "$f" --block-size 4096 --key-size 4
	if [ "$rc" -eq 1 ] && err_has "$3" && err_has "-F"; then
		ok "mkfs refuses $2 ($(head -c 160 "$T/err"))"
	else
		bad "mkfs over $2: exit $rc, wanted 1 naming '$3' and -F"
		show "$T/err"
	fi
	check_that "$2 left unchanged" cmp -s "$f" "$T/copy"
	expect_rc 0 "mkfs -F over $2" "$WODANC" mkfs -q -F "$f" --block-size 4096 \
		--key-size 4
	expect_rc 0 "check after mkfs -F over $2" "$WODANC" check -q "$f"
}

if command -v mke2fs >/dev/null 2>&1 || [ -x /sbin/mke2fs ] ||
   [ -x /usr/sbin/mke2fs ]; then
	MKE2FS=$(command -v mke2fs || ls /usr/sbin/mke2fs /sbin/mke2fs \
		2>/dev/null | head -n 1)
	dd if=/dev/zero of="$T/ext4.img" bs=1024 count=4096 2>/dev/null
	"$MKE2FS" -q -F -t ext4 -L wodantest "$T/ext4.img" >/dev/null 2>&1
	refused ext4.img "an ext4 file system" "contains an ext4 file system (label 'wodantest', UUID"
else
	# no e2fsprogs: a minimal ext2 superblock (libblkid checks the magic
	# 0xEF53 at byte 1080 and a few sane fields)
	echo "# mke2fs not found: a hand-made ext2 superblock"
	dd if=/dev/zero of="$T/ext4.img" bs=1024 count=4096 2>/dev/null
	# s_inodes_count 16, s_blocks_count 4096, s_log_block_size 0,
	# s_blocks_per_group 8192, s_inodes_per_group 16, s_rev_level 1,
	# s_magic 0xEF53
	printf '\020\000\000\000\000\020\000\000' |
		dd of="$T/ext4.img" bs=1 seek=1024 conv=notrunc 2>/dev/null
	printf '\000\040\000\000' |
		dd of="$T/ext4.img" bs=1 seek=1056 conv=notrunc 2>/dev/null
	printf '\020\000\000\000' |
		dd of="$T/ext4.img" bs=1 seek=1064 conv=notrunc 2>/dev/null
	printf '\123\357' |
		dd of="$T/ext4.img" bs=1 seek=1080 conv=notrunc 2>/dev/null
	printf '\001\000\000\000' |
		dd of="$T/ext4.img" bs=1 seek=1100 conv=notrunc 2>/dev/null
	refused ext4.img "an ext2 signature" "contains an ext2 file system"
fi

SEED=${WODAN_TEST_SEED:-$(date +%s)}
echo "# random bytes: seed $SEED (WODAN_TEST_SEED=$SEED to replay)"
"$CLITOOL" random "$SEED" 1048576 >"$T/random.img"
refused random.img "a file of random bytes" "holds data"

# data only at byte 700000 (past block 0, inside the first MiB)
dd if=/dev/zero of="$T/late.img" bs=65536 count=32 2>/dev/null
printf 'x' | dd of="$T/late.img" bs=1 seek=700000 conv=notrunc 2>/dev/null
refused late.img "a file with one byte of data at 700000" \
	"non-zero byte at offset 700000"

# a dos partition table: one partition (type 0x83 at sector 2048) and the
# boot signature 55 aa
dd if=/dev/zero of="$T/mbr.img" bs=65536 count=32 2>/dev/null
printf '\000\040\041\000\203\001\001\000\000\010\000\000\000\010\000\000' |
	dd of="$T/mbr.img" bs=1 seek=446 conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$T/mbr.img" bs=1 seek=510 conv=notrunc 2>/dev/null
cp "$T/mbr.img" "$T/mbr.orig"
refused mbr.img "a dos partition table" "contains a dos partition table"

dd if=/dev/zero of="$T/gpt.img" bs=65536 count=32 2>/dev/null
"$CLITOOL" gpt "$T/gpt.img" || bad "clitool gpt"
refused gpt.img "a gpt partition table" "contains a gpt partition table"

# a wodan image: refused naming its generation
"$WODANC" mkfs -q "$T/w.img" --size 1M --block-size 4096 --key-size 4
refused w.img "a wodan image" "already holds a wodan image (generation 1)"

# accepted without -F: a new file, an empty file, an all-zero file
expect_rc 0 "mkfs of a new file" "$WODANC" mkfs -q "$T/new.img" --size 1M \
	-b 4096 --key-size 4
: >"$T/empty.img"
expect_rc 0 "mkfs of an existing empty file (--size)" \
	"$WODANC" mkfs -q "$T/empty.img" --size 1M --block-size 4096 --key-size 4
dd if=/dev/zero of="$T/zero.img" bs=65536 count=32 2>/dev/null
expect_rc 0 "mkfs of an all-zero file" \
	"$WODANC" mkfs -q "$T/zero.img" --block-size 4096 --key-size 4

# the dry run names what it found; --json refusal is one error object
cp "$T/mbr.orig" "$T/mbr.img"
expect_rc 0 "mkfs -n over a partition table" \
	"$WODANC" mkfs -n "$T/mbr.img" --block-size 4096
check_that "mkfs -n notes the partition table" \
	out_has "DEVICE contains a dos partition table; -F is needed"
expect_rc 1 "mkfs --json over a partition table -> 1" \
	"$WODANC" mkfs --json "$T/mbr.img" --block-size 4096
check_that "mkfs --json refusal: one JSON error object on stdout" \
	one_json_error
check_that "partition table still unchanged" cmp -s "$T/mbr.img" "$T/mbr.orig"

# ------------------------------------------------- smallest usable image
expect_rc 1 "mkfs --size 512K (2 blocks of 256K) is refused" \
	"$WODANC" mkfs "$T/small.img" --size 512K
check_that "the refusal names the smallest size, --size 786432" \
	err_has "--size 786432 (768 KiB)"
check_that "no file left behind" [ ! -e "$T/small.img" ]
for g in "4096 " "65536 " "262144 " "4096 --journal" "1024 --journal"; do
	set -- $g
	bs=$1 j=${2:-}
	min=$((3 * bs))
	rm -f "$T/min.img"
	expect_rc 1 "mkfs --block-size $bs $j --size $((min - bs)) (one block short)" \
		"$WODANC" mkfs "$T/min.img" --block-size $bs $j --key-size 4 \
		--size $((min - bs))
	check_that "... names --size $min" err_has "--size $min "
	expect_rc 0 "mkfs --block-size $bs $j --size $min (the smallest)" \
		"$WODANC" mkfs -q "$T/min.img" --block-size $bs $j --key-size 4 \
		--size $min
	expect_rc 0 "... takes a record and its flush (restore)" \
		"$WODANC" restore "$T/min.img" -i "$T/ex.cbor"
	expect_rc 0 "... and again (second flush)" \
		"$WODANC" restore "$T/min.img" -i "$T/ex.cbor"
	expect_rc 0 "... check is clean" "$WODANC" check -q "$T/min.img"
done
dd if=/dev/zero of="$T/two.img" bs=4096 count=2 2>/dev/null
expect_rc 1 "mkfs of an existing 2-block file is refused" \
	"$WODANC" mkfs "$T/two.img" --block-size 4096
check_that "... naming --size 12288" err_has "--size 12288 "

# ------------------------------------------------------- open failures
expect_rc 8 "check of a missing file -> 8" "$WODANC" check "$T/missing.img"
check_that "... says No such file or directory" \
	err_has "missing.img: No such file or directory"
check_that "... and not an I/O error" sh -c "! grep -q 'I/O error' '$T/err'"
expect_rc 8 "trim of a missing file -> 8" "$WODANC" trim "$T/missing.img"
check_that "... says No such file or directory" \
	err_has "No such file or directory"
mkdir "$T/dir"
expect_rc 8 "check of a directory -> 8" "$WODANC" check "$T/dir"
check_that "... says is a directory" err_has "dir: is a directory"
check_that "... without a block device hint" \
	sh -c "! grep -q 'block device' '$T/err'"
expect_rc 8 "mkfs of a directory -> 8" "$WODANC" mkfs "$T/dir" --block-size 4096
check_that "... says is a directory" err_has "is a directory"

"$WODANC" mkfs -q "$T/trunc.img" --size 16M --block-size 64K --key-size 4
"$WODANC" restore "$T/trunc.img" -i "$T/ex.cbor" >/dev/null 2>&1
dd if="$T/trunc.img" of="$T/half.img" bs=1048576 count=8 2>/dev/null
expect_rc 4 "check of an image truncated to half -> 4" \
	"$WODANC" check "$T/half.img"
check_that "... says the file is 8 MiB but the superblock records 16 MiB" \
	err_has "the file is 8 MiB but its superblock records 16 MiB"
expect_rc 4 "trim of the truncated image -> 4" "$WODANC" trim "$T/half.img"
check_that "... says the same" \
	err_has "the file is 8 MiB but its superblock records 16 MiB"

expect_rc 8 "check ram:64M (all zeros) -> 8" "$WODANC" check ram:64M
check_that "... says it holds no wodan image (no superblock)" \
	err_has "ram:64M: holds no wodan image (no superblock)"
dd if=/dev/zero of="$T/zero2.img" bs=65536 count=4 2>/dev/null
expect_rc 8 "check of an all-zero file -> 8" "$WODANC" check "$T/zero2.img"
check_that "... says no superblock" err_has "holds no wodan image (no superblock)"
expect_rc 8 "check --json of a missing file -> 8" \
	"$WODANC" check --json "$T/missing.img"
check_that "... prints one JSON error object" one_json_error

# ------------------------------------------------------- output errors
if [ -w /dev/full ]; then
	"$WODANC" mkfs -q "$T/o.img" --size 1M --block-size 4096 --key-size 4
	for c in "check $T/o.img" "check --json $T/o.img" \
	    "trim -v $T/o.img" "trim --json $T/o.img" \
	    "mkfs -F --block-size 4096 $T/o.img" "mkfs --json -F --block-size 4096 $T/o.img" \
	    "mkfs -n --block-size 4096 $T/o.img" "check --help" "mkfs --help" \
	    "bench --workload index --n 50" "fuzz --ops 20 --seed 1"; do
		# shellcheck disable=SC2086
		"$WODANC" $c >/dev/full 2>"$T/err"
		rc=$?
		if [ "$rc" -eq 8 ] &&
		    err_has "cannot write to standard output"; then
			ok "$c >/dev/full -> 8"
		else
			bad "$c >/dev/full: exit $rc, wanted 8"
			show "$T/err"
		fi
	done
else
	echo "# /dev/full not writable: output error tests skipped"
fi

expect_rc 8 "trim --json of a missing file -> 8" \
	"$WODANC" trim --json "$T/missing.img"
check_that "... prints one JSON error object" one_json_error
expect_rc 8 "bench --json on a missing directory -> 8" \
	"$WODANC" bench --json --n 50 --device "$T/no/such/dir/b.img"
check_that "... prints one JSON error object" one_json_error
expect_rc 8 "mkfs --json of a missing file without --size -> 8" \
	"$WODANC" mkfs --json "$T/missing.img"
check_that "... prints one JSON error object" one_json_error

# ------------------------------------------------ exit status in --help
expect_rc 0 "wodanc --help" "$WODANC" --help
check_that "--help prints the exit status table" \
	grep -q "^  16  usage error" "$T/out"
check_that "--help: 8 is operational error" \
	grep -q "^   8  operational error" "$T/out"
check_that "--help: no per-command exit codes any more" \
	sh -c "! grep -q 'check follows fsck' '$T/out'"
for c in mkfs check trim bench fuzz; do
	run "$WODANC" $c --help
	if [ "$rc" -eq 0 ] && out_has "Exit status: 0 done, 1 failed, 4 problems found, 8 operational"; then
		ok "$c --help shows the exit status line"
	else
		bad "$c --help: exit status line missing (exit $rc)"
	fi
done
run "$WODANC" fuzz --help
check_that "fuzz --help explains --magic-seal and its -F" \
	sh -c "grep -q 'magic-seal IMAGE -F' '$T/out' &&
	       grep -q 'REWRITES IMAGE IN PLACE' '$T/out'"

# ------------------------------------------------------ option aliases
expect_rc 0 "mkfs -b 4K -q" "$WODANC" mkfs -b 4K -q "$T/b.img" --size 1M \
	--key-size 4
check_that "mkfs -q prints nothing" [ ! -s "$T/out" ]
"$WODANC" check --json "$T/b.img" >"$T/b.json" 2>/dev/null
check_that "mkfs -b 4K made 4096-byte blocks" \
	[ "$(json_int "$T/b.json" block_size_bytes)" = 4096 ]
expect_rc 16 "mkfs -b 1000 -> 16" "$WODANC" mkfs -b 1000 "$T/b2.img" \
	--size 1M
expect_rc 0 "check -n -f on a clean image" "$WODANC" check -n -f "$T/b.img"
check_that "check -n -f prints the report" out_has "result:             clean"

# trim -n / -o / -l / -m on an image over random bytes (formatted
# without discard: free blocks keep their bytes until trimmed)
"$CLITOOL" random "$SEED" 8388608 >"$T/t.img"
"$WODANC" mkfs -q -F --no-discard "$T/t.img" --block-size 4096 --key-size 4
"$WODANC" restore "$T/t.img" -i "$T/ex.cbor" >/dev/null 2>&1
cp "$T/t.img" "$T/t0.img"
expect_rc 0 "trim -n --json" "$WODANC" trim -n --json "$T/t.img"
ALL=$(json_int "$T/out" trimmed_bytes)
check_that "trim -n reports most of the 8 MiB ($ALL bytes)" \
	[ "${ALL:-0}" -gt 8000000 ]
check_that "trim -n changed nothing" cmp -s "$T/t.img" "$T/t0.img"
expect_rc 0 "trim -n -v" "$WODANC" trim -n -v "$T/t.img"
check_that "trim -n -v says would be trimmed" out_has "would be trimmed (dry run)"
expect_rc 0 "trim -n -m 9M" "$WODANC" trim -n --json -m 9M "$T/t.img"
check_that "no free run reaches 9M: 0 bytes" \
	[ "$(json_int "$T/out" trimmed_bytes)" = 0 ]
expect_rc 0 "trim -n -o 9M" "$WODANC" trim -n --json -o 9M "$T/t.img"
check_that "nothing past the image: 0 bytes" \
	[ "$(json_int "$T/out" trimmed_bytes)" = 0 ]
expect_rc 0 "trim -n -o 1M -l 1M" "$WODANC" trim -n --json -o 1M -l 1M \
	"$T/t.img"
R=$(json_int "$T/out" trimmed_bytes)
check_that "-o 1M -l 1M: at most 1 MiB, at least 1 MiB less two blocks ($R)" \
	[ "${R:-0}" -le 1048576 ] && [ "${R:-0}" -ge $((1048576 - 8192)) ]
# the baseline: a trim that discards nothing (-m larger than the image)
# still opens and closes the image writable, which may write a block; the
# range trim must differ from it only inside [1M, 2M)
cp "$T/t.img" "$T/tb.img"
expect_rc 0 "trim -m 9M (discards nothing)" "$WODANC" trim --json -m 9M \
	"$T/tb.img"
check_that "trim -m 9M: 0 bytes" [ "$(json_int "$T/out" trimmed_bytes)" = 0 ]
expect_rc 0 "trim -o 1M -l 1M" "$WODANC" trim --json -o 1M -l 1M "$T/t.img"
check_that "trim -o 1M -l 1M discarded $R bytes" \
	[ "$(json_int "$T/out" trimmed_bytes)" = "$R" ]
region() { dd if="$1" bs=65536 skip=$2 count=$3 2>/dev/null; }
region "$T/t.img" 0 16 >"$T/a1"; region "$T/tb.img" 0 16 >"$T/b1"
region "$T/t.img" 32 96 >"$T/a2"; region "$T/tb.img" 32 96 >"$T/b2"
region "$T/t.img" 16 16 >"$T/a3"; region "$T/tb.img" 16 16 >"$T/b3"
check_that "bytes before 1M untouched" cmp -s "$T/a1" "$T/b1"
check_that "bytes from 2M on untouched" cmp -s "$T/a2" "$T/b2"
check_that "free blocks in [1M, 2M) discarded" sh -c "! cmp -s '$T/a3' '$T/b3'"
expect_rc 0 "check after the range trim" "$WODANC" check -q "$T/t.img"
expect_rc 0 "trim -m 2M (runs of 2 MiB or more)" \
	"$WODANC" trim --json -m 2M "$T/t.img"
expect_rc 16 "trim --live -n -> 16" "$WODANC" trim --live -n "$T/t.img"
expect_rc 16 "trim -o x -> 16" "$WODANC" trim -o x "$T/t.img"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
