#!/bin/sh
# tests/cli_kv.sh -- the everyday key commands of wodanc: get, put, del, ls,
# info.  Run by `make check` with WODANC and top_srcdir set.
#
# Covers: put/get round trips (literal, --hex, values with NUL bytes from a
# file and from standard input); a value of exactly max_value_bytes and one
# byte over (refused naming both sizes, image byte-identical); the empty
# value (refused with tombstones, stored without); del then get (exit 1),
# del of an absent key (1, or 0 with -f), del on an image without
# tombstones (a clear error); ls order and --from/--to/--prefix with short
# prefixes against lists computed here with sort and awk, --limit,
# --values, --json; info (text and --json fields, journal and
# no-tombstone images); --key-text (padding, escapes, round trip); bad
# keys (wrong length, bad hex, 10,000 digits) exit 16 with a short
# message; a missing image and a directory exit 8; get/ls/info >/dev/full
# exit 8; --help texts.  Randomness: awk srand with the seed printed below.
# POSIX sh.

. "${top_srcdir:-.}/tests/clilib.sh"

SEED=${SEED:-$(date +%s)}
echo "# seed $SEED (rerun with SEED=$SEED)"
W=$WODANC

# same FILE1 FILE2: byte-identical files.
same() { cmp -s "$1" "$2"; }

# err_has TEXT: the last command's stderr contains TEXT.
err_has() { grep -q -- "$1" "$T/err"; }

# ------------------------------------------------------------ fixtures
mkimg "$T/a.img" || bad "mkfs a.img"
expect_rc 0 "info --json on a fresh image" "$W" info "$T/a.img" --json
cp "$T/out" "$T/info.json"
MAX=$(json_int "$T/info.json" max_value_bytes)
echo "# max_value_bytes $MAX"
check_that "info --json is valid JSON" json_ok "$T/info.json"
check_that "info --json: key_size 4, block_size 4096" \
	test "$(json_int "$T/info.json" key_size)" = 4 -a \
	"$(json_int "$T/info.json" block_size)" = 4096
check_that "info --json: max_value_bytes is a positive number" \
	test "${MAX:-0}" -gt 0
check_that "info --json: tombstones true, journal false, flags named" \
	test "$(json_str "$T/info.json" tombstones)" = true -a \
	"$(json_str "$T/info.json" journal)" = false
check_that "info --json: flags list tombstones, incompat_flags 15" \
	grep -q '"flags": \["rdepth", "fsid", "value_count", "tombstones"\]' \
	"$T/info.json"
check_that "info --json: device_bytes = 8 MiB, 2048 blocks" \
	test "$(json_int "$T/info.json" device_bytes)" = 8388608 -a \
	"$(json_int "$T/info.json" logical_size_blocks)" = 2048
GEN0=$(json_int "$T/info.json" generation)

# ------------------------------------------------------------ put / get
expect_rc 0 "put a literal value" "$W" put "$T/a.img" 0000002a 'hello world'
expect_rc 0 "get it back" "$W" get "$T/a.img" 0000002a
printf 'hello world' >"$T/want"
check_that "get prints exactly the raw bytes (no newline)" same "$T/out" "$T/want"
"$W" info "$T/a.img" --json >"$T/i2.json" 2>/dev/null
check_that "put flushed: the generation grew" \
	test "$(json_int "$T/i2.json" generation)" -gt "$GEN0"
expect_rc 0 "get --hex" "$W" get "$T/a.img" 0000002A --hex
check_that "get --hex prints hex and a newline (upper-case KEY accepted)" \
	test "$(cat "$T/out")" = 68656c6c6f20776f726c64
expect_rc 0 "put overwrites" "$W" put "$T/a.img" 0000002a 'bye'
"$W" get "$T/a.img" 0000002a >"$T/out" 2>/dev/null
check_that "the new value replaced the old" test "$(cat "$T/out")" = bye

expect_rc 0 "put --hex with NUL bytes" "$W" put "$T/a.img" 00000001 --hex 00ff0000
bytes 0 255 0 0 >"$T/want"
"$W" get "$T/a.img" 00000001 >"$T/out"
check_that "get returns the NUL bytes of a --hex value" same "$T/out" "$T/want"

# a binary value from a file: every byte value, NULs included
awk 'BEGIN { for (i = 0; i < 256; i++) printf "%d\n", (i * 7) % 256 }' \
	>"$T/b.lst"
# shellcheck disable=SC2046
bytes $(cat "$T/b.lst") >"$T/bin.val"
check_that "the binary test value is 256 bytes" \
	test "$(wc -c <"$T/bin.val")" -eq 256
expect_rc 0 "put -i FILE (binary)" "$W" put "$T/a.img" 00000002 -i "$T/bin.val"
"$W" get "$T/a.img" 00000002 >"$T/out"
check_that "binary value from a file round-trips" same "$T/out" "$T/bin.val"
run "$W" put "$T/a.img" 00000003 -i - <"$T/bin.val"
check_that "put -i - (standard input) exits 0" test "$rc" -eq 0
"$W" get "$T/a.img" 00000003 >"$T/out"
check_that "binary value from standard input round-trips" \
	same "$T/out" "$T/bin.val"
cat "$T/bin.val" | "$W" put "$T/a.img" 00000004 -i - 2>"$T/err"
check_that "put -i - from a pipe exits 0" test $? -eq 0
"$W" get "$T/a.img" 00000004 --hex >"$T/out"
od -An -v -tx1 "$T/bin.val" | tr -d ' \n' >"$T/want"
echo >>"$T/want"
check_that "get --hex of the binary value matches od" same "$T/out" "$T/want"

# ---------------------------------------------- max_value_bytes boundary
yes 'abcdefghij0123456789' | tr -d '\n' | head -c "$MAX" >"$T/max.val"
yes 'ABCDEFGHIJ0123456789' | tr -d '\n' | head -c $((MAX + 1)) >"$T/over.val"
expect_rc 0 "put a value of exactly max_value_bytes ($MAX)" \
	"$W" put "$T/a.img" 00000005 -i "$T/max.val"
"$W" get "$T/a.img" 00000005 >"$T/out"
check_that "the max-size value round-trips" same "$T/out" "$T/max.val"
cp "$T/a.img" "$T/before.img"
expect_rc 1 "put a value one byte over max_value_bytes (file) exits 1" \
	"$W" put "$T/a.img" 00000005 -i "$T/over.val"
check_that "the refusal names both sizes" \
	err_has "is $((MAX + 1)) bytes, more than the image's max value size of $MAX bytes"
check_that "the refused put left the image byte-identical" \
	same "$T/a.img" "$T/before.img"
run sh -c "cat '$T/over.val' | '$W' put '$T/a.img' 00000005 -i -"
check_that "one byte over from a pipe: exit 1, names the limit" \
	test "$rc" -eq 1 -a -n "$(grep "more than the image's max value size of $MAX bytes" "$T/err")"
check_that "the refused pipe put left the image byte-identical" \
	same "$T/a.img" "$T/before.img"
expect_rc 1 "a literal VALUE one byte over max exits 1" \
	"$W" put "$T/a.img" 00000005 "$(cat "$T/over.val")"
check_that "the literal refusal names both sizes" \
	err_has "is $((MAX + 1)) bytes, more than the image's max value size of $MAX bytes"
# a huge sparse file is refused by its size, without being read
if truncate -s 10G "$T/huge.val" 2>/dev/null; then
	expect_rc 1 "a 10 GiB value file is refused" \
		"$W" put "$T/a.img" 00000005 -i "$T/huge.val"
	check_that "the 10 GiB refusal names its size" err_has "10737418240 bytes"
	rm -f "$T/huge.val"
else
	echo "# truncate missing: skipped the 10 GiB value file"
fi
check_that "the image is still byte-identical" same "$T/a.img" "$T/before.img"
"$W" get "$T/a.img" 00000005 >"$T/out"
check_that "the old value survived the refusals" same "$T/out" "$T/max.val"

# a put waiting for its standard input holds no lock: another writer
# gets through meanwhile (the value is read before the writable open)
( sleep 3; printf slow ) | "$W" put "$T/a.img" 0000000b -i - 2>"$T/slow.err" &
slowpid=$!
sleep 1
expect_rc 0 "a put runs while another put waits for its standard input" \
	"$W" put "$T/a.img" 0000000c quick
wait "$slowpid"
check_that "the waiting put then stores its value" \
	test $? -eq 0 -a "$("$W" get "$T/a.img" 0000000b 2>&1)" = slow
"$W" del "$T/a.img" 0000000b 2>/dev/null
"$W" del "$T/a.img" 0000000c 2>/dev/null

# on a journal image a writable open writes (a checkpoint): a refused put
# must not get that far
mkimg "$T/jr.img" --journal || bad "mkfs jr.img"
"$W" put "$T/jr.img" 00000001 one 2>/dev/null
cp "$T/jr.img" "$T/before.img"
expect_rc 1 "a value over max_value_bytes on a journal image exits 1" \
	"$W" put "$T/jr.img" 00000002 -i "$T/over.val"
expect_rc 16 "a bad key on a journal image exits 16" \
	"$W" put "$T/jr.img" 0002 v
expect_rc 1 "del of an absent key on a journal image exits 1" \
	"$W" del "$T/jr.img" 00000002
expect_rc 0 "del -f of an absent key on a journal image exits 0" \
	"$W" del -f "$T/jr.img" 00000002
check_that "the refused puts and dels left the journal image byte-identical" \
	same "$T/jr.img" "$T/before.img"
expect_rc 0 "del of a present key on a journal image" \
	"$W" del "$T/jr.img" 00000001
expect_rc 1 "...and it is gone" "$W" get "$T/jr.img" 00000001

# ---------------------------------------------------------- empty value
expect_rc 1 "put of an empty value on a tombstone image is refused" \
	"$W" put "$T/a.img" 00000002 ''
check_that "the refusal points to del" err_has "wodanc del"
"$W" get "$T/a.img" 00000002 >"$T/out"
check_that "the key refused an empty value kept its value" \
	same "$T/out" "$T/bin.val"

# ------------------------------------------------------------------ del
expect_rc 0 "del an existing key" "$W" del "$T/a.img" 00000001
expect_rc 1 "get after del exits 1" "$W" get "$T/a.img" 00000001
check_that "get says 'key KEY not found' naming the device" \
	err_has "wodanc get: $T/a.img: key 00000001 not found"
check_that "nothing on stdout for a missing key" test ! -s "$T/out"
expect_rc 1 "del of an absent key exits 1" "$W" del "$T/a.img" 00000001
check_that "del says not found" err_has "key 00000001 not found"
cp "$T/a.img" "$T/before.img"
expect_rc 0 "del -f of an absent key exits 0" "$W" del -f "$T/a.img" 00000001
check_that "del -f of an absent key wrote nothing" same "$T/a.img" "$T/before.img"

mkimg "$T/nt.img" --no-tombstones || bad "mkfs nt.img"
expect_rc 0 "put on a no-tombstone image" "$W" put "$T/nt.img" 00000007 seven
cp "$T/nt.img" "$T/before.img"
expect_rc 1 "del on a no-tombstone image exits 1" "$W" del "$T/nt.img" 00000007
check_that "del explains the image has no tombstones" \
	err_has "has no tombstones"
check_that "the refused del left the image byte-identical" \
	same "$T/nt.img" "$T/before.img"
expect_rc 0 "an empty value is an ordinary value without tombstones" \
	"$W" put "$T/nt.img" 00000008 ''
expect_rc 0 "get of the empty value exits 0" "$W" get "$T/nt.img" 00000008
check_that "get of the empty value prints nothing" test ! -s "$T/out"
"$W" info "$T/nt.img" --json >"$T/nt.json" 2>/dev/null
check_that "info --json: tombstones false on a --no-tombstones image" \
	test "$(json_str "$T/nt.json" tombstones)" = false

mkimg "$T/j.img" --journal || bad "mkfs j.img"
expect_rc 0 "put on a journal image" "$W" put "$T/j.img" 00000009 nine
expect_rc 0 "info --json on a journal image" "$W" info "$T/j.img" --json
check_that "info --json: journal true, journal_commits_replayed present" \
	test "$(json_str "$T/out" journal)" = true -a \
	-n "$(json_int "$T/out" journal_commits_replayed)"
"$W" get "$T/j.img" 00000009 >"$T/out"
check_that "get on a journal image" test "$(cat "$T/out")" = nine

# ------------------------------------------------------------------- ls
# 60 random keys over a few first bytes (so that prefixes group them),
# values of 1..30 bytes; loaded with restore from a text dump
awk -v seed="$SEED" 'BEGIN {
	srand(seed)
	split("00 01 41 7f 80 fe ff", first, " ")
	while (n < 60) {
		k = first[1 + int(rand() * 7)]
		for (j = 0; j < 3; j++)
			k = k sprintf("%02x", int(rand() * 4) * 85)
		if (k in seen)
			continue
		seen[k] = 1
		n++
		len = 1 + int(rand() * 30)
		v = ""
		for (j = 0; j < len; j++)
			v = v sprintf("%02x", int(rand() * 256))
		print k, v
	}
}' | sort >"$T/recs"
mkimg "$T/l.img" || bad "mkfs l.img"
{
	echo "wodan-dump-text 1 key_size=4 tombstones=1"
	cat "$T/recs"
	echo "end records=60"
} >"$T/l.txt"
expect_rc 0 "restore 60 keys for ls" "$W" restore "$T/l.img" -i "$T/l.txt"
awk '{ print $1, length($2) / 2 }' "$T/recs" >"$T/all"

expect_rc 0 "ls" "$W" ls "$T/l.img"
check_that "ls lists every key in ascending order with its size" \
	same "$T/out" "$T/all"
show_diff() { diff "$1" "$2" | head -5 | sed 's/^/    | /'; }
same "$T/out" "$T/all" || show_diff "$T/out" "$T/all"

# ls_case DESC EXPECTED-AWK-FILTER LS-OPTIONS...: compare with awk on $T/all
ls_case() {
	desc=$1 filter=$2
	shift 2
	awk "$filter" "$T/all" >"$T/want"
	run "$W" ls "$T/l.img" "$@"
	if [ "$rc" -eq 0 ] && same "$T/out" "$T/want"; then
		ok "$desc ($(wc -l <"$T/want") keys)"
	else
		bad "$desc (exit $rc)"
		show "$T/err"
		show_diff "$T/out" "$T/want"
	fi
}
ls_case "ls --from 7f (short prefix, padded with 00)" \
	'$1 >= "7f000000"' --from 7f
ls_case "ls --from 7f550000 (a whole key)" '$1 >= "7f550000"' --from 7f550000
ls_case "ls --to 7f (inclusive of every key starting 7f)" \
	'$1 <= "7fffffff"' --to 7f
ls_case "ls --to 0155 (two-byte prefix)" '$1 <= "0155ffff"' --to 0155
ls_case "ls --prefix 80" 'substr($1, 1, 2) == "80"' --prefix 80
ls_case "ls --prefix ffaa (two bytes)" 'substr($1, 1, 4) == "ffaa"' \
	--prefix ffaa
ls_case "ls --prefix ff (up to the largest key)" \
	'substr($1, 1, 2) == "ff"' --prefix ff
ls_case "ls --prefix 00 (from the smallest key)" \
	'substr($1, 1, 2) == "00"' --prefix 00
ls_case "ls --from 01 --to 80" '$1 >= "01000000" && $1 <= "80ffffff"' \
	--from 01 --to 80
ls_case "ls --from 80 --to 01 (empty range)" '0' --from 80 --to 01
ls_case "ls --prefix 7f --from 7f55 (narrowed)" \
	'substr($1, 1, 2) == "7f" && $1 >= "7f550000"' --prefix 7f --from 7f55
ls_case "ls --prefix 42 (no such keys)" 'substr($1, 1, 2) == "42"' \
	--prefix 42
ls_case "ls --limit 5" 'NR <= 5' --limit 5
ls_case "ls --limit 0" '0' --limit 0
ls_case "ls --prefix 7f --limit 2" \
	'substr($1, 1, 2) == "7f" && ++n <= 2' --prefix 7f --limit 2
awk '{ print $1, length($2) / 2, $2 }' "$T/recs" >"$T/want"
run "$W" ls "$T/l.img" --values
check_that "ls --values adds the value as hex" same "$T/out" "$T/want"

expect_rc 0 "ls --json" "$W" ls "$T/l.img" --json
cp "$T/out" "$T/ls.json"
check_that "ls --json is valid JSON" json_ok "$T/ls.json"
check_that "ls --json count is 60" test "$(json_int "$T/ls.json" count)" = 60
check_that "ls --json holds 60 key objects" \
	test "$(grep -o '"key": "[0-9a-f]\{8\}", "size": [0-9]*' "$T/ls.json" |
		wc -l)" -eq 60
grep -o '"key": "[0-9a-f]*", "size": [0-9]*' "$T/ls.json" |
	sed 's/"key": "\([0-9a-f]*\)", "size": \([0-9]*\)/\1 \2/' >"$T/js"
check_that "ls --json lists the same keys and sizes in order" \
	same "$T/js" "$T/all"
run "$W" ls "$T/l.img" --json --prefix 42
check_that "ls --json of an empty range" \
	test "$rc" -eq 0 -a "$(cat "$T/out")" = '{"keys": [], "count": 0}'
run "$W" ls "$T/l.img" --json --values --limit 1
check_that "ls --json --values has a value member" \
	grep -q '"value": "[0-9a-f]*"' "$T/out"
json_ok "$T/out" || bad "ls --json --values is not valid JSON"

# ------------------------------------------------------------- key-text
mkimg "$T/t.img" || bad "mkfs t.img"
expect_rc 0 "put --key-text with a short key (padded)" \
	"$W" put "$T/t.img" --key-text ab 'text key'
"$W" get "$T/t.img" 61620000 >"$T/out" 2>"$T/err"
check_that "the text key is the bytes padded with zeros" \
	test "$(cat "$T/out")" = 'text key'
expect_rc 0 "put --key-text with escapes" \
	"$W" put "$T/t.img" --key-text 'a b\x01' escaped
"$W" get "$T/t.img" 61206201 >"$T/out" 2>"$T/err"
check_that "\\xNN is a byte, a space is itself" test "$(cat "$T/out")" = escaped
expect_rc 0 "put --key-text with a backslash" \
	"$W" put "$T/t.img" --key-text 'x\\y' bs
expect_rc 0 "ls --key-text" "$W" ls "$T/t.img" --key-text
printf '%s\n' 'a\x20b\x01 7' 'ab 8' 'x\\y 2' >"$T/want"
check_that "ls --key-text escapes space, control bytes, backslash; drops the padding" \
	same "$T/out" "$T/want"
same "$T/out" "$T/want" || show_diff "$T/out" "$T/want"
expect_rc 0 "a printed text key pastes back into get" \
	"$W" get "$T/t.img" --key-text 'a\x20b\x01'
check_that "...and finds the value" test "$(cat "$T/out")" = escaped
ls_t() { "$W" ls "$T/t.img" --key-text "$@" 2>"$T/err"; }
check_that "ls --key-text --prefix a (a text prefix, not padded)" \
	test "$(ls_t --prefix a | cut -d' ' -f1 | tr '\n' ' ')" = 'a\x20b\x01 ab '
expect_rc 16 "a text key longer than the key size exits 16" \
	"$W" get "$T/t.img" --key-text abcde
check_that "...saying it is too long" err_has "longer than the image's key size"
expect_rc 16 "a bad escape exits 16" "$W" get "$T/t.img" --key-text 'a\q'
expect_rc 16 "an empty text key exits 16" "$W" get "$T/t.img" --key-text ''

# ------------------------------------------------------------- bad keys
expect_rc 16 "a short hex key exits 16" "$W" get "$T/a.img" 0000
check_that "the message names the needed digits" \
	err_has "need exactly 8 hex digits"
expect_rc 16 "a long hex key exits 16" "$W" put "$T/a.img" 0000000000 v
expect_rc 16 "a key with a non-hex digit exits 16" "$W" del "$T/a.img" 0000000g
check_that "the message names the bad character" err_has "'g' (character 8)"
longkey=$(awk 'BEGIN { while (n++ < 10000) printf "a" }')
cp "$T/a.img" "$T/before.img"
expect_rc 16 "a key of 10,000 hex digits exits 16" \
	"$W" put "$T/a.img" "$longkey" v
check_that "its message stays short (quotes 32 characters)" \
	test "$(wc -c <"$T/err")" -lt 400
check_that "...and names the length" err_has "10000 characters"
expect_rc 16 "ls --prefix of an odd number of digits exits 16" \
	"$W" ls "$T/a.img" --prefix 7
expect_rc 16 "ls --from longer than a key exits 16" \
	"$W" ls "$T/a.img" --from 0000000000
expect_rc 16 "ls --limit x exits 16" "$W" ls "$T/a.img" --limit x
expect_rc 16 "put --hex of an odd length exits 16" \
	"$W" put "$T/a.img" 00000006 --hex 123
expect_rc 16 "put --hex of a non-hex value exits 16" \
	"$W" put "$T/a.img" 00000006 --hex zz
check_that "the bad-key and bad-value runs left a.img byte-identical" \
	same "$T/a.img" "$T/before.img"

# ----------------------------------------------------------- usage, help
expect_rc 16 "put with VALUE and -i exits 16" \
	"$W" put "$T/a.img" 00000006 v -i "$T/bin.val"
expect_rc 16 "put without a value exits 16" "$W" put "$T/a.img" 00000006
expect_rc 16 "put --hex with -i exits 16" \
	"$W" put "$T/a.img" 00000006 --hex -i "$T/bin.val"
expect_rc 16 "get without KEY exits 16" "$W" get "$T/a.img"
expect_rc 16 "get with an extra argument exits 16" \
	"$W" get "$T/a.img" 00000006 extra
expect_rc 16 "ls with an unknown option exits 16" "$W" ls "$T/a.img" --bogus
expect_rc 16 "info without DEVICE exits 16" "$W" info
for c in get put del ls info; do
	run "$W" $c --help
	if [ "$rc" -eq 0 ] && grep -q '^Exit status' "$T/out" &&
	   grep -q "^  wodanc $c " "$T/out"; then
		ok "$c --help: exit 0, examples, the exit status line"
	else
		bad "$c --help (exit $rc)"
	fi
done
run "$W" --help
check_that "wodanc --help lists get, put, del, ls, info" \
	test "$(grep -c -E '^  (get|put|del|ls|info) ' "$T/out")" -eq 5

# ------------------------------------------------------- open failures
expect_rc 8 "get on a missing image exits 8" "$W" get "$T/nope.img" 00000001
check_that "...saying No such file or directory" \
	err_has "nope.img: No such file or directory"
check_that "...and creating nothing" test ! -e "$T/nope.img"
expect_rc 8 "put on a missing image exits 8" "$W" put "$T/nope.img" 00000001 v
check_that "put created no file" test ! -e "$T/nope.img"
expect_rc 8 "ls on a directory exits 8" "$W" ls "$T"
check_that "...saying it is a directory" err_has "is a directory"
run "$W" info "$T/nope.img" --json
check_that "info --json on a missing image: exit 8, a JSON error object" \
	test "$rc" -eq 8 -a -n "$(grep '"error"' "$T/out")"
json_ok "$T/out" || bad "the info --json error object is not valid JSON"
: >"$T/empty.img"
expect_rc 8 "get on an empty file exits 8" "$W" get "$T/empty.img" 00000001
check_that "...saying it holds no wodan image" err_has "no wodan image"

# ------------------------------------------------------------ /dev/full
if [ -w /dev/full ]; then
	run sh -c "'$W' get '$T/a.img' 00000002 >/dev/full"
	check_that "get >/dev/full exits 8" test "$rc" -eq 8
	check_that "...saying it cannot write" \
		err_has "cannot write to standard output"
	run sh -c "'$W' ls '$T/l.img' >/dev/full"
	check_that "ls >/dev/full exits 8" test "$rc" -eq 8
	run sh -c "'$W' ls '$T/l.img' --json >/dev/full"
	check_that "ls --json >/dev/full exits 8" test "$rc" -eq 8
	run sh -c "'$W' info '$T/l.img' >/dev/full"
	check_that "info >/dev/full exits 8" test "$rc" -eq 8
else
	echo "# /dev/full missing: skipped the output-error tests"
fi

finish
