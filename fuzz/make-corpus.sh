#!/bin/sh
# fuzz/make-corpus.sh -- (re)generate the seed corpora of the fuzz harnesses.
#
#   sh fuzz/make-corpus.sh WODANC [OUTDIR]
#
# WODANC is a built wodanc binary; OUTDIR defaults to fuzz/corpus next to
# this script.  Every file in OUTDIR/{image,node,superblock,dump} is
# replaced.  Images are made with `wodanc mkfs`, `wodanc restore --mkfs`
# and `wodanc fuzz --ops` (a random operation loop that leaves its final
# image on the device), all tiny (16..48 blocks, each file < 64 KiB); they
# are then sealed with the magic CRC (`wodanc fuzz --magic-seal`) so that
# mutations are not stopped by CRC32C, and variants set the option byte 500
# (see fuzz/image_exercise.h).  Node seeds are the node blocks of those
# images behind the 16-byte geometry header of fuzz/fuzz_node.c;
# superblock seeds are their first 512 bytes; dump seeds are the doc/DUMP.md
# example, the malformed dumps of tests/cli.sh, and `wodanc dump` of the
# images.  mkfs draws a random fsid, so two runs give different bytes.
# POSIX sh + od + dd.
set -eu
W=${1:?usage: make-corpus.sh WODANC [OUTDIR]}
OUT=${2:-$(cd "$(dirname "$0")" && pwd)/corpus}
T=$(mktemp -d "${TMPDIR:-/tmp}/wodan-corpus.XXXXXX")
trap 'rm -rf "$T"' EXIT

for d in image node superblock dump; do
	mkdir -p "$OUT/$d"
	rm -f "$OUT/$d"/*
done

# hex2bin HEX: the bytes spelled by HEX (spaces ignored) on stdout.
hex2bin() {
	for h in $(printf '%s' "$1" | sed 's/[^0-9a-fA-F]//g; s/../& /g'); do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "0x$h")"
	done
}
# le N BYTES: N as BYTES little-endian bytes, as hex.
le() {
	n=$1 i=0 s=
	while [ "$i" -lt "$2" ]; do
		s="$s$(printf '%02x' $((n & 255)))"
		n=$((n >> 8)) i=$((i + 1))
	done
	printf '%s' "$s"
}
# byte FILE OFF: the unsigned byte at OFF.
byte() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n'; }
# u32 FILE OFF
u32() {
	echo $(( $(byte "$1" "$2") | $(byte "$1" $(($2 + 1))) << 8 |
		 $(byte "$1" $(($2 + 2))) << 16 | $(byte "$1" $(($2 + 3))) << 24 ))
}

# ------------------------------------------------------------- images
N=0
# add NAME: file $T/NAME.img becomes seeds for every harness.
add() {
	name=$1 img=$T/$1.img
	bs=$(u32 "$img" 28)
	ks=$(byte "$img" 32)
	inc=$(byte "$img" 24)
	size=$(wc -c <"$img" | tr -d ' ')
	lsize=$((size / bs))
	# (an image the op loop wrote with magic CRCs does not open normally)
	"$W" dump "$img" -o "$OUT/dump/$name.cbor" >/dev/null 2>&1 ||
		rm -f "$OUT/dump/$name.cbor"
	# superblock seeds: as written, and with the device-size tail
	dd if="$img" of="$OUT/superblock/$name.sb" bs=512 count=1 2>/dev/null
	{ cat "$OUT/superblock/$name.sb"; hex2bin "$(le "$size" 8)00"; } \
		>"$OUT/superblock/$name-dev.sb"
	# node seeds: the first 6 blocks whose type byte is 1 (root) or 2
	# (child), a child both as a leaf and as an inner node of rdepth 1
	bsidx=
	i=0
	for b in 512 1024 1536 2048 2560 3072 3584 4096 8192 16384; do
		[ "$b" -eq "$bs" ] && bsidx=$i
		i=$((i + 1))
	done
	L=1 k=0
	while [ -n "$bsidx" ] && [ "$L" -lt "$lsize" ] && [ "$k" -lt 6 ]; do
		t=$(byte "$img" $((L * bs)))
		case $t in 1|2) k=$((k + 1)) ;; esac
		for rd in 0 1; do
			case $t in
			1) flags=$((1 | (inc & 8 ? 2 : 0))); [ $rd = 1 ] && break ;;
			2) flags=$((inc & 8 ? 2 : 0)) ;;
			*) break ;;
			esac
			f="$OUT/node/$name-L$L-d$rd.node"
			{ hex2bin "$(le "$bsidx" 1)$(le "$ks" 1)$(le "$flags" 1)"
			  hex2bin "$(le "$rd" 1)$(le $((lsize - 2)) 4)ffffffffffffffff"
			  dd if="$img" bs="$bs" skip="$L" count=1 2>/dev/null
			} >"$f"
		done
		L=$((L + 1))
	done
	# image seeds: sealed with the magic CRC
	"$W" fuzz --magic-seal "$img" -F >/dev/null
	cp "$img" "$OUT/image/$name.img"
	N=$((N + 1))
}
# opt NAME BYTE: a copy of image seed NAME with option byte 500 = BYTE.
opt() {
	cp "$OUT/image/$1.img" "$OUT/image/$1-opt$2.img"
	hex2bin "$2" | dd of="$OUT/image/$1-opt$2.img" bs=1 seek=500 \
		conv=notrunc 2>/dev/null
}
# ops NAME BS KS BLOCKS KEYS OPS SEED: image left by a random op loop.
ops() {
	"$W" fuzz --ops "$6" --seed "$7" --device "file:$T/$1.img" -F \
		--block-size "$2" --key-size "$3" --blocks "$4" --keys "$5" \
		>/dev/null
	add "$1"
}

"$W" mkfs "$T/empty512.img" --size 8K --block-size 512 --key-size 1 \
	>/dev/null
add empty512
"$W" mkfs "$T/empty4k-notomb.img" --size 48K --block-size 4K \
	--key-size 20 --no-tombstones >/dev/null
add empty4k-notomb
hex2bin "d9d9f7 a3 6a776f64616e2d64756d70 01 68 6b65792d73697a65 04
	6a746f6d6273746f6e6573 f5 82 44 00000001 42 6869
	a2 67 7265636f726473 01 66 637263333263 1a 9ab2280a" >"$T/ex.cbor"
"$W" restore "$T/restored1k.img" --mkfs --block-size 1K --size 16K \
	-i "$T/ex.cbor" >/dev/null
add restored1k
ops ops512 512 1 16 40 200 1
ops ops512b 512 1 32 200 600 2
ops ops1k 1024 4 16 50 300 3
ops ops1k-deep 1024 8 48 120 800 4
ops ops2k 2048 16 24 80 300 5
ops ops4k 4096 8 15 300 600 6
ops ops4k-ks20 4096 20 12 100 300 7
# journal images (incompat 0x10; these seeds draw the journal)
ops ops512-journal 512 1 32 200 600 10
ops ops1k-journal 1024 8 48 120 800 13
for b in 01 02 04 08 10 1f; do
	opt ops512b "$b"
done
opt ops1k-deep 1f

# -------------------------------------------------------------- dumps
EX_HDR="d9d9f7 a3 6a776f64616e2d64756d70 01 68 6b65792d73697a65 04
	6a746f6d6273746f6e6573 f5"
EX_REC="82 44 00000001 42 6869"
EX_TRL="a2 67 7265636f726473 01 66 637263333263 1a 9ab2280a"
d=$OUT/dump
cp "$T/ex.cbor" "$d/dumpmd-example.cbor"
hex2bin "$EX_HDR a2 67 7265636f726473 00 66 637263333263 00" >"$d/empty.cbor"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 01 66 637263333263 1a 9ab2" \
	>"$d/bad-truncated.cbor"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 01 66 637263333263 1a 9ab2280b" \
	>"$d/bad-crc.cbor"
hex2bin "$EX_HDR $EX_REC $EX_TRL 00" >"$d/bad-trailing.cbor"
hex2bin "$EX_HDR 82 43 000001 42 6869 $EX_TRL" >"$d/bad-keylen.cbor"
hex2bin "$EX_REC $EX_TRL" >"$d/bad-notag.cbor"
hex2bin "$EX_HDR $EX_REC a2 67 7265636f726473 02 66 637263333263 1a 9ab2280a" \
	>"$d/bad-count.cbor"
hex2bin "$EX_HDR 82 44 00000001 5a ffffffff 6869 $EX_TRL" >"$d/bad-hugelen.cbor"
# indefinite-length header map, record array and strings (valid CBOR; the
# trailer CRC then differs, so the reader stops at the trailer)
hex2bin "d9d9f7 bf 6a776f64616e2d64756d70 01 68 6b65792d73697a65 04
	6a746f6d6273746f6e6573 f5 ff 9f 5f 42 0000 42 0001 ff 7f ff ff
	$EX_TRL" >"$d/indefinite.cbor"

echo "make-corpus: $N images; files: $(ls "$OUT/image" | wc -l) image," \
     "$(ls "$OUT/node" | wc -l) node, $(ls "$OUT/superblock" | wc -l)" \
     "superblock, $(ls "$OUT/dump" | wc -l) dump;" \
     "$(cat "$OUT"/*/* | wc -c | tr -d ' ') bytes"
