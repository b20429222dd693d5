/*
 * oracle.c -- the on-disk oracle of the tests (see oracle.h).  Nothing
 * here may call the library: it is what the library is checked against.
 */
#include <string.h>
#include "oracle.h"

static uint32_t bit_crc(uint32_t reg)
{
	for (int b = 0; b < 8; b++)
		reg = (reg >> 1) ^ (0x82F63B78u & (0u - (reg & 1u)));
	return reg;
}

static uint32_t tab[256];
static int tab_ready;

uint32_t oracle_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!tab_ready) {
		/* the table is the bitwise definition, one byte at a time */
		for (uint32_t i = 0; i < 256; i++)
			tab[i] = bit_crc(i);
		tab_ready = 1;
	}
	uint32_t reg = ~crc;
	for (size_t i = 0; i < len; i++)
		reg = tab[(reg ^ p[i]) & 0xff] ^ (reg >> 8);
	return ~reg;
}

int oracle_crc_ok(const uint8_t *p, size_t len)
{
	return oracle_crc32c(0, p, len) == 0xFFFFFFFFu;
}

struct walk {
	const uint8_t *img;
	uint64_t lsize;
	uint32_t bs, ks;
	const uint8_t *fsid;
	oracle_visit_fn visit;
	void *arg;
};

static int walk(const struct walk *W, uint64_t L, int is_root,
		uint32_t rdepth, const uint8_t *lo, const uint8_t *hi,
		uint64_t parent_gen, int parent, int level)
{
	const uint32_t bs = W->bs, ks = W->ks, cl = ks + 8;
	if (L == 0 || L >= W->lsize || level > 64)
		return -1;
	const uint8_t *b = W->img + L * bs;
	if (!oracle_crc_ok(b, bs) || b[0] != (is_root ? 1 : 2) ||
	    (W->fsid && memcmp(b + 9, W->fsid, 16)))
		return -1;
	uint64_t gen = oracle_le64(b + 1);
	if (gen >= parent_gen)
		return -1;
	uint32_t off = is_root ? 33 : 29;
	if (is_root)
		rdepth = oracle_le32(b + 29);
	uint32_t n = oracle_le32(b + 25);
	for (uint32_t i = 0; i < n; i++) {
		if (off + ks + 2 > bs - 4)
			return -1;
		off += ks + 2 + (b[off + ks] | b[off + ks + 1] << 8);
		if (off > bs - 4)
			return -1;
	}
	int me = parent;
	if (W->visit) {
		struct oracle_node nd = { L, gen, is_root, rdepth, lo, hi,
					  parent, b };
		me = W->visit(W->arg, &nd);
		if (me < 0)
			return -1;
	}
	if (rdepth == 0)
		return 0;
	const uint8_t *prev = lo;
	for (uint32_t s = 0;; s++) {
		if (bs - 4 < (uint64_t)(s + 1) * cl)
			break;
		uint32_t at = bs - 4 - (s + 1) * cl;
		if (at < off)
			break;
		uint64_t child = oracle_le64(b + at + ks);
		if (child == 0)
			break;
		if (walk(W, child, 0, rdepth - 1, prev, b + at, gen, me,
			 level + 1))
			return -1;
		prev = b + at;
	}
	return 0;
}

int oracle_walk(const uint8_t *img, uint64_t lsize, uint32_t bs, uint32_t ks,
		const uint8_t *fsid, uint64_t root, oracle_visit_fn visit,
		void *arg)
{
	struct walk W = { img, lsize, bs, ks, fsid, visit, arg };
	return walk(&W, root, 1, 0, NULL, NULL, UINT64_MAX, -1, 0);
}
