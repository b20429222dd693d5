/*
 * fuzz_superblock.c -- libFuzzer harness for the superblock decoder
 * (wd_sb_decode, lib/superblock.c; doc/SPEC.md §2).
 *
 * Input: bytes 0..511 are the superblock (zero-padded when shorter); an
 * optional tail gives the device: tail[0..7] device size in bytes (u64 LE,
 * default 64 GiB), tail[8] the I/O size as 512 << (tail[8] & 7).
 *
 * Asserts, for every input: no crash or sanitizer report; relaxed mode
 * accepts everything strict mode accepts, with the same geometry; an
 * accepted superblock satisfies every geometry rule of doc/SPEC.md §2 and its
 * derived sizes; and it survives an encode/decode round trip unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wodan.h"
#include "superblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, \
	"fuzz_superblock: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } \
	} while (0)

static int geom_eq(const struct wd_geom *a, const struct wd_geom *b)
{
	return a->bs == b->bs && a->ks == b->ks && a->incompat == b->incompat &&
	       a->tombstones == b->tombstones && a->lsize == b->lsize &&
	       a->fbw == b->fbw && !memcmp(a->fsid, b->fsid, 16) &&
	       a->block_end == b->block_end && a->q == b->q && a->cl == b->cl &&
	       a->cmax == b->cmax && a->max_value == b->max_value;
}

static void check_geom(const struct wd_geom *g, uint64_t dev, uint32_t io)
{
	REQUIRE(g->ks >= 1 && g->ks <= 255);
	REQUIRE(g->bs >= 512 && g->bs <= (64u << 20) && g->bs % 512 == 0);
	REQUIRE(g->bs < 4096 || g->bs % 4096 == 0);
	REQUIRE(g->bs % io == 0);
	REQUIRE(g->lsize >= 2 && g->lsize <= dev / g->bs);
	REQUIRE(g->fbw >= 1 && g->fbw < g->lsize);
	REQUIRE((g->incompat & 0x7) == 0x7 && (g->incompat & ~0x1fu) == 0);
	REQUIRE(g->tombstones == ((g->incompat & 0x8) != 0));
	REQUIRE(g->block_end == g->bs - 4);
	REQUIRE(g->q == (uint32_t)(15ull * g->bs / 16));
	REQUIRE(g->cl == g->ks + 8);
	REQUIRE(g->cmax == (g->block_end - g->q) / g->cl);
	REQUIRE(g->max_value <= 65535);
	REQUIRE((uint64_t)g->max_value + 35 + g->ks <= g->q ||
		g->max_value == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sb[WD_SB_SIZE] = { 0 }, re[WD_SB_SIZE];
	uint64_t dev = 64ull << 30;
	uint32_t io = 512;
	struct wd_geom strict, relaxed, again;
	int rs, rr;

	memcpy(sb, data, size < WD_SB_SIZE ? size : WD_SB_SIZE);
	if (size >= WD_SB_SIZE + 8) {
		memcpy(&dev, data + WD_SB_SIZE, 8); /* host order is fine */
	}
	if (size >= WD_SB_SIZE + 9)
		io = 512u << (data[WD_SB_SIZE + 8] & 7);

	rs = wd_sb_decode(sb, 0, dev, io, &strict);
	rr = wd_sb_decode(sb, 1, dev, io, &relaxed);
	REQUIRE(rs <= 0 && rr <= 0);
	if (rs == 0) {
		REQUIRE(rr == 0);
		REQUIRE(geom_eq(&strict, &relaxed));
	}
	if (rr != 0)
		return 0;
	check_geom(&relaxed, dev, io);
	/* the decoded geometry encodes to a superblock that decodes (with a
	 * real CRC) to the same geometry */
	wd_sb_encode(&relaxed, re);
	REQUIRE(wd_sb_decode(re, 0, dev, io, &again) == 0);
	REQUIRE(geom_eq(&relaxed, &again));
	return 0;
}
