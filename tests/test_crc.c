/*
 * test_crc.c -- CRC-32C and Wodan's trailer convention (doc/SPEC.md §4).
 *
 *  - the RFC 3720 check value and a few other published vectors;
 *  - wd_crc32c (ISA-L) agrees with the oracle's CRC-32C (tests/support);
 *  - incremental computation over random splits equals the one-shot value;
 *  - trailer: seal then valid, whole-unit CRC == 0xFFFFFFFF, trailer bytes
 *    are ~crc32c(covered) as u32 LE, a plain (non-inverted) trailer is
 *    rejected (whole-unit residue 0x48674BC7), the magic trailer ff ff ff ff
 *    is accepted only in relaxed mode;
 *  - every single-bit flip of a sealed 4096-byte (node) and 512-byte
 *    (superblock) unit is detected, plus random 2-/3-bit flips and bursts.
 *
 * WODAN_SEED replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "oracle.h"
#include "crc.h"

static uint64_t seed;

/* The reference is the oracle's CRC-32C (tests/support/oracle.c: built
 * from the bitwise definition, reflected polynomial 0x82F63B78, init and
 * final xor 0xFFFFFFFF; `crc` continues a previous standard value like
 * wd_crc32c), independent of lib/crc.c: oracle_crc32c. */

static void fill(uint64_t *rng, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)tu_splitmix(rng);
}

/* ------------------------------------------------------------- vectors */

static void test_check_value(void **state)
{
	(void)state;
	/* RFC 3720 (iSCSI) / the standard CRC-32C check value */
	assert_int_equal(wd_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(oracle_crc32c(0, (const uint8_t *)"123456789", 9),
			 0xE3069283u);
	/* empty input: 0, and a zero-length continuation keeps the value */
	assert_int_equal(wd_crc32c(0, "", 0), 0u);
	assert_int_equal(wd_crc32c(0xE3069283u, "x", 0), 0xE3069283u);

	/* RFC 3720 B.4 vectors (32 bytes each) */
	uint8_t b[32];
	memset(b, 0, sizeof b);
	assert_int_equal(wd_crc32c(0, b, 32), 0x8A9136AAu);
	memset(b, 0xff, sizeof b);
	assert_int_equal(wd_crc32c(0, b, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(wd_crc32c(0, b, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	assert_int_equal(wd_crc32c(0, b, 32), 0x113FDB5Cu);
}

static void test_matches_reference(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x1111;
	static uint8_t buf[70000];
	fill(&rng, buf, sizeof buf);
	/* every length 0..300 at every alignment 0..15, then larger ones */
	for (size_t al = 0; al < 16; al++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(wd_crc32c(0, buf + al, len),
					 oracle_crc32c(0, buf + al, len));
	static const size_t big[] = { 511, 512, 513, 4092, 4096, 8191,
				      65536, 69999 };
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
		assert_int_equal(wd_crc32c(0, buf, big[i]),
				 oracle_crc32c(0, buf, big[i]));
}

static void test_incremental(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x2222;
	static uint8_t buf[20000];
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)tu_below(&rng, sizeof buf + 1);
		fill(&rng, buf, len);
		uint32_t whole = wd_crc32c(0, buf, len);
		/* one split point */
		size_t k = (size_t)tu_below(&rng, len + 1);
		uint32_t c = wd_crc32c(0, buf, k);
		c = wd_crc32c(c, buf + k, len - k);
		assert_int_equal(c, whole);
		/* many pieces, some empty */
		size_t off = 0;
		c = 0;
		while (off < len) {
			size_t n = (size_t)tu_below(&rng, 64);
			if (n > len - off)
				n = len - off;
			c = wd_crc32c(c, buf + off, n);
			off += n;
		}
		assert_int_equal(c, whole);
		if (round < 50)
			assert_int_equal(whole, oracle_crc32c(0, buf, len));
	}
}

/* --------------------------------------------------------------- trailer */

static void check_sealed(uint8_t *u, size_t len)
{
	uint32_t covered = wd_crc32c(0, u, len - 4);
	wd_crc_seal(u, len);
	/* stored value = bitwise NOT of the standard CRC, u32 LE */
	assert_int_equal(oracle_le32(u + len - 4), ~covered);
	assert_int_equal(u[len - 4], (uint8_t)~covered);
	assert_int_equal(u[len - 1], (uint8_t)(~covered >> 24));
	/* the covered bytes were not touched */
	assert_int_equal(wd_crc32c(0, u, len - 4), covered);
	/* whole-unit CRC is the constant 0xFFFFFFFF */
	assert_int_equal(wd_crc32c(0, u, len), 0xFFFFFFFFu);
	assert_true(wd_crc_valid(u, len, 0));
	assert_true(wd_crc_valid(u, len, 1));
}

static void test_seal_valid(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x3333;
	static uint8_t u[65536];
	static const size_t lens[] = { 4, 5, 8, 33, 512, 4096, 65536 };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (int rep = 0; rep < 20; rep++) {
			fill(&rng, u, lens[i]);
			check_sealed(u, lens[i]);
		}
		memset(u, 0, lens[i]);
		check_sealed(u, lens[i]);
	}
	/* a 4-byte unit covers nothing: trailer = ~crc32c("") = ff ff ff ff */
	uint8_t four[4] = { 1, 2, 3, 4 };
	wd_crc_seal(four, 4);
	assert_int_equal(oracle_le32(four), 0xFFFFFFFFu);
	/* units shorter than the trailer are never valid */
	assert_false(wd_crc_valid(four, 3, 0));
	assert_false(wd_crc_valid(four, 0, 1));
}

/* A 512-byte zero unit: crc32c(508 zero bytes) = 0xEC57A9C3 (computed with
 * an independent Python bitwise CRC-32C), so the trailer is 3c 56 a8 13. */
static void test_seal_zero_512_pinned(void **state)
{
	(void)state;
	uint8_t u[512];
	memset(u, 0, sizeof u);
	assert_int_equal(oracle_crc32c(0, u, 508), 0xEC57A9C3u);
	assert_int_equal(wd_crc32c(0, u, 508), 0xEC57A9C3u);
	wd_crc_seal(u, 512);
	assert_memory_equal(u + 508, "\x3c\x56\xa8\x13", 4);
	/* a zero unit (trailer 00 00 00 00) is not valid: never-written
	 * blocks must not pass as nodes */
	uint8_t z[512];
	memset(z, 0, sizeof z);
	assert_false(wd_crc_valid(z, 512, 0));
	assert_false(wd_crc_valid(z, 512, 1));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void test_plain_crc_rejected(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x4444;
	static uint8_t u[4096];
	static const size_t lens[] = { 512, 4096 };
	for (size_t i = 0; i < 2; i++) {
		size_t len = lens[i];
		for (int rep = 0; rep < 50; rep++) {
			fill(&rng, u, len);
			/* the plain CRC instead of its complement */
			put_le32(u + len - 4, wd_crc32c(0, u, len - 4));
			assert_int_equal(wd_crc32c(0, u, len), 0x48674BC7u);
			assert_false(wd_crc_valid(u, len, 0));
			assert_false(wd_crc_valid(u, len, 1));
			/* big-endian complement is wrong too (unless it is a
			 * byte palindrome) */
			uint32_t v = ~wd_crc32c(0, u, len - 4);
			u[len - 4] = (uint8_t)(v >> 24);
			u[len - 3] = (uint8_t)(v >> 16);
			u[len - 2] = (uint8_t)(v >> 8);
			u[len - 1] = (uint8_t)v;
			if (((v >> 24) & 0xff) != (v & 0xff) ||
			    ((v >> 16) & 0xff) != ((v >> 8) & 0xff))
				assert_false(wd_crc_valid(u, len, 0));
		}
	}
}

static void test_magic_crc(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x5555;
	static uint8_t u[4096];
	for (int rep = 0; rep < 50; rep++) {
		fill(&rng, u, sizeof u);
		wd_crc_seal_magic(u, sizeof u);
		assert_memory_equal(u + 4092, "\xff\xff\xff\xff", 4);
		/* accepted only with the relax flag, whatever the content */
		assert_true(wd_crc_valid(u, sizeof u, 1));
		assert_false(wd_crc_valid(u, sizeof u, 0));
		/* 3 of 4 magic bytes is not magic */
		for (int b = 0; b < 4; b++) {
			u[4092 + b] = 0xfe;
			assert_false(wd_crc_valid(u, sizeof u, 1));
			u[4092 + b] = 0xff;
		}
	}
	/* a magic trailer on an all-zero unit and on a 512-byte unit */
	memset(u, 0, sizeof u);
	wd_crc_seal_magic(u, 512);
	assert_true(wd_crc_valid(u, 512, 1));
	assert_false(wd_crc_valid(u, 512, 0));
	/* a real CRC is accepted in relaxed mode too (checked in
	 * check_sealed); relaxed mode does not accept a wrong real CRC */
	fill(&rng, u, sizeof u);
	wd_crc_seal(u, sizeof u);
	u[0] ^= 1;
	if (oracle_le32(u + 4092) != 0xFFFFFFFFu)
		assert_false(wd_crc_valid(u, sizeof u, 1));
}

/* ------------------------------------------------------- error detection */

static void flips_detected(uint64_t *rng, size_t len)
{
	uint8_t *u = malloc(len);
	assert_non_null(u);
	fill(rng, u, len);
	wd_crc_seal(u, len);
	assert_true(wd_crc_valid(u, len, 0));
	/* every single-bit flip, trailer included */
	for (size_t bit = 0; bit < len * 8; bit++) {
		u[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (wd_crc_valid(u, len, 0))
			fail_msg("flip of bit %zu in a %zu-byte unit not "
				 "detected", bit, len);
		u[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_true(wd_crc_valid(u, len, 0));
	/* random 2- and 3-bit errors (CRC-32C: Hamming distance >= 4 far
	 * beyond these lengths) */
	for (int rep = 0; rep < 3000; rep++) {
		size_t nb = 2 + (size_t)(rep & 1), bits[3];
		for (size_t i = 0; i < nb; i++) {
		again:
			bits[i] = (size_t)tu_below(rng, len * 8);
			for (size_t j = 0; j < i; j++)
				if (bits[j] == bits[i])
					goto again;
		}
		for (size_t i = 0; i < nb; i++)
			u[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
		assert_false(wd_crc_valid(u, len, 0));
		for (size_t i = 0; i < nb; i++)
			u[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
	}
	/* random bursts of up to 32 bits (first and last bit flipped) */
	for (int rep = 0; rep < 3000; rep++) {
		size_t blen = 1 + (size_t)tu_below(rng, 32);
		size_t start = (size_t)tu_below(rng, len * 8 - blen + 1);
		uint32_t pat = (uint32_t)tu_splitmix(rng) | 1u |
			       (1u << (blen - 1));
		for (size_t i = 0; i < blen; i++)
			if (pat & (1u << i))
				u[(start + i) / 8] ^=
					(uint8_t)(1u << ((start + i) % 8));
		assert_false(wd_crc_valid(u, len, 0));
		for (size_t i = 0; i < blen; i++)
			if (pat & (1u << i))
				u[(start + i) / 8] ^=
					(uint8_t)(1u << ((start + i) % 8));
	}
	assert_true(wd_crc_valid(u, len, 0));
	free(u);
}

static void test_bitflips_4096(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x6666;
	flips_detected(&rng, 4096);
}

static void test_bitflips_512(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x7777;
	flips_detected(&rng, 512);
}

int main(void)
{
	seed = tu_seed("test_crc");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_seal_valid),
		cmocka_unit_test(test_seal_zero_512_pinned),
		cmocka_unit_test(test_plain_crc_rejected),
		cmocka_unit_test(test_magic_crc),
		cmocka_unit_test(test_bitflips_4096),
		cmocka_unit_test(test_bitflips_512),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
