/*
 * test_layout.c -- byte-exact Wodan layout v1 (doc/SPEC.md §1-§8).
 *
 * Every expected block below is built BY HAND from the tables of doc/SPEC.md
 * (hex literals written field by field, with the offset and field name in a
 * comment), never by calling the encoder.  The CRC of each hand-built unit is
 * computed with wd_crc32c over the hand-built bytes AND pinned as a literal
 * (the literals were cross-checked with an independent Python CRC-32C).
 *
 *  1. superblock (bs 4096, ks 20, fbw 5, lsize 16, fsid 00..0f) with incompat
 *     0x7 (readable by the original) and 0xF; a wide-field variant pinning the
 *     byte order of the misaligned u64s; decode of each field; rejections.
 *  2. empty root (rdepth 0, gen 1) and a preroot (gen 0), bs 4096 ks 4.
 *  3. root with two logged items and two child links (rdepth 1).
 *  4. child leaf (type 2, 29-byte header) with items, and an inner child.
 *  5. decode round trips, and rejections of hostile blocks.
 *  6. a whole image made by wodan_mkfs on a RAM backend, then a flush.
 *
 * WODAN_SEED replays the randomised parts (mkfs picks fbw and fsid itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "crc.h"
#include "error.h"
#include "node.h"
#include "nodecodec.h"
#include "superblock.h"

static uint64_t seed;

/* ------------------------------------------------------------- helpers */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Write the hex bytes of `hex` (spaces ignored) at buf + *off; advance. */
static void hx(uint8_t *buf, size_t *off, const char *hex)
{
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		int a = hexval(hex[0]), b = hex[1] ? hexval(hex[1]) : -1;
		if (a < 0 || b < 0)
			fail_msg("bad hex literal near \"%s\"", hex);
		buf[(*off)++] = (uint8_t)(a << 4 | b);
		hex += 2;
	}
}

/* Seal a hand-built unit: compute ~crc32c(covered) over the hand-built
 * bytes, check it against the pinned literal (4 bytes as on disk, LE) and
 * store it.  pinned NULL: unit contents are random (fsid from mkfs). */
static void hand_seal(uint8_t *u, size_t len, const char *pinned)
{
	uint32_t v = ~wd_crc32c(0, u, len - 4);
	uint8_t got[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			   (uint8_t)(v >> 24) };
	if (pinned) {
		uint8_t want[4];
		size_t o = 0;
		hx(want, &o, pinned);
		assert_int_equal(o, 4);
		if (memcmp(got, want, 4) != 0)
			fail_msg("CRC of the hand-built unit is %02x %02x %02x "
				 "%02x, pinned %s", got[0], got[1], got[2],
				 got[3], pinned);
	}
	memcpy(u + len - 4, got, 4);
}

/* Compare two byte strings; on mismatch name the first differing offset. */
static void assert_bytes(const uint8_t *want, const uint8_t *got, size_t len,
			 const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (want[i] != got[i])
			fail_msg("%s: byte %zu is %02x, expected %02x", what, i,
				 got[i], want[i]);
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* ========================================================= 1. superblock */

#define SB_DEV_BYTES (16ull * 4096) /* exactly lsize blocks */

/* doc/SPEC.md §2, field by field.  incompat and crc as on-disk hex. */
static void hand_sb(uint8_t sb[512], const char *incompat, const char *crc)
{
	size_t o = 0;
	memset(sb, 0, 512);
	/*   0 magic "MIRAGE KVFS " + U+1F42A (camel, UTF-8 f0 9f 90 aa) */
	hx(sb, &o, "4d 49 52 41 47 45 20 4b 56 46 53 20 f0 9f 90 aa");
	hx(sb, &o, "01 00 00 00");             /*  16 version = 1 */
	hx(sb, &o, "00 00 00 00");             /*  20 compat_flags = 0 */
	hx(sb, &o, incompat);                  /*  24 incompat_flags */
	hx(sb, &o, "00 10 00 00");             /*  28 block_size = 4096 */
	hx(sb, &o, "14");                      /*  32 key_size = 20 */
	hx(sb, &o, "05 00 00 00 00 00 00 00"); /*  33 first_block_written 5 */
	hx(sb, &o, "10 00 00 00 00 00 00 00"); /*  41 logical_size = 16 */
	/*  49 fsid = 00 01 .. 0f */
	hx(sb, &o, "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
	assert_int_equal(o, 65);
	/*  65..507 reserved: zero (memset) */
	hand_seal(sb, 512, crc);                 /* 508 crc, doc/SPEC.md §4 */
}

static void sb_geom(struct wd_geom *g, uint32_t incompat)
{
	memset(g, 0, sizeof *g);
	g->bs = 4096;
	g->ks = 20;
	g->incompat = incompat;
	g->lsize = 16;
	g->fbw = 5;
	for (int i = 0; i < 16; i++)
		g->fsid[i] = (uint8_t)i;
	wd_geom_derive(g);
}

/* Pinned CRC trailers of the two hand-built superblocks. */
#define SB7_CRC "9f 7e 03 6f"
#define SBF_CRC "d1 03 32 90"
#define SBW1_CRC "45 3a 84 2f"
#define SBW2_CRC "ee 7b da d6"

static void check_sb_decoded(const struct wd_geom *d, uint32_t incompat)
{
	assert_int_equal(d->bs, 4096);
	assert_int_equal(d->ks, 20);
	assert_int_equal(d->incompat, incompat);
	assert_int_equal(d->tombstones, (incompat & 0x8) ? 1 : 0);
	assert_int_equal(d->fbw, 5);
	assert_int_equal(d->lsize, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(d->fsid[i], i);
	/* derived geometry (doc/SPEC.md §6) */
	assert_int_equal(d->block_end, 4092);
	assert_int_equal(d->q, 3840);            /* floor(15*4096/16) */
	assert_int_equal(d->cl, 28);             /* ks + 8 */
	assert_int_equal(d->cmax, (4092 - 3840) / 28);
	assert_int_equal(d->max_value, 3840 - 35 - 20);
}

static void test_sb_bytes(void **state)
{
	(void)state;
	static const struct {
		uint32_t flags;
		const char *hex, *crc;
	} v[] = {
		{ 0x7, "07 00 00 00", SB7_CRC }, /* what the original reads */
		{ 0xF, "0f 00 00 00", SBF_CRC }, /* + tombstones */
	};
	for (size_t i = 0; i < 2; i++) {
		uint8_t want[512], got[512];
		hand_sb(want, v[i].hex, v[i].crc);
		struct wd_geom g;
		sb_geom(&g, v[i].flags);
		memset(got, 0xa5, sizeof got); /* encoder must clear it all */
		wd_sb_encode(&g, got);
		assert_bytes(want, got, 512, "superblock");
		/* the trailer convention holds for the hand-built unit */
		assert_int_equal(wd_crc32c(0, want, 512), 0xFFFFFFFFu);

		struct wd_geom d;
		assert_int_equal(wd_sb_decode(want, 0, SB_DEV_BYTES, 512, &d), 0);
		check_sb_decoded(&d, v[i].flags);
		/* a larger device is fine too (lsize <= device blocks) */
		assert_int_equal(wd_sb_decode(want, 0, 1ull << 30, 4096, &d), 0);
		check_sb_decoded(&d, v[i].flags);
	}
}

/* Misaligned u64s and the u32 block size with distinct bytes: pins the
 * little-endian byte order of every field. */
static void hand_sb_wide(uint8_t sb[512], const char *bs, const char *fbw,
			 const char *lsize, const char *crc)
{
	size_t o = 0;
	memset(sb, 0, 512);
	hx(sb, &o, "4d 49 52 41 47 45 20 4b 56 46 53 20 f0 9f 90 aa");
	hx(sb, &o, "01 00 00 00");   /* 16 version */
	hx(sb, &o, "00 00 00 00");   /* 20 compat */
	hx(sb, &o, "0f 00 00 00");   /* 24 incompat 0xF */
	hx(sb, &o, bs);              /* 28 block_size */
	hx(sb, &o, "ff");            /* 32 key_size 255 */
	hx(sb, &o, fbw);             /* 33 first_block_written */
	hx(sb, &o, lsize);           /* 41 logical_size */
	/* 49 fsid */
	hx(sb, &o, "f0 e1 d2 c3 b4 a5 96 87 78 69 5a 4b 3c 2d 1e 0f");
	assert_int_equal(o, 65);
	hand_seal(sb, 512, crc);
}

static void test_sb_wide_fields(void **state)
{
	(void)state;
	uint8_t want[512], got[512];
	struct wd_geom g = { 0 }, d;
	g.ks = 255;
	g.incompat = 0xF;

	/* (a) bs 4096, fbw 0x0001020304050607, lsize 0x000e0d0c0b0a0908:
	 * encode and decode (device of 2^64-1 bytes) */
	hand_sb_wide(want, "00 10 00 00", "07 06 05 04 03 02 01 00",
		     "08 09 0a 0b 0c 0d 0e 00", SBW1_CRC);
	g.bs = 4096;
	g.fbw = 0x0001020304050607ull;
	g.lsize = 0x000e0d0c0b0a0908ull;
	memcpy(g.fsid, want + 49, 16);
	wd_geom_derive(&g);
	wd_sb_encode(&g, got);
	assert_bytes(want, got, 512, "wide superblock (a)");
	assert_int_equal(wd_sb_decode(want, 0, UINT64_MAX, 512, &d), 0);
	assert_int_equal(d.bs, 4096);
	assert_int_equal(d.ks, 255);
	assert_true(d.fbw == 0x0001020304050607ull);
	assert_true(d.lsize == 0x000e0d0c0b0a0908ull);
	assert_memory_equal(d.fsid, want + 49, 16);
	assert_int_equal(d.incompat, 0xF);
	assert_int_equal(d.tombstones, 1);

	/* (b) bs 0x01234000 (18.2 MiB), fbw 0x8877665544332211, lsize
	 * 0xfedcba9876543210: encode only (no device is that large, decode
	 * refuses the logical size) */
	hand_sb_wide(want, "00 40 23 01", "11 22 33 44 55 66 77 88",
		     "10 32 54 76 98 ba dc fe", SBW2_CRC);
	g.bs = 0x01234000;
	g.fbw = 0x8877665544332211ull;
	g.lsize = 0xfedcba9876543210ull;
	wd_geom_derive(&g);
	wd_sb_encode(&g, got);
	assert_bytes(want, got, 512, "wide superblock (b)");
	assert_int_equal(wd_sb_decode(want, 0, UINT64_MAX, 512, &d),
			 WODAN_E_INVAL);
}

/* Decode a mutated copy of the 0x7 superblock; reseal: recompute the CRC
 * after mutating (so only the intended check can fail). */
static int sb_try(void (*mut)(uint8_t *sb, uint64_t arg), uint64_t arg,
		  int reseal, int relax, uint64_t dev_bytes, uint32_t io)
{
	uint8_t sb[512];
	hand_sb(sb, "07 00 00 00", SB7_CRC);
	if (mut)
		mut(sb, arg);
	if (reseal)
		wd_crc_seal(sb, 512);
	struct wd_geom d;
	wd_err_clear();
	int r = wd_sb_decode(sb, relax, dev_bytes, io, &d);
	if (r) {
		assert_int_equal(wodan_last_error()->code, r);
		if (r != WODAN_E_INVAL)
			assert_true(wodan_last_error()->block == 0);
	}
	return r;
}

static void m_byte(uint8_t *sb, uint64_t arg)  /* arg: off<<8 | xor mask */
{
	sb[arg >> 8] ^= (uint8_t)arg;
}
static void m_version(uint8_t *sb, uint64_t v) { put32(sb + 16, (uint32_t)v); }
static void m_compat(uint8_t *sb, uint64_t v) { put32(sb + 20, (uint32_t)v); }
static void m_flags(uint8_t *sb, uint64_t v) { put32(sb + 24, (uint32_t)v); }
static void m_bs(uint8_t *sb, uint64_t v) { put32(sb + 28, (uint32_t)v); }
static void m_ks(uint8_t *sb, uint64_t v) { sb[32] = (uint8_t)v; }
static void m_fbw(uint8_t *sb, uint64_t v) { put64(sb + 33, v); }
static void m_lsize(uint8_t *sb, uint64_t v) { put64(sb + 41, v); }
static void m_zero(uint8_t *sb, uint64_t v) { (void)v; memset(sb, 0, 512); }
static void m_plain_crc(uint8_t *sb, uint64_t v)
{
	(void)v;
	put32(sb + 508, wd_crc32c(0, sb, 508));
}
static void m_magic_crc(uint8_t *sb, uint64_t v)
{
	(void)v;
	memset(sb + 508, 0xff, 4);
}

#define DEV SB_DEV_BYTES
static void test_sb_reject(void **state)
{
	(void)state;
	/* baseline */
	assert_int_equal(sb_try(NULL, 0, 0, 0, DEV, 512), 0);

	/* magic: first, last byte; an all-zero (never formatted) device */
	assert_int_equal(sb_try(m_byte, 0x0001, 1, 0, DEV, 512),
			 WODAN_E_BAD_MAGIC);
	assert_int_equal(sb_try(m_byte, 0x0f01, 1, 0, DEV, 512),
			 WODAN_E_BAD_MAGIC);
	assert_int_equal(sb_try(m_zero, 0, 0, 0, DEV, 512), WODAN_E_BAD_MAGIC);
	/* bad magic is reported before a bad CRC (doc/SPEC.md §2 order) */
	assert_int_equal(sb_try(m_byte, 0x0001, 0, 0, DEV, 512),
			 WODAN_E_BAD_MAGIC);

	/* version */
	assert_int_equal(sb_try(m_version, 2, 1, 0, DEV, 512),
			 WODAN_E_BAD_VERSION);
	assert_int_equal(sb_try(m_version, 0, 1, 0, DEV, 512),
			 WODAN_E_BAD_VERSION);
	assert_int_equal(sb_try(m_version, 0x01000000, 1, 0, DEV, 512),
			 WODAN_E_BAD_VERSION); /* big-endian 1 */
	assert_int_equal(sb_try(m_version, 2, 0, 0, DEV, 512),
			 WODAN_E_BAD_VERSION); /* before CRC */

	/* incompat flags: required bits missing, unknown bits set */
	static const uint32_t bad_flags[] = { 0x3, 0x27, 0x0, 0x5, 0x6, 0xB,
					      0x3F, 0x107, 0x80000007,
					      0x07000000, 0x13 };
	for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
		assert_int_equal(sb_try(m_flags, bad_flags[i], 1, 0, DEV, 512),
				 WODAN_E_BAD_FLAGS);
		assert_int_equal(sb_try(m_flags, bad_flags[i], 0, 0, DEV, 512),
				 WODAN_E_BAD_FLAGS); /* before CRC */
	}
	/* 0x10 (journal, doc/SPEC.md §10) is known, with or without 0x8 */
	assert_int_equal(sb_try(m_flags, 0x17, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_flags, 0x1F, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_flags, 0xF, 1, 0, DEV, 512), 0);

	/* CRC: a reserved byte, a trailer byte, every header byte of the
	 * fields after the flags, a plain (non-inverted) trailer */
	assert_int_equal(sb_try(m_byte, (100 << 8) | 1, 0, 0, DEV, 512),
			 WODAN_E_BAD_CRC);
	assert_int_equal(sb_try(m_byte, (508 << 8) | 0x80, 0, 0, DEV, 512),
			 WODAN_E_BAD_CRC);
	assert_int_equal(sb_try(m_byte, (511 << 8) | 0x01, 0, 0, DEV, 512),
			 WODAN_E_BAD_CRC);
	for (uint64_t off = 20; off < 65; off++) {
		if (off >= 24 && off < 28)
			continue; /* flags: BAD_FLAGS first */
		assert_int_equal(sb_try(m_byte, (off << 8) | 0x40, 0, 0, DEV,
					512), WODAN_E_BAD_CRC);
	}
	assert_int_equal(sb_try(m_plain_crc, 0, 0, 0, DEV, 512),
			 WODAN_E_BAD_CRC);
	assert_int_equal(sb_try(m_plain_crc, 0, 0, 1, DEV, 512),
			 WODAN_E_BAD_CRC);
	/* magic trailer: only in relaxed mode */
	assert_int_equal(sb_try(m_magic_crc, 0, 0, 0, DEV, 512),
			 WODAN_E_BAD_CRC);
	assert_int_equal(sb_try(m_magic_crc, 0, 0, 1, DEV, 512), 0);

	/* ignored on read: compat flags and reserved bytes */
	assert_int_equal(sb_try(m_compat, 0xFFFFFFFF, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_byte, (65 << 8) | 0xff, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_byte, (507 << 8) | 0xff, 1, 0, DEV, 512), 0);

	/* key size */
	assert_int_equal(sb_try(m_ks, 0, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_ks, 1, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_ks, 255, 1, 0, DEV, 512), 0);

	/* block size: multiple of 512, of 4096 once >= 4096, of the I/O size,
	 * 512..64 MiB */
	assert_int_equal(sb_try(m_bs, 1000, 1, 0, 1ull << 30, 512),
			 WODAN_E_INVAL);
	assert_int_equal(sb_try(m_bs, 0, 1, 0, 1ull << 30, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_bs, 256, 1, 0, 1ull << 30, 512),
			 WODAN_E_INVAL);
	assert_int_equal(sb_try(m_bs, 4608, 1, 0, 1ull << 30, 512),
			 WODAN_E_INVAL); /* 9*512 >= 4096, not 4096-aligned */
	assert_int_equal(sb_try(m_bs, 128u << 20, 1, 0, UINT64_MAX, 512),
			 WODAN_E_INVAL);
	assert_int_equal(sb_try(m_bs, 4096, 1, 0, DEV, 8192), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_bs, 512, 1, 0, 1ull << 30, 512), 0);
	assert_int_equal(sb_try(m_bs, 3584, 1, 0, 1ull << 30, 512), 0);
	assert_int_equal(sb_try(m_bs, 64u << 20, 1, 0, UINT64_MAX, 4096), 0);

	/* logical size: 2 <= lsize <= device blocks */
	assert_int_equal(sb_try(NULL, 0, 0, 0, DEV - 4096, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(NULL, 0, 0, 0, DEV - 1, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(NULL, 0, 0, 0, 0, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_lsize, 17, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_lsize, 1, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_lsize, 0, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_lsize, UINT64_MAX, 1, 0, UINT64_MAX, 512),
			 WODAN_E_INVAL);

	/* first block written: 1 <= fbw < lsize */
	assert_int_equal(sb_try(m_fbw, 0, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_fbw, 16, 1, 0, DEV, 512), WODAN_E_INVAL);
	assert_int_equal(sb_try(m_fbw, 1ull << 63, 1, 0, DEV, 512),
			 WODAN_E_INVAL);
	assert_int_equal(sb_try(m_fbw, 1, 1, 0, DEV, 512), 0);
	assert_int_equal(sb_try(m_fbw, 15, 1, 0, DEV, 512), 0);
}

/* ========================================================== node blocks */

/* Node geometry: bs 4096, ks 4, lsize 64, fsid a0..af.
 * block_end 4092, cl 12: link slot i at 4080 - 12 i. */
#define NBS 4096
#define NKS 4

static void node_geom(struct wd_geom *g)
{
	memset(g, 0, sizeof *g);
	g->bs = NBS;
	g->ks = NKS;
	g->incompat = 0x7;
	g->lsize = 64;
	g->fbw = 1;
	for (int i = 0; i < 16; i++)
		g->fsid[i] = (uint8_t)(0xa0 + i);
	wd_geom_derive(g);
}

#define FSID_HEX "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af"
static const uint8_t FF4[4] = { 0xff, 0xff, 0xff, 0xff };
static const uint8_t K40[4] = { 0x40, 0, 0, 0 };

/* 2. empty root, rdepth 0 (gen 1: what mkfs writes; gen 0: a preroot) */
#define EMPTY_ROOT_G1_CRC "b4 83 58 17"
#define PREROOT_CRC "be 7f 04 5b"

static void hand_empty_root(uint8_t *blk, const char *gen, const char *crc)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "01");          /*  0 nodetype = 1 (root) */
	hx(blk, &o, gen);           /*  1 generation u64 */
	hx(blk, &o, FSID_HEX);      /*  9 fsid */
	hx(blk, &o, "00 00 00 00"); /* 25 value_count = 0 */
	hx(blk, &o, "00 00 00 00"); /* 29 depth (rdepth) = 0 */
	assert_int_equal(o, 33);
	/* 33..4091: no items, no links: zero */
	hand_seal(blk, NBS, crc);   /* 4092 crc */
}

/* 3. root, gen 7, rdepth 1, two logged items and two child links */
#define ROOT2_CRC "53 20 b5 82"
static void hand_root2(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "01");                      /*  0 nodetype root */
	hx(blk, &o, "07 00 00 00 00 00 00 00"); /*  1 generation 7 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "02 00 00 00");             /* 25 value_count 2 */
	hx(blk, &o, "01 00 00 00");             /* 29 depth 1 */
	assert_int_equal(o, 33);
	/* logged items, ascending, from 33 */
	hx(blk, &o, "10 00 00 01");             /* 33 key 10000001 */
	hx(blk, &o, "02 00");                   /* 37 datalen 2 */
	hx(blk, &o, "61 62");                   /* 39 "ab" */
	hx(blk, &o, "80 00 00 00");             /* 41 key 80000000 */
	hx(blk, &o, "00 00");                   /* 45 datalen 0 */
	assert_int_equal(o, 47);                /* value_end */
	/* 47..4067 zero gap */
	o = 4068;                               /* slot 1 = 4092 - 2*12 */
	hx(blk, &o, "ff ff ff ff");             /* 4068 link 1 key ffffffff */
	hx(blk, &o, "2a 00 00 00 00 00 00 00"); /* 4072 address 42 */
	assert_int_equal(o, 4080);              /* slot 0 = 4092 - 12 */
	hx(blk, &o, "40 00 00 00");             /* 4080 link 0 key 40000000 */
	hx(blk, &o, "03 00 00 00 00 00 00 00"); /* 4084 address 3 */
	hand_seal(blk, NBS, ROOT2_CRC);         /* 4092 crc */
}

/* 4a. child leaf at 42 (range (40000000, ffffffff]), gen 5, 3 items */
#define LEAF_CRC "3a 60 49 ab"
static void hand_leaf(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02");                      /*  0 nodetype child */
	hx(blk, &o, "05 00 00 00 00 00 00 00"); /*  1 generation 5 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "03 00 00 00");             /* 25 value_count 3 */
	assert_int_equal(o, 29);                /* no depth field */
	hx(blk, &o, "50 00 00 00");             /* 29 key 50000000 */
	hx(blk, &o, "03 00");                   /* 33 datalen 3 */
	hx(blk, &o, "78 79 7a");                /* 35 "xyz" */
	hx(blk, &o, "60 00 00 00");             /* 38 key 60000000 */
	hx(blk, &o, "2c 01");                   /* 42 datalen 300 */
	for (int i = 0; i < 300; i++)           /* 44 value: i*7 mod 256 */
		blk[o++] = (uint8_t)(i * 7);
	assert_int_equal(o, 344);
	hx(blk, &o, "ff ff ff ff");             /* 344 key ffffffff */
	hx(blk, &o, "05 00");                   /* 348 datalen 5 */
	hx(blk, &o, "68 65 6c 6c 6f");          /* 350 "hello" */
	assert_int_equal(o, 355);               /* value_end */
	/* 355..4091 zero: no links */
	hand_seal(blk, NBS, LEAF_CRC);
}

/* 4b. inner child at 3 (range (-inf, 40000000], rdepth 1), gen 4: one item
 * and three links */
#define INNER_CRC "28 6a 40 32"
static void hand_inner(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02");                      /*  0 nodetype child */
	hx(blk, &o, "04 00 00 00 00 00 00 00"); /*  1 generation 4 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "01 00 00 00");             /* 25 value_count 1 */
	hx(blk, &o, "00 00 00 00");             /* 29 key 00000000 */
	hx(blk, &o, "01 00");                   /* 33 datalen 1 */
	hx(blk, &o, "00");                      /* 35 value 00 */
	assert_int_equal(o, 36);
	o = 4092 - 3 * 12;                      /* 4056 slot 2 */
	hx(blk, &o, "40 00 00 00");             /* key 40000000 (= hi) */
	hx(blk, &o, "0c 00 00 00 00 00 00 00"); /* address 12 */
	hx(blk, &o, "20 00 00 00");             /* 4068 slot 1 key 20000000 */
	hx(blk, &o, "0b 00 00 00 00 00 00 00"); /* address 11 */
	hx(blk, &o, "00 00 00 01");             /* 4080 slot 0 key 00000001 */
	hx(blk, &o, "0a 00 00 00 00 00 00 00"); /* address 10 */
	assert_int_equal(o, 4092);
	hand_seal(blk, NBS, INNER_CRC);
}

static void put_item(struct wd_node *n, const char *key_hex, const void *v,
		     uint32_t len)
{
	uint8_t k[NKS];
	size_t o = 0;
	hx(k, &o, key_hex);
	assert_int_equal(wd_log_put(n, NKS, k, v, len), 0);
}

static void put_link(struct wd_node *n, uint32_t idx, const char *key_hex,
		     uint64_t addr)
{
	uint8_t k[NKS];
	size_t o = 0;
	hx(k, &o, key_hex);
	assert_int_equal(wd_link_insert(n, NKS, idx, k, addr, NULL), 0);
}

/* Encode into a garbage-filled buffer: the gap must still come out zero. */
static void encode(const struct wd_geom *g, const struct wd_node *n,
		   uint64_t gen, uint8_t *blk)
{
	memset(blk, 0x5a, NBS);
	wd_node_encode(g, n, gen, 0, blk);
}

static struct wd_node *mk_root2(void)
{
	struct wd_node *n = wd_node_new(NKS, NULL, FF4, 1, 1);
	assert_non_null(n);
	/* inserted out of order: the encoder writes the log ascending */
	put_item(n, "80 00 00 00", "", 0);
	put_item(n, "10 00 00 01", "ab", 2);
	put_link(n, 0, "ff ff ff ff", 42);
	put_link(n, 0, "40 00 00 00", 3);
	return n;
}

static uint8_t leafval[300];

static struct wd_node *mk_leaf(void)
{
	for (int i = 0; i < 300; i++)
		leafval[i] = (uint8_t)(i * 7);
	struct wd_node *n = wd_node_new(NKS, K40, FF4, 0, 0);
	assert_non_null(n);
	put_item(n, "ff ff ff ff", "hello", 5);
	put_item(n, "50 00 00 00", "xyz", 3);
	put_item(n, "60 00 00 00", leafval, 300);
	return n;
}

static struct wd_node *mk_inner(void)
{
	struct wd_node *n = wd_node_new(NKS, NULL, K40, 1, 0);
	assert_non_null(n);
	put_item(n, "00 00 00 00", "\0", 1);
	put_link(n, 0, "00 00 00 01", 10);
	put_link(n, 1, "20 00 00 00", 11);
	put_link(n, 2, "40 00 00 00", 12);
	return n;
}

static void test_node_empty_root(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	struct wd_node *n = wd_node_new(NKS, NULL, FF4, 0, 1);
	assert_non_null(n);

	hand_empty_root(want, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	encode(&g, n, 1, got);
	assert_bytes(want, got, NBS, "empty root gen 1");

	/* preroot (doc/SPEC.md §7): same, generation 0 */
	hand_empty_root(want, "00 00 00 00 00 00 00 00", PREROOT_CRC);
	encode(&g, n, 0, got);
	assert_bytes(want, got, NBS, "preroot");

	/* a large generation: u64 LE at offset 1 */
	hand_empty_root(want, "08 07 06 05 04 03 02 81", NULL);
	encode(&g, n, 0x8102030405060708ull, got);
	assert_bytes(want, got, NBS, "empty root, large generation");

	/* magic trailer mode: same bytes, trailer ff ff ff ff */
	hand_empty_root(want, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	memset(want + 4092, 0xff, 4);
	memset(got, 0x5a, NBS);
	wd_node_encode(&g, n, 1, 1, got);
	assert_bytes(want, got, NBS, "empty root, magic CRC");
	wd_node_free(n);
}

static void test_node_root2(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	hand_root2(want);
	struct wd_node *n = mk_root2();
	encode(&g, n, 7, got);
	assert_bytes(want, got, NBS, "root with items and links");
	wd_node_free(n);
}

static void test_node_child(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	hand_leaf(want);
	struct wd_node *n = mk_leaf();
	encode(&g, n, 5, got);
	assert_bytes(want, got, NBS, "child leaf");
	wd_node_free(n);

	hand_inner(want);
	n = mk_inner();
	encode(&g, n, 4, got);
	assert_bytes(want, got, NBS, "inner child");
	wd_node_free(n);
}

/* ------------------------------------------------------ 5. decode */

static struct wd_expect ex_root(void)
{
	struct wd_expect e = { 1, 0, NULL, NULL, UINT64_MAX };
	return e;
}

static struct wd_expect ex_child(uint32_t rdepth, const uint8_t *lo,
				 const uint8_t *hi, uint64_t pgen)
{
	struct wd_expect e = { 0, rdepth, lo, hi, pgen };
	return e;
}

/* Items and links of a and b equal (and their order). */
static void assert_same_node(const struct wd_node *a, const struct wd_node *b)
{
	assert_int_equal(a->nitems, b->nitems);
	assert_int_equal(a->log_bytes, b->log_bytes);
	for (uint32_t i = 0; i < a->nitems; i++) {
		const struct wd_item *x = wd_node_item(a, i);
		const struct wd_item *y = wd_node_item(b, i);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, NKS + x->len);
	}
	assert_int_equal(a->nlinks, b->nlinks);
	for (uint32_t i = 0; i < a->nlinks; i++) {
		assert_memory_equal(wd_link_key(a, NKS, i),
				    wd_link_key(b, NKS, i), NKS);
		assert_true(a->laddr[i] == b->laddr[i]);
	}
	assert_int_equal(a->rdepth, b->rdepth);
	assert_int_equal(a->is_root, b->is_root);
}

static void roundtrip(const struct wd_geom *g, const uint8_t *blk,
		      uint64_t L, const struct wd_expect *ex,
		      struct wd_node *model, uint64_t gen)
{
	struct wd_node *d = NULL;
	wd_err_clear();
	int r = wd_node_decode(g, blk, L, ex, &d);
	if (r)
		fail_msg("decode of block %llu failed: %d %s",
			 (unsigned long long)L, r,
			 wodan_last_error()->message);
	assert_non_null(d);
	assert_same_node(model, d);
	assert_true(d->gen == gen);
	assert_true(d->addr == L);
	/* re-encode: identical block */
	uint8_t again[NBS];
	encode(g, d, gen, again);
	assert_bytes(blk, again, NBS, "re-encoded block");
	wd_node_free(d);
	wd_node_free(model);
}

static void test_decode_roundtrip(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect e;

	hand_empty_root(blk, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	e = ex_root();
	roundtrip(&g, blk, 9, &e, wd_node_new(NKS, NULL, FF4, 0, 1), 1);

	hand_root2(blk);
	e = ex_root();
	roundtrip(&g, blk, 1, &e, mk_root2(), 7);

	hand_leaf(blk);
	e = ex_child(0, K40, FF4, 7);
	roundtrip(&g, blk, 42, &e, mk_leaf(), 5);

	hand_inner(blk);
	e = ex_child(1, NULL, K40, 7);
	roundtrip(&g, blk, 3, &e, mk_inner(), 4);

	/* root peek used by the root search */
	uint64_t gen = 0;
	hand_root2(blk);
	assert_int_equal(wd_node_peek_root(&g, blk, &gen), 1);
	assert_true(gen == 7);
	hand_leaf(blk);
	assert_int_equal(wd_node_peek_root(&g, blk, &gen), 0);
}

/* Decode blk (after resealing) and expect error code `want`; when want is
 * WODAN_E_CORRUPT the detail must name block L. */
static void expect_decode(const struct wd_geom *g, uint8_t *blk, uint64_t L,
			  const struct wd_expect *ex, int want,
			  const char *what)
{
	wd_crc_seal(blk, NBS);
	struct wd_node *d = (struct wd_node *)1;
	wd_err_clear();
	int r = wd_node_decode(g, blk, L, ex, &d);
	if (r != want)
		fail_msg("%s: decode returned %d (%s: %s), expected %d", what,
			 r, wodan_strerror(r), wodan_last_error()->message,
			 want);
	if (r) {
		assert_null(d);
		assert_int_equal(wodan_last_error()->code, r);
		assert_true(wodan_last_error()->block == L);
	} else {
		assert_non_null(d);
		wd_node_free(d);
	}
}

static void test_decode_reject_header(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_expect el = ex_child(0, K40, FF4, 7);

	/* wrong type: a root where a child is expected and vice versa;
	 * unknown types 0, 3, ff */
	hand_root2(blk);
	expect_decode(&g, blk, 3, &el, WODAN_E_BAD_NODE_TYPE, "root as child");
	hand_leaf(blk);
	expect_decode(&g, blk, 42, &er, WODAN_E_BAD_NODE_TYPE, "child as root");
	static const uint8_t types[] = { 0, 3, 0xff };
	for (size_t i = 0; i < 3; i++) {
		hand_leaf(blk);
		blk[0] = types[i];
		expect_decode(&g, blk, 42, &el, WODAN_E_BAD_NODE_TYPE, "type");
		expect_decode(&g, blk, 42, &er, WODAN_E_BAD_NODE_TYPE, "type");
	}

	/* fsid mismatch: first and last fsid byte */
	hand_leaf(blk);
	blk[9] ^= 1;
	expect_decode(&g, blk, 42, &el, WODAN_E_FSID, "fsid byte 0");
	hand_root2(blk);
	blk[24] ^= 0x80;
	expect_decode(&g, blk, 1, &er, WODAN_E_FSID, "fsid byte 15");

	/* value_count too large for the block */
	hand_leaf(blk);
	put32(blk + 25, 0xFFFFFFFFu);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "count ffffffff");
	hand_leaf(blk);
	put32(blk + 25, (4092 - 29) / (NKS + 2) + 1);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "count max+1");
	hand_root2(blk);
	put32(blk + 25, 0x80000000u);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root count");

	/* generation not below the parent's (strict, unsigned) */
	hand_leaf(blk);
	expect_decode(&g, blk, 42, &el, 0, "gen 5 < 7");
	struct wd_expect e5 = ex_child(0, K40, FF4, 5);
	expect_decode(&g, blk, 42, &e5, WODAN_E_CORRUPT, "gen 5 !< 5");
	struct wd_expect e6 = ex_child(0, K40, FF4, 6);
	expect_decode(&g, blk, 42, &e6, 0, "gen 5 < 6");
	struct wd_expect e1 = ex_child(0, K40, FF4, 1);
	expect_decode(&g, blk, 42, &e1, WODAN_E_CORRUPT, "gen 5 !< 1");
	hand_leaf(blk);
	put64(blk + 1, 0x8000000000000000ull); /* negative as OCaml int64 */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "gen 2^63 !< 7");
	struct wd_expect ebig = ex_child(0, K40, FF4, 0x8000000000000001ull);
	expect_decode(&g, blk, 42, &ebig, 0, "gen 2^63 < 2^63+1 (unsigned)");

	/* absurd root depth (empty, and with valid links) */
	hand_empty_root(blk, "01 00 00 00 00 00 00 00", NULL);
	put32(blk + 29, 0xFFFFFFFFu);
	expect_decode(&g, blk, 9, &er, WODAN_E_CORRUPT, "root depth ffffffff");
	hand_root2(blk);
	put32(blk + 29, 0xFFFFFFFFu);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root depth ffffffff");
	hand_root2(blk);
	put32(blk + 29, 2);
	expect_decode(&g, blk, 1, &er, 0, "root depth 2");
}

static void test_decode_reject_items(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_expect el = ex_child(0, K40, FF4, 7);

	/* item length bleeding past the end (last item "hello" at 344) */
	hand_leaf(blk);
	blk[348] = 0xff;
	blk[349] = 0xff;
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "len ffff");
	/* exact boundary: one item ending exactly at block_end is fine, one
	 * byte more bleeds into the CRC */
	for (int extra = 0; extra < 2; extra++) {
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "02 05 00 00 00 00 00 00 00"); /* child, gen 5 */
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "01 00 00 00");                /* 1 item */
		hx(blk, &o, "50 00 00 00");                /* key */
		uint32_t len = 4092 - 29 - NKS - 2 + (uint32_t)extra;
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		/* value bytes: when the item fits, non-zero where link
		 * slots would be (they must not be read as links); when it
		 * bleeds, zero (so no other rule can catch the block) */
		memset(blk + o, extra ? 0 : 0x77, 4092 - o);
		expect_decode(&g, blk, 42, &el,
			      extra ? WODAN_E_CORRUPT : 0, "full leaf");
	}
	/* item header bleeding past the end: 2 items, the first ends 5
	 * bytes before block_end */
	{
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "01 05 00 00 00 00 00 00 00"); /* root, gen 5 */
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "02 00 00 00 00 00 00 00");    /* 2 items, depth 0 */
		hx(blk, &o, "50 00 00 00");
		uint32_t len = 4092 - 5 - 33 - NKS - 2;
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "item header");
	}

	/* logged key outside (lo, hi]: leaf range (40000000, 80000000] */
	uint8_t k80[4] = { 0x80, 0, 0, 0 };
	struct wd_expect en = ex_child(0, K40, k80, 7);
	hand_leaf(blk); /* keys 50.., 60.., ff.. */
	expect_decode(&g, blk, 42, &en, WODAN_E_CORRUPT, "key ffffffff > hi");
	hand_leaf(blk);
	memcpy(blk + 344, "\x80\x00\x00\x00", 4);         /* key == hi */
	expect_decode(&g, blk, 42, &en, 0, "key == hi");
	memcpy(blk + 344, "\x80\x00\x00\x01", 4);         /* hi + 1 */
	expect_decode(&g, blk, 42, &en, WODAN_E_CORRUPT, "key hi+1");
	hand_leaf(blk);
	memcpy(blk + 29, "\x40\x00\x00\x00", 4);          /* key == lo */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "key == lo");
	memcpy(blk + 29, "\x40\x00\x00\x01", 4);          /* lo + 1 */
	expect_decode(&g, blk, 42, &el, 0, "key lo+1");
	memcpy(blk + 29, "\x00\x00\x00\x00", 4);          /* below lo */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "key 0 < lo");

	/* duplicate logged key: adjacent, and non-adjacent (unsorted) */
	hand_leaf(blk);
	memcpy(blk + 38, "\x50\x00\x00\x00", 4);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "adjacent dup");
	hand_leaf(blk);
	memcpy(blk + 344, "\x50\x00\x00\x00", 4);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "dup first/last");
	hand_root2(blk);
	memcpy(blk + 41, "\x10\x00\x00\x01", 4);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root dup");
}

/* Unsorted logged items (legal in the original's reader) are accepted and
 * come out sorted, values following their keys. */
static void test_decode_unsorted(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02 05 00 00 00 00 00 00 00");     /* child, gen 5 */
	hx(blk, &o, FSID_HEX);
	hx(blk, &o, "04 00 00 00");                    /* 4 items */
	hx(blk, &o, "ff ff ff ff 05 00 68 65 6c 6c 6f"); /* ffffffff "hello" */
	hx(blk, &o, "60 00 00 00 00 00");              /* 60000000 "" */
	hx(blk, &o, "50 00 00 00 03 00 78 79 7a");     /* 50000000 "xyz" */
	hx(blk, &o, "50 00 00 01 01 00 21");           /* 50000001 "!" */
	struct wd_expect el = ex_child(0, K40, FF4, 7);
	wd_crc_seal(blk, NBS);
	struct wd_node *d = NULL;
	assert_int_equal(wd_node_decode(&g, blk, 42, &el, &d), 0);
	assert_int_equal(d->nitems, 4);
	assert_int_equal(d->log_bytes, 4 * 6 + 5 + 0 + 3 + 1);
	static const struct {
		const char *k, *v;
		uint16_t len;
	} want[] = {
		{ "\x50\x00\x00\x00", "xyz", 3 },
		{ "\x50\x00\x00\x01", "!", 1 },
		{ "\x60\x00\x00\x00", "", 0 },
		{ "\xff\xff\xff\xff", "hello", 5 },
	};
	for (int i = 0; i < 4; i++) {
		const struct wd_item *it = wd_node_item(d, (uint32_t)i);
		assert_memory_equal(wd_item_key(it), want[i].k, 4);
		assert_int_equal(it->len, want[i].len);
		assert_memory_equal(wd_item_val(it, NKS), want[i].v,
				    want[i].len);
	}
	/* and lookups by binary search work on the sorted log */
	const struct wd_item *hit =
		wd_log_get(d, NKS, (const uint8_t *)"\x60\x00\x00\x00");
	assert_non_null(hit);
	assert_int_equal(hit->len, 0);
	/* the re-encoded block is sorted (same bytes, permuted items) */
	uint8_t again[NBS];
	encode(&g, d, 5, again);
	o = 29;
	uint8_t exp[NBS];
	memcpy(exp, blk, 29);
	memset(exp + 29, 0, NBS - 29);
	hx(exp, &o, "50 00 00 00 03 00 78 79 7a");
	hx(exp, &o, "50 00 00 01 01 00 21");
	hx(exp, &o, "60 00 00 00 00 00");
	hx(exp, &o, "ff ff ff ff 05 00 68 65 6c 6c 6f");
	wd_crc_seal(exp, NBS);
	assert_bytes(exp, again, NBS, "re-encoded unsorted leaf");
	wd_node_free(d);
}

static void test_decode_reject_links(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_node *d;

	/* address 0 ends the list: slot 2 holds a link after a zero slot 1
	 * address (slot 1 key non-zero): only slot 0 counts */
	hand_root2(blk);                       /* slot1 = (ffffffff, 42) */
	memcpy(blk + 4080, "\xff\xff\xff\xff", 4); /* slot 0 key ffffffff */
	memset(blk + 4072, 0, 8);              /* slot 1 address 0 */
	memcpy(blk + 4056, "\x00\x00\x00\x01", 4); /* slot 2 junk link */
	put64(blk + 4060, 9);
	wd_crc_seal(blk, NBS);
	assert_int_equal(wd_node_decode(&g, blk, 1, &er, &d), 0);
	assert_int_equal(d->nlinks, 1);
	assert_true(d->laddr[0] == 3);
	wd_node_free(d);

	/* address >= lsize is corrupt; lsize - 1 is fine */
	hand_root2(blk);
	put64(blk + 4072, 64);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address lsize");
	put64(blk + 4072, UINT64_MAX);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address 2^64-1");
	put64(blk + 4072, 1ull << 32);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address 2^32");
	put64(blk + 4072, 63);
	expect_decode(&g, blk, 1, &er, 0, "address lsize-1");

	/* link keys not strictly ascending from slot 0 */
	hand_root2(blk);
	memcpy(blk + 4080, "\xff\xff\xff\xff", 4);  /* slot0 == slot1 */
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "equal link keys");
	hand_inner(blk);
	memcpy(blk + 4068, "\x00\x00\x00\x00", 4);  /* slot1 < slot0 */
	struct wd_expect ei = ex_child(1, NULL, K40, 7);
	expect_decode(&g, blk, 3, &ei, WODAN_E_CORRUPT, "descending keys");

	/* link key outside (lo, hi] */
	hand_inner(blk);
	struct wd_expect ei_lo = ex_child(1, (const uint8_t *)"\x00\x00\x00\x01",
					  K40, 7);
	expect_decode(&g, blk, 3, &ei_lo, WODAN_E_CORRUPT, "link key == lo");
	/* the item key 00000000 is also <= lo: drop it to isolate links */
	hand_inner(blk);
	put32(blk + 25, 0);
	memset(blk + 29, 0, 7);
	expect_decode(&g, blk, 3, &ei_lo, WODAN_E_CORRUPT, "link key == lo");
	struct wd_expect ei_ok = ex_child(1, (const uint8_t *)"\x00\x00\x00\x00",
					  K40, 7);
	expect_decode(&g, blk, 3, &ei_ok, 0, "link keys > lo");

	/* last link key != node's hi (the root's hi is all-ff) */
	hand_root2(blk);
	memcpy(blk + 4068, "\xff\xff\xff\xfe", 4);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root last link");
	hand_inner(blk);
	struct wd_expect ei_hi = ex_child(1, NULL, FF4, 7);
	expect_decode(&g, blk, 3, &ei_hi, WODAN_E_CORRUPT, "inner last link");

	/* leaf (rdepth 0) with links: a child expected at rdepth 0, and a
	 * root whose depth field says 0 */
	hand_inner(blk);
	struct wd_expect ei0 = ex_child(0, NULL, K40, 7);
	expect_decode(&g, blk, 3, &ei0, WODAN_E_CORRUPT, "leaf with links");
	hand_root2(blk);
	put32(blk + 29, 0);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root leaf w/ links");

	/* inner node without links */
	hand_leaf(blk);
	struct wd_expect el1 = ex_child(1, K40, FF4, 7);
	expect_decode(&g, blk, 42, &el1, WODAN_E_CORRUPT, "inner, no links");
	hand_empty_root(blk, "01 00 00 00 00 00 00 00", NULL);
	put32(blk + 29, 1);
	expect_decode(&g, blk, 9, &er, WODAN_E_CORRUPT, "root depth 1, empty");
	/* ... including when the only "link" has address 0 */
	hand_root2(blk);
	memset(blk + 4084, 0, 8);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "slot 0 address 0");

	/* link scanning stops at value_end: a slot overlapping the log is
	 * not a link (root at depth 1 whose log reaches into slot 0) */
	{
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "01 05 00 00 00 00 00 00 00");
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "01 00 00 00 01 00 00 00"); /* 1 item, depth 1 */
		hx(blk, &o, "50 00 00 00");
		uint32_t len = 4081 - 33 - NKS - 2;     /* ends at 4081 > 4080 */
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		memcpy(blk + 4068, "\xff\xff\xff\xff", 4); /* would-be slot 1 */
		put64(blk + 4072, 5);
		memcpy(blk + 4080, "\xff\xff\xff\xff", 4); /* would-be slot 0 */
		put64(blk + 4084, 5);
		expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT,
			      "links under the log");
		/* one byte shorter: slot 0 starts exactly at value_end */
		len--;
		blk[37] = (uint8_t)len;
		blk[38] = (uint8_t)(len >> 8);
		expect_decode(&g, blk, 1, &er, 0, "slot 0 at value_end");
	}
}

/* ============================================================ 6. mkfs */

#define IMG_BS 4096u
#define IMG_KS 20u

static void read_blk(struct wodan_backend *be, uint64_t L, uint8_t *blk)
{
	assert_int_equal(be->read(be, L * IMG_BS, blk, IMG_BS), 0);
}

/* The empty root of doc/SPEC.md §7 for a given fsid (bs 4096). */
static void hand_image_root(uint8_t *blk, uint64_t gen, const uint8_t *fsid)
{
	memset(blk, 0, IMG_BS);
	blk[0] = 0x01;              /*  0 nodetype root */
	put64(blk + 1, gen);        /*  1 generation */
	memcpy(blk + 9, fsid, 16);  /*  9 fsid */
	/* 25 value_count 0, 29 depth 0, empty body: zero */
	hand_seal(blk, IMG_BS, NULL);
}

static uint64_t ring_next(uint64_t L, uint64_t lsize)
{
	return L + 1 >= lsize ? 1 : L + 1;
}

static void check_fresh_image(struct wodan_backend *be, uint64_t lsize,
			      uint64_t dev_blocks, int tombstones,
			      uint64_t *fbw_out, uint8_t fsid[16])
{
	uint8_t blk[IMG_BS], want[IMG_BS];
	read_blk(be, 0, blk);
	/* superblock fields, read at the table offsets */
	assert_memory_equal(blk, "MIRAGE KVFS \xf0\x9f\x90\xaa", 16);
	assert_int_equal(le32(blk + 16), 1);
	assert_int_equal(le32(blk + 20), 0);
	assert_int_equal(le32(blk + 24), tombstones ? 0xF : 0x7);
	assert_int_equal(le32(blk + 28), IMG_BS);
	assert_int_equal(blk[32], IMG_KS);
	uint64_t fbw = le64(blk + 33);
	assert_true(le64(blk + 41) == lsize);
	assert_true(fbw >= 1 && fbw < lsize);
	memcpy(fsid, blk + 49, 16);
	assert_true(all_zero(blk + 65, 508 - 65));
	assert_int_equal(wd_crc32c(0, blk, 512), 0xFFFFFFFFu);
	assert_true(all_zero(blk + 512, IMG_BS - 512)); /* rest of block 0 */
	struct wd_geom d;
	assert_int_equal(wd_sb_decode(blk, 0, be->size_bytes, 512, &d), 0);

	/* root at fbw: the empty root, generation 1 */
	read_blk(be, fbw, blk);
	hand_image_root(want, 1, fsid);
	assert_bytes(want, blk, IMG_BS, "mkfs root");

	/* every other block in [1, lsize) is zero or a preroot (gen 0);
	 * nothing at or past lsize */
	hand_image_root(want, 0, fsid);
	uint8_t *is_pre = calloc(lsize, 1);
	assert_non_null(is_pre);
	uint64_t npre = 0;
	for (uint64_t L = 1; L < dev_blocks; L++) {
		if (L == fbw)
			continue;
		read_blk(be, L, blk);
		if (all_zero(blk, IMG_BS))
			continue;
		if (L >= lsize)
			fail_msg("block %llu at or past lsize %llu written",
				 (unsigned long long)L,
				 (unsigned long long)lsize);
		assert_bytes(want, blk, IMG_BS, "preroot");
		is_pre[L] = 1;
		npre++;
	}
	/* preroots every 32 blocks after fbw, going round 1..lsize-1; the
	 * distance between consecutive root candidates (fbw and preroots)
	 * in that circular order is at most 32 */
	if (32 < lsize - 1) {
		for (uint64_t L = fbw + 32; L < lsize; L += 32)
			if (!is_pre[L])
				fail_msg("no preroot at %llu (fbw %llu lsize "
					 "%llu)", (unsigned long long)L,
					 (unsigned long long)fbw,
					 (unsigned long long)lsize);
		uint64_t gap = 0, L = fbw;
		for (uint64_t i = 0; i < lsize - 1; i++) {
			L = ring_next(L, lsize);
			gap++;
			if (L == fbw || is_pre[L]) {
				if (gap > 32)
					fail_msg("%llu blocks without a root "
						 "candidate before %llu (fbw "
						 "%llu lsize %llu)",
						 (unsigned long long)gap,
						 (unsigned long long)L,
						 (unsigned long long)fbw,
						 (unsigned long long)lsize);
				gap = 0;
			}
		}
		assert_true(npre >= (lsize - 2) / 32);
	} else {
		assert_int_equal(npre, 0);
	}
	free(is_pre);
	*fbw_out = fbw;
}

static void test_mkfs_image(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 2, 3, 33, 34, 35, 64, 65, 100, 200 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		uint64_t lsize = sizes[si], dev_blocks = lsize + 3;
		int reps = lsize < 4 ? 6 : 40; /* fbw is random: cover many */
		for (int rep = 0; rep < reps; rep++) {
			struct wodan_backend *be;
			assert_int_equal(wodan_backend_ram_create(
						 dev_blocks * IMG_BS, &be), 0);
			struct wodan_mkfs_params p = { 0 };
			p.block_size_bytes = IMG_BS;
			p.key_size_bytes = IMG_KS;
			p.logical_size_blocks = lsize;
			p.tombstones = rep & 1;
			uint64_t gen = 0;
			assert_int_equal(wodan_mkfs(be, &p, &gen), 0);
			assert_true(gen == 1);
			uint64_t fbw;
			uint8_t fsid[16];
			check_fresh_image(be, lsize, dev_blocks, rep & 1, &fbw,
					  fsid);
			wodan_backend_close(be);
		}
	}
}

static int cmp_key20(const void *a, const void *b)
{
	return memcmp(a, b, IMG_KS);
}

/* --no-tombstones image: mkfs, check, open, insert, flush, check the new
 * root byte by byte. */
static void test_mkfs_flush(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0xabc;
	const uint64_t lsize = 100, dev_blocks = 100;
	for (int rep = 0; rep < 8; rep++) {
		struct wodan_backend *be;
		assert_int_equal(wodan_backend_ram_create(dev_blocks * IMG_BS,
							  &be), 0);
		struct wodan_mkfs_params p = { 0 };
		p.block_size_bytes = IMG_BS;
		p.key_size_bytes = IMG_KS;
		p.tombstones = 0;
		assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
		uint64_t fbw;
		uint8_t fsid[16];
		check_fresh_image(be, lsize, dev_blocks, 0, &fbw, fsid);

		wodan_t *w;
		assert_int_equal(wodan_open(be, NULL, &w), 0);
		struct wodan_info info;
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 1);
		assert_true(info.root_block == fbw);
		assert_int_equal(info.incompat_flags, 0x7);
		assert_int_equal(info.tombstones, 0);

		/* a few keys with random bytes, values of various lengths
		 * (one empty: an ordinary value without tombstones) */
		enum { N = 5 };
		uint8_t keys[N][IMG_KS];
		uint8_t vals[N][40];
		uint32_t lens[N] = { 0, 1, 7, 20, 40 };
		for (int i = 0; i < N; i++) {
			for (unsigned j = 0; j < IMG_KS; j++)
				keys[i][j] = (uint8_t)tu_splitmix(&rng);
			for (unsigned j = 0; j < 40; j++)
				vals[i][j] = (uint8_t)tu_splitmix(&rng);
			assert_int_equal(wodan_insert(w, keys[i], IMG_KS,
						      vals[i], lens[i]), 0);
		}
		uint64_t gen = 0;
		assert_int_equal(wodan_flush(w, &gen), 0);
		assert_true(gen == 2);
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 2);
		assert_int_equal(info.depth, 0);
		uint64_t L = info.root_block;
		assert_true(L != fbw && L >= 1 && L < lsize);
		/* the allocator continues circularly right after the root
		 * (doc/ORIGINAL.md §4.3, §7.2) */
		assert_true(L == ring_next(fbw, lsize));

		/* expected root, built by hand: items in ascending key order */
		uint8_t order[N][IMG_KS + 1];
		for (int i = 0; i < N; i++) {
			memcpy(order[i], keys[i], IMG_KS);
			order[i][IMG_KS] = (uint8_t)i;
		}
		qsort(order, N, sizeof order[0], cmp_key20);
		uint8_t want[IMG_BS], blk[IMG_BS];
		memset(want, 0, IMG_BS);
		want[0] = 0x01;                  /*  0 root */
		put64(want + 1, 2);              /*  1 generation 2 */
		memcpy(want + 9, fsid, 16);      /*  9 fsid */
		put32(want + 25, N);             /* 25 value_count */
		put32(want + 29, 0);             /* 29 depth 0 */
		size_t o = 33;
		for (int i = 0; i < N; i++) {
			int k = order[i][IMG_KS];
			memcpy(want + o, keys[k], IMG_KS); /* key */
			o += IMG_KS;
			want[o++] = (uint8_t)lens[k];      /* datalen u16 LE */
			want[o++] = 0;
			memcpy(want + o, vals[k], lens[k]); /* data */
			o += lens[k];
		}
		hand_seal(want, IMG_BS, NULL);
		read_blk(be, L, blk);
		assert_int_equal(blk[0], 1);
		assert_true(le64(blk + 1) == 2);
		assert_int_equal(le32(blk + 25), N);
		assert_int_equal(le32(blk + 29), 0);
		assert_bytes(want, blk, IMG_BS, "root after flush");

		/* the old root is untouched (still a valid gen-1 root) */
		read_blk(be, fbw, blk);
		hand_image_root(want, 1, fsid);
		assert_bytes(want, blk, IMG_BS, "old root after flush");
		/* the superblock is never rewritten */
		read_blk(be, 0, blk);
		assert_int_equal(le32(blk + 24), 0x7);
		assert_true(le64(blk + 33) == fbw);

		/* remount finds generation 2 with the same data */
		assert_int_equal(wodan_close(w), 0);
		assert_int_equal(wodan_open(be, NULL, &w), 0);
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 2);
		assert_true(info.root_block == L);
		for (int i = 0; i < N; i++) {
			uint8_t got[64];
			size_t len = 0;
			assert_int_equal(wodan_lookup(w, keys[i], IMG_KS, got,
						      sizeof got, &len), 1);
			assert_int_equal(len, lens[i]);
			assert_memory_equal(got, vals[i], lens[i]);
		}
		wodan_abandon(w);
		wodan_backend_close(be);
	}
}

int main(void)
{
	seed = tu_seed("test_layout");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_bytes),
		cmocka_unit_test(test_sb_wide_fields),
		cmocka_unit_test(test_sb_reject),
		cmocka_unit_test(test_node_empty_root),
		cmocka_unit_test(test_node_root2),
		cmocka_unit_test(test_node_child),
		cmocka_unit_test(test_decode_roundtrip),
		cmocka_unit_test(test_decode_reject_header),
		cmocka_unit_test(test_decode_reject_items),
		cmocka_unit_test(test_decode_unsorted),
		cmocka_unit_test(test_decode_reject_links),
		cmocka_unit_test(test_mkfs_image),
		cmocka_unit_test(test_mkfs_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
