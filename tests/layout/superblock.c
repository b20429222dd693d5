/*
 * layout/superblock.c -- the superblock byte by byte (doc/SPEC.md §3):
 * pinned bytes, wide fields, rejected superblocks
 */
#include "layout.h"

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

void test_sb_bytes(void **state)
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

void test_sb_wide_fields(void **state)
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
void test_sb_reject(void **state)
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
