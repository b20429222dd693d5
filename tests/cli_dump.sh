#!/bin/sh
# tests/cli_dump.sh -- `wodanc dump` and `wodanc restore` never lose data,
# and their text format.  Run by `make check` with WODANC and top_srcdir
# set (wodan-git2dump is found next to wodanc, in ../tools).
#
# Covers: a failed, refused or interrupted `dump -o PATH` leaves PATH
# byte-identical (damaged image, PATH = the image, also through a symbolic
# link, SIGTERM mid-dump), devices and FIFOs written straight through
# (/dev/null survives), permissions of the new file; the same for
# wodan-git2dump; `dump --rollback` names the generation used and those
# skipped (text and --json); `restore --mkfs` refuses an image without -F;
# a restore out of space or interrupted (SIGTERM, SIGINT) reports exactly
# which records are durable, and the image holds exactly them; the text
# format (round trip with CBOR, hostile lines refused naming the line);
# -f aliases; exit codes (dump >/dev/full -> 8).
# Randomness: awk srand with the seeds printed below.  POSIX sh.

. "${top_srcdir:-.}/tests/clilib.sh"

SEED=${SEED:-$(date +%s)}
echo "# seed $SEED (rerun with SEED=$SEED)"
GIT2DUMP=$(dirname "$WODANC")/../tools/wodan-git2dump

# no_tmp_left DIR: no temporary ".NAME.XXXXXX" file of ours in DIR.
no_tmp_left() {
	[ -z "$(find "$1" -maxdepth 1 -name '.*.??????' 2>/dev/null)" ]
}

# records_of TXT: the record lines of a text dump (no header, no end).
records_of() { sed '1d;$d' "$1"; }

# ------------------------------------------------------------ fixtures
gen_text 64 500 "$SEED" >"$T/g64.txt"
mkimg "$T/big.img" || bad "mkfs big.img"
expect_rc 0 "restore a generated text dump (64 records of 500 bytes)" \
	"$WODANC" restore "$T/big.img" -i "$T/g64.txt"
cp "$T/big.img" "$T/dmg.img"
blk=$(damage_child "$T/dmg.img")
echo "# damaged block $blk of dmg.img"
printf 'precious backup\n' >"$T/keep.cbor"
cp "$T/keep.cbor" "$T/keep.orig"

# ------------------------------------------- dump -o never destroys PATH
run "$WODANC" dump "$T/dmg.img" -o "$T/keep.cbor"
check_that "dump of a damaged image fails with 4 (exit $rc)" [ "$rc" -eq 4 ]
check_that "failed dump leaves the existing PATH byte-identical" \
	cmp -s "$T/keep.cbor" "$T/keep.orig"
check_that "failed dump leaves no temporary file" no_tmp_left "$T"
expect_rc 8 "dump of a missing image -> 8" \
	"$WODANC" dump "$T/missing.img" -o "$T/keep.cbor"
check_that "PATH unchanged after dumping a missing image" \
	cmp -s "$T/keep.cbor" "$T/keep.orig"

cp "$T/big.img" "$T/self.img"
expect_rc 16 "dump IMG -o IMG is refused" \
	"$WODANC" dump "$T/self.img" -o "$T/self.img"
check_that "IMG unchanged after dump -o IMG" cmp -s "$T/self.img" \
	"$T/big.img"
ln -s self.img "$T/self.lnk"
expect_rc 16 "dump IMG -o LINK-TO-IMG is refused" \
	"$WODANC" dump "$T/self.img" -o "$T/self.lnk"
expect_rc 16 "dump LINK-TO-IMG -o IMG is refused" \
	"$WODANC" dump "file:$T/self.lnk" -f "$T/self.img"
check_that "IMG unchanged after the refusals" cmp -s "$T/self.img" \
	"$T/big.img"
check_that "the link is still a link" [ -L "$T/self.lnk" ]

# a successful dump replaces PATH; through a link, the file it points to
expect_rc 0 "dump -o over an existing file" \
	"$WODANC" dump "$T/big.img" -o "$T/keep.cbor"
expect_rc 0 "dump to stdout" "$WODANC" dump "$T/big.img"
cp "$T/out" "$T/stdout.cbor"
check_that "dump -o FILE equals dump to stdout" \
	cmp -s "$T/keep.cbor" "$T/stdout.cbor"
cp "$T/keep.orig" "$T/target.cbor"
ln -s target.cbor "$T/out.lnk"
expect_rc 0 "dump -o LINK writes the link's target" \
	"$WODANC" dump "$T/big.img" -o "$T/out.lnk"
check_that "the link stays a link" [ -L "$T/out.lnk" ]
check_that "the target holds the dump" cmp -s "$T/target.cbor" \
	"$T/stdout.cbor"

# permissions: a new file honours the umask, a replaced file keeps its mode
( umask 027; "$WODANC" dump "$T/big.img" -o "$T/new.cbor" >/dev/null 2>&1 )
check_that "a new dump file gets 0666 minus the umask (027 -> 640)" \
	[ "$(stat -c %a "$T/new.cbor")" = 640 ]
chmod 600 "$T/keep.cbor"
"$WODANC" dump "$T/big.img" -o "$T/keep.cbor" >/dev/null 2>&1
check_that "a replaced dump file keeps its mode (600)" \
	[ "$(stat -c %a "$T/keep.cbor")" = 600 ]

# devices and FIFOs: straight through, never removed
expect_rc 0 "dump -o /dev/null" "$WODANC" dump "$T/big.img" -o /dev/null
check_that "/dev/null is still a character device" [ -c /dev/null ]
if [ "$(id -u)" = 0 ] && mknod "$T/full" c 1 7 2>/dev/null &&
    mknod "$T/null" c 1 3 2>/dev/null; then
	expect_rc 8 "dump -o a full device (a copy of /dev/full) -> 8" \
		"$WODANC" dump "$T/big.img" -o "$T/full"
	check_that "the full device node still exists" [ -c "$T/full" ]
	expect_rc 4 "failing dump -o a null device (copy of /dev/null) -> 4" \
		"$WODANC" dump "$T/dmg.img" -o "$T/null"
	check_that "the null device node still exists" [ -c "$T/null" ]
else
	ok "device node tests skipped (not root or no mknod)"
fi
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.cbor" &
cpid=$!
expect_rc 0 "dump -o FIFO" "$WODANC" dump "$T/big.img" -o "$T/fifo"
wait $cpid
check_that "the FIFO carried the whole dump" cmp -s "$T/fifo.cbor" \
	"$T/stdout.cbor"
check_that "the FIFO is still a FIFO" [ -p "$T/fifo" ]

# exit codes of the output side
"$WODANC" dump "$T/big.img" >/dev/full 2>"$T/err"
rc=$?
check_that "dump >/dev/full exits 8 (exit $rc)" [ "$rc" -eq 8 ]
expect_rc 8 "dump -o a directory -> 8" "$WODANC" dump "$T/big.img" -o "$T"
mkdir "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
	expect_rc 8 "dump -o into a read-only directory -> 8" \
		"$WODANC" dump "$T/big.img" -o "$T/ro/x.cbor"
fi
expect_rc 16 "dump --json without -o -> 16" \
	"$WODANC" dump "$T/big.img" --json
expect_rc 16 "dump --format xml -> 16" \
	"$WODANC" dump "$T/big.img" --format xml -o "$T/x.cbor"
expect_rc 8 "dump --json of a missing image -> 8" \
	"$WODANC" dump "$T/missing.img" -o "$T/x.cbor" --json
check_that "dump --json error is one JSON object" json_ok "$T/out"
check_that "dump --json error names the error" grep -q '"error"' "$T/out"
check_that "no output file after the failures" [ ! -e "$T/x.cbor" ]

# an interrupted dump: PATH is either untouched or the complete new dump
gen_text 60000 60 $((SEED + 1)) >"$T/g60k.txt"
"$WODANC" mkfs "$T/huge.img" --size 64M --block-size $BS --key-size $KS \
	>/dev/null 2>&1
"$WODANC" restore "$T/huge.img" -i "$T/g60k.txt" >/dev/null 2>"$T/err" ||
	bad "restore 60000 records"
"$WODANC" dump "$T/huge.img" -o "$T/huge.ref" >/dev/null 2>&1
cp "$T/keep.orig" "$T/int.cbor"
"$WODANC" dump "$T/huge.img" -o "$T/int.cbor" >/dev/null 2>"$T/int.err" &
dpid=$!
# wait (shell built-ins only) until the dump is writing: its temporary
# file exists (or PATH was truncated in place), then interrupt it
i=0
while [ $i -lt 200000 ] && kill -0 $dpid 2>/dev/null; do
	set -- "$T"/.int.cbor.??????
	[ -e "$1" ] && break
	[ -s "$T/int.cbor" ] || break
	i=$((i + 1))
done
kill -TERM $dpid 2>/dev/null
wait $dpid
rc=$?
if [ "$rc" -eq 0 ]; then
	check_that "dump finished before SIGTERM: PATH is the whole dump" \
		cmp -s "$T/int.cbor" "$T/huge.ref"
else
	check_that "SIGTERM mid-dump: exit 1 (exit $rc)" [ "$rc" -eq 1 ]
	check_that "SIGTERM mid-dump: PATH byte-identical" \
		cmp -s "$T/int.cbor" "$T/keep.orig"
	check_that "SIGTERM mid-dump: says interrupted" \
		grep -q interrupted "$T/int.err"
fi
check_that "no temporary file after the interrupted dump" no_tmp_left "$T"

# ------------------------------------------------------ wodan-git2dump
if [ -x "$GIT2DUMP" ] && command -v git >/dev/null 2>&1; then
	cp "$T/keep.orig" "$T/git.cbor"
	run "$GIT2DUMP" "$T/no-such-repo" -o "$T/git.cbor"
	check_that "git2dump of a missing repository fails" [ "$rc" -ne 0 ]
	check_that "failed git2dump leaves PATH byte-identical" \
		cmp -s "$T/git.cbor" "$T/keep.orig"
	check_that "failed git2dump leaves no temporary file" no_tmp_left "$T"
	mkdir "$T/repo"
	(cd "$T/repo" && git init -q . && echo hello >f &&
	 git add f && git -c user.name=t -c user.email=t@t commit -qm one) \
		>/dev/null 2>&1
	expect_rc 0 "git2dump of a small repository over PATH" \
		"$GIT2DUMP" "$T/repo" -o "$T/git.cbor"
	"$WODANC" mkfs "$T/git.img" --size 8M --block-size $BS --key-size 20 \
		>/dev/null 2>&1
	expect_rc 0 "its dump restores" "$WODANC" restore "$T/git.img" \
		-i "$T/git.cbor" --json
	check_that "3 objects (commit, tree, blob)" \
		[ "$(json_int "$T/out" records)" = 3 ]
	expect_rc 0 "git2dump -o /dev/null" "$GIT2DUMP" "$T/repo" -o /dev/null
	check_that "/dev/null is still a character device" [ -c /dev/null ]
else
	ok "git2dump tests skipped (no git or no wodan-git2dump)"
fi

# ----------------------------------------------------- dump --rollback
cp "$T/keep.orig" "$T/rb.cbor"
expect_rc 0 "dump --rollback of the damaged image" \
	"$WODANC" dump "$T/dmg.img" --rollback -o "$T/rb.cbor"
cp "$T/err" "$T/rb.err"
check_that "stderr names the generation dumped" \
	grep -q "dumping generation [0-9]" "$T/rb.err"
check_that "stderr names the skipped generations" \
	grep -q "generations [0-9]*\.\.[0-9]* are skipped" "$T/rb.err"
check_that "the summary says rolled back" grep -q "rolled back" "$T/out"
expect_rc 0 "dump --rollback --json" \
	"$WODANC" dump "$T/dmg.img" --rollback -o "$T/rb.cbor" --json
cp "$T/out" "$T/rb.json"
check_that "dump --rollback --json is valid JSON" json_ok "$T/rb.json"
check_that "--json: rolled_back true" \
	grep -q '"rolled_back": true' "$T/rb.json"
g=$(json_int "$T/rb.json" generation)
n=$(json_int "$T/rb.json" newest_generation)
check_that "--json: newest_generation ($n) above generation ($g)" \
	[ -n "$g" ] && [ -n "$n" ] && [ "$n" -gt "$g" ]
check_that "--json: skipped_generations $((g + 1))..$n" \
	grep -q "\"skipped_generations\": *{\"first\": *$((g + 1)), *\"last\": *$n}" \
	"$T/rb.json"
expect_rc 0 "dump --rollback --json of an intact image" \
	"$WODANC" dump "$T/big.img" --rollback -o "$T/rb2.cbor" --json
check_that "--json: rolled_back false, nothing skipped" \
	grep -q '"rolled_back": false.*"skipped_generations": null' "$T/out"

# ------------------------------------------ restore --mkfs needs -F
gen_text 1000 8 $((SEED + 2)) >"$T/g1000.txt"
mkimg "$T/k.img"
"$WODANC" restore "$T/k.img" -i "$T/g1000.txt" >/dev/null 2>&1
cp "$T/k.img" "$T/k.orig"
printf 'wodan-dump-text 1 key_size=4 tombstones=1\n00000001 01\n00000002 02\nend records=2\n' \
	>"$T/two.txt"
expect_rc 1 "restore --mkfs over an existing image without -F -> 1" \
	"$WODANC" restore "$T/k.img" --mkfs --block-size $BS -i "$T/two.txt"
check_that "the refusal names -F" grep -q -- "-F" "$T/err"
check_that "the image is unchanged" cmp -s "$T/k.img" "$T/k.orig"
expect_rc 16 "restore -F without --mkfs -> 16" \
	"$WODANC" restore "$T/k.img" -F -i "$T/two.txt"
expect_rc 0 "restore --mkfs -F reformats" \
	"$WODANC" restore "$T/k.img" --mkfs -F --block-size $BS -f "$T/two.txt"
"$WODANC" check --json "$T/k.img" >"$T/k.json" 2>/dev/null
check_that "after --mkfs -F the image holds the 2 keys" \
	[ "$(json_int "$T/k.json" live_keys)" = 2 ]
dd if=/dev/zero of="$T/zeros.img" bs=65536 count=16 2>/dev/null
expect_rc 0 "restore --mkfs on a zeroed file needs no -F" \
	"$WODANC" restore "$T/zeros.img" --mkfs --block-size $BS -i "$T/two.txt"

# -------------------------------------------- restore out of space
gen_text 3000 100 $((SEED + 3)) >"$T/g3000.txt"
"$WODANC" mkfs "$T/small.img" --size 128K --block-size $BS --key-size $KS \
	>/dev/null 2>&1
cp "$T/small.img" "$T/small2.img"
expect_rc 1 "restore into a too small image -> 1" \
	"$WODANC" restore "$T/small.img" -i "$T/g3000.txt" --json
cp "$T/out" "$T/oos.json"
cp "$T/err" "$T/oos.err"
check_that "out of space: --json is valid JSON" json_ok "$T/oos.json"
R=$(json_int "$T/oos.json" records)
G=$(json_int "$T/oos.json" generation)
echo "# out of space after $R durable records, generation $G"
check_that "out of space: complete false" \
	grep -q '"complete": false' "$T/oos.json"
check_that "out of space: some but not all records durable ($R)" \
	[ -n "$R" ] && [ "$R" -gt 0 ] && [ "$R" -lt 3000 ]
KEY=$(printf '%08x' "${R:-0}")
check_that "out of space: failed_record $R, failed_key $KEY" \
	grep -q "\"failed_record\": $R, \"failed_key\": \"$KEY\"" "$T/oos.json"
check_that "out of space: the error is out-of-space" \
	grep -q '"code": -11' "$T/oos.json"
check_that "out of space: stderr names record, key, durable count" \
	grep -q "record $R (key $KEY.*first $R records.*durable.*generation $G" \
	"$T/oos.err"
expect_rc 0 "out of space: the image checks clean" \
	"$WODANC" check -q "$T/small.img"
"$WODANC" dump "$T/small.img" --format text -o "$T/oos.txt" >/dev/null 2>&1
records_of "$T/g3000.txt" | head -n "${R:-0}" >"$T/want.txt"
records_of "$T/oos.txt" >"$T/got.txt"
check_that "out of space: the image holds exactly the first $R records" \
	cmp -s "$T/want.txt" "$T/got.txt"
check_that "out of space: generation $G is the image's" \
	grep -q "generation=$G " "$T/oos.txt"
"$WODANC" mkfs "$T/g3000.img" --size 64M --block-size $BS --key-size $KS \
	>/dev/null 2>&1
"$WODANC" restore "$T/g3000.img" -i "$T/g3000.txt" >/dev/null 2>&1
"$WODANC" dump "$T/g3000.img" -o "$T/g3000.cbor" >/dev/null 2>&1
expect_rc 1 "out of space without --json, from a CBOR dump" \
	"$WODANC" restore "$T/small2.img" -i "$T/g3000.cbor"
check_that "the text report names the same record and durable records" \
	grep -q "record $R (key $KEY.*first $R records of the dump (0\.\.$((R - 1))) are durable" \
	"$T/err"

# ------------------------------------------------ interrupted restore
# The dump goes through a FIFO: the first part, a pause (the restore then
# waits for input), the signal, then the rest.  The restore must stop
# before the next record, flush, and report exactly what is durable.
gen_text 3000 50 $((SEED + 4)) >"$T/g3k.txt"
head -n 1001 "$T/g3k.txt" >"$T/part1.txt"
tail -n +1002 "$T/g3k.txt" >"$T/part2.txt"

# interrupt_restore SIG LAUNCHER...: the restore run and its checks.
interrupt_restore() {
	sig=$1
	shift
	rm -f "$T/ri.img" "$T/rfifo"
	mkimg "$T/ri.img"
	mkfifo "$T/rfifo"
	"$@" "$WODANC" restore "$T/ri.img" -i "$T/rfifo" --json \
		>"$T/ri.out" 2>"$T/ri.err" &
	rpid=$!
	# should the restore die before opening the FIFO, open its reading
	# end after a while so that this script does not hang
	(sleep 20; kill -0 $rpid 2>/dev/null || exec 4<"$T/rfifo") &
	exec 3>"$T/rfifo"
	cat "$T/part1.txt" >&3
	sleep 1
	kill -"$sig" $rpid
	(trap '' PIPE; cat "$T/part2.txt" >&3) 2>/dev/null
	exec 3>&-
	wait $rpid
	rc=$?
	check_that "SIG$sig: restore exits 1 (exit $rc)" [ "$rc" -eq 1 ]
	check_that "SIG$sig: stderr says interrupted" \
		grep -q "interrupted" "$T/ri.err"
	check_that "SIG$sig: --json is valid JSON" json_ok "$T/ri.out"
	check_that "SIG$sig: --json says interrupted" \
		grep -q '"interrupted": true' "$T/ri.out"
	R=$(json_int "$T/ri.out" records)
	G=$(json_int "$T/ri.out" generation)
	echo "# SIG$sig: $R durable records, generation $G"
	check_that "SIG$sig: stopped inside the dump ($R of 3000)" \
		[ -n "$R" ] && [ "$R" -ge 1000 ] && [ "$R" -lt 3000 ]
	expect_rc 0 "SIG$sig: the image checks clean" \
		"$WODANC" check -q "$T/ri.img"
	"$WODANC" dump "$T/ri.img" --format text -o "$T/ri.txt" \
		>/dev/null 2>&1
	records_of "$T/g3k.txt" | head -n "${R:-0}" >"$T/want.txt"
	records_of "$T/ri.txt" >"$T/got.txt"
	check_that "SIG$sig: the image holds exactly the $R reported records" \
		cmp -s "$T/want.txt" "$T/got.txt"
	check_that "SIG$sig: at the reported generation $G" \
		grep -q "generation=$G " "$T/ri.txt"
}
interrupt_restore TERM
# a background job of a script starts with SIGINT ignored (and wodanc
# keeps it ignored): env --default-signal restores the default first
if env --default-signal=INT true 2>/dev/null; then
	interrupt_restore INT env --default-signal=INT
else
	ok "SIGINT test skipped (env --default-signal missing)"
fi

# ----------------------------------------------------- text format
# round trip: CBOR dump -> text dump -> restore text -> CBOR dump identical
gen_text 400 40 $((SEED + 5)) 0 >"$T/nt.txt"
mkimg "$T/t1.img" --no-tombstones
mkimg "$T/t2.img" --no-tombstones
expect_rc 0 "restore a text dump (with empty values) into t1" \
	"$WODANC" restore "$T/t1.img" -i "$T/nt.txt" --format text
expect_rc 0 "CBOR dump of t1 (A)" "$WODANC" dump "$T/t1.img" -o "$T/A.cbor"
expect_rc 0 "text dump of t1 (T)" "$WODANC" dump "$T/t1.img" \
	--format text -f "$T/T.txt"
records_of "$T/nt.txt" >"$T/nt.rec"
records_of "$T/T.txt" >"$T/T.rec"
check_that "T's records are the generated ones" cmp -s "$T/nt.rec" "$T/T.rec"
check_that "T writes an empty value as -" grep -q '^00000003 -$' "$T/T.txt"
expect_rc 0 "restore T into t2 (auto-detected)" \
	"$WODANC" restore "$T/t2.img" -i "$T/T.txt"
expect_rc 0 "CBOR dump of t2 (B)" "$WODANC" dump "$T/t2.img" -o "$T/B.cbor"
ndiff=$(cmp -l "$T/A.cbor" "$T/B.cbor" 2>/dev/null | wc -l)
check_that "A and B have the same size" \
	[ "$(wc -c <"$T/A.cbor")" -eq "$(wc -c <"$T/B.cbor")" ]
check_that "A and B differ at most in the header fsid ($ndiff bytes)" \
	[ "$ndiff" -le 16 ]
"$WODANC" dump "$T/t2.img" --format text >"$T/T2.txt" 2>/dev/null
sed 1d "$T/T.txt" >"$T/T.tail"
sed 1d "$T/T2.txt" >"$T/T2.tail"
check_that "text dumps of t1 and t2 differ only in the header line" \
	cmp -s "$T/T.tail" "$T/T2.tail"
"$WODANC" dump "$T/t1.img" --format text --from 00000010 --to 00000014 \
	>"$T/range.txt" 2>/dev/null
check_that "text dump of a range has 4 records and end records=4" \
	[ "$(sed '1d;$d' "$T/range.txt" | wc -l)" -eq 4 ] &&
	[ "$(tail -n 1 "$T/range.txt")" = "end records=4" ]
"$WODANC" restore "$T/t2.img" --format cbor -i "$T/T.txt" >/dev/null \
	2>"$T/err"
check_that "--format cbor refuses a text dump" [ $? -eq 1 ]

# on a journal image the generation reported is the image's after close
mkimg "$T/j.img" --journal
expect_rc 0 "restore into a journal image" \
	"$WODANC" restore "$T/j.img" -i "$T/g64.txt" --json
G=$(json_int "$T/out" generation)
"$WODANC" dump "$T/j.img" --format text >"$T/j.txt" 2>/dev/null
check_that "journal image: the reported generation $G is the image's" \
	grep -q "generation=$G " "$T/j.txt"

# a pipeline that drops records ends with a bare "end" (the help's example)
mkimg "$T/t4.img" --no-tombstones
"$WODANC" dump "$T/t1.img" --format text |
	sed '/^0000000/d; s/^end .*/end/' >"$T/piped.txt"
expect_rc 0 "restore a filtered text dump ending with a bare end line" \
	"$WODANC" restore "$T/t4.img" -i "$T/piped.txt" --json
check_that "it restored the 400 - 16 records left" \
	[ "$(json_int "$T/out" records)" = 384 ]

# hostile text inputs: each refused naming its line; the image stays clean
H="wodan-dump-text 1 key_size=4 tombstones=1"
long=$(awk 'BEGIN { for (i = 0; i < 140000; i++) printf "a" }')
huge=$(awk 'BEGIN { for (i = 0; i < 4000; i++) printf "ab" }')
# hostile NAME LINE CONTENT: CONTENT (printf format) must be refused
# naming line LINE.
hostile() {
	printf "$3" >"$T/h-$1.txt"
	run "$WODANC" restore "$T/t3.img" --format text -i "$T/h-$1.txt"
	if [ "$rc" -eq 1 ] && grep -q "line $2[^0-9]" "$T/err"; then
		ok "hostile text ($1) refused naming line $2"
	else
		bad "hostile text ($1): exit $rc, wanted 1 naming line $2:"
		show "$T/err"
	fi
}
mkimg "$T/t3.img"
hostile badhex 3 "$H\n00000001 01\n0000000z 02\nend records=2\n"
hostile badvalhex 2 "$H\n00000001 0g\nend records=1\n"
hostile oddvalue 2 "$H\n00000001 012\nend records=1\n"
hostile shortkey 3 "$H\n00000001 01\n000001 02\nend records=2\n"
hostile longkey 2 "$H\n0000000001 01\nend records=1\n"
hostile overlong 2 "$H\n00000001 $long\nend records=1\n"
hostile toolarge 2 "$H\n00000001 $huge\nend records=1\n"
hostile noend 4 "$H\n00000001 01\n00000002 02\n"
hostile badcount 3 "$H\n00000001 01\nend records=2\n"
hostile after 4 "$H\n00000001 01\nend records=1\nx\n"
hostile afterbare 3 "$H\nend\n00000001 01\n"
hostile endjunk 3 "$H\n00000001 01\nend records=1x\n"
hostile crlf 2 "$H\n00000001 01\r\nend records=1\n"
hostile empty 2 "$H\n\n00000001 01\nend records=1\n"
hostile novalue 2 "$H\n00000001\nend records=1\n"
hostile nolf 2 "$H\nend records=0"
hostile twospaces 2 "$H\n00000001  01\nend records=0\n"
hostile badheader 1 "wodan-dump-text 1 key_size=4\nend records=0\n"
hostile unknownfield 1 "$H colour=blue\nend records=0\n"
hostile version2 1 "wodan-dump-text 2 key_size=4 tombstones=1\n"
hostile keysize0 1 "wodan-dump-text 1 key_size=0 tombstones=1\n"
hostile headerlong 1 "$H $long\n"
hostile headerspaces 1 "wodan-dump-text  1 key_size=4 tombstones=1\nend\n"
hostile emptyheader 1 "\n$H\nend\n"
hostile nul 3 "$H\n00000001 01\nend records=1\000x\n"
printf 'wodan-dump-text 1 key_size=8 tombstones=1\nend records=0\n' \
	>"$T/h-wrongks.txt"
expect_rc 1 "a text dump of another key size is refused" \
	"$WODANC" restore "$T/t3.img" -i "$T/h-wrongks.txt"
expect_rc 0 "the image checks clean after the hostile inputs" \
	"$WODANC" check -q "$T/t3.img"
"$WODANC" dump "$T/t3.img" --format text >"$T/t3.txt" 2>/dev/null
check_that "only the valid records before the bad lines were applied" \
	[ "$(sed '1d;$d' "$T/t3.txt" | cut -d' ' -f1 | sort -u | tr '\n' ' ')" \
	  = "00000001 00000002 " ]

# ----------------------------------------------------- aliases, JSON
expect_rc 0 "dump -f FILE" "$WODANC" dump "$T/big.img" -f "$T/f.cbor"
check_that "dump -f wrote the dump" cmp -s "$T/f.cbor" "$T/stdout.cbor"
mkimg "$T/f.img"
expect_rc 0 "restore -f FILE" "$WODANC" restore "$T/f.img" -f "$T/f.cbor"
expect_rc 8 "restore --json of a missing input -> 8" \
	"$WODANC" restore "$T/f.img" -i "$T/missing.cbor" --json
check_that "restore --json error is one JSON object" json_ok "$T/out"
expect_rc 8 "restore into a missing image -> 8" \
	"$WODANC" restore "$T/missing.img" -i "$T/f.cbor"
for c in dump restore; do
	run "$WODANC" $c --help
	check_that "$c --help teaches --format text and -f" \
		grep -q -- "--format" "$T/out" && grep -q -- "-f" "$T/out"
done

finish
