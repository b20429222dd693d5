/*
 * fuzz_node.c -- libFuzzer harness for the node decoder (wd_node_decode,
 * lib/nodecodec.c; doc/SPEC.md §5 and §8.2).
 *
 * Input: a 16-byte geometry header, optional bound keys, then the block.
 *   h[0]      block size: one of 512 1024 1536 2048 2560 3072 3584 4096
 *             8192 16384 (h[0] % 10)
 *   h[1]      key size (0 means 1)
 *   h[2]      bit 0 root, bit 1 tombstones, bit 2 lower bound present,
 *             bit 3 upper bound present, bit 4 superblock fsid differs
 *             from the block's, bit 5 root with a parent generation bound
 *   h[3]      expected rdepth of a child (% 66)
 *   h[4..7]   logical size - 2 (u32 LE)
 *   h[8..15]  parent generation (u64 LE)
 *   then ks bytes of lower bound and/or ks bytes of upper bound (per h[2]),
 *   then the block (zero-padded or cut to the block size).
 *
 * Asserts: no crash or sanitizer report; a decoded node satisfies the node
 * invariants N1-N4 (lib/node.h; items read through wd_node_item, so the
 * harness does not depend on how the log is stored) and every doc/SPEC.md §8.2 node rule; it
 * re-encodes and decodes to the same node.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wodan.h"
#include "keys.h"
#include "node.h"
#include "nodecodec.h"
#include "superblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, \
	"fuzz_node: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } \
	} while (0)

static const uint32_t block_sizes[10] = { 512, 1024, 1536, 2048, 2560, 3072,
					  3584, 4096, 8192, 16384 };

static int in_range(const uint8_t *k, const uint8_t *lo, const uint8_t *hi,
		    uint32_t ks)
{
	return (!lo || memcmp(k, lo, ks) > 0) && memcmp(k, hi, ks) <= 0;
}

/* Node invariants and doc/SPEC.md §8.2 rules of a decoded node. */
static void check_node(const struct wd_geom *g, const struct wd_node *n,
		       const struct wd_expect *ex, const uint8_t *hi)
{
	uint32_t ks = g->ks;
	uint64_t bytes = 0;

	REQUIRE(n->is_root == (ex->is_root != 0));
	REQUIRE(n->rdepth <= WD_MAX_DEPTH);
	REQUIRE(ex->is_root || n->rdepth == ex->rdepth);
	REQUIRE(ex->parent_gen == UINT64_MAX || n->gen < ex->parent_gen);
	for (uint32_t i = 0; i < n->nitems; i++) {
		const struct wd_item *it = wd_node_item(n, i);
		REQUIRE(it);
		REQUIRE(in_range(wd_item_key(it), ex->lo, hi, ks));
		REQUIRE(i == 0 ||
			memcmp(wd_item_key(wd_node_item(n, i - 1)),
			       wd_item_key(it), ks) < 0);
		bytes += wd_item_size(it, ks);
	}
	REQUIRE(bytes == n->log_bytes);
	REQUIRE(wd_node_hdr(n) + n->log_bytes + (uint64_t)n->nlinks * g->cl <=
		g->block_end);
	REQUIRE((n->nlinks > 0) == (n->rdepth > 0));
	for (uint32_t i = 0; i < n->nlinks; i++) {
		const uint8_t *k = wd_link_key(n, ks, i);
		REQUIRE(in_range(k, ex->lo, hi, ks));
		REQUIRE(i == 0 || memcmp(wd_link_key(n, ks, i - 1), k, ks) < 0);
		REQUIRE(n->laddr[i] >= 1 && n->laddr[i] < g->lsize);
		REQUIRE(n->lchild[i] == NULL);
	}
	REQUIRE(n->nlinks == 0 ||
		!memcmp(wd_link_key(n, ks, n->nlinks - 1), hi, ks));
}

static void check_same(const struct wd_node *a, const struct wd_node *b,
		       uint32_t ks)
{
	REQUIRE(a->gen == b->gen && a->rdepth == b->rdepth);
	REQUIRE(a->nitems == b->nitems && a->log_bytes == b->log_bytes);
	for (uint32_t i = 0; i < a->nitems; i++) {
		const struct wd_item *x = wd_node_item(a, i);
		const struct wd_item *y = wd_node_item(b, i);
		REQUIRE(x && y && x->len == y->len);
		REQUIRE(!memcmp(x->data, y->data, ks + x->len));
	}
	REQUIRE(a->nlinks == b->nlinks);
	REQUIRE(a->nlinks == 0 ||
		!memcmp(a->lkeys, b->lkeys, (size_t)a->nlinks * ks));
	for (uint32_t i = 0; i < a->nlinks; i++)
		REQUIRE(a->laddr[i] == b->laddr[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wd_geom g;
	struct wd_expect ex;
	struct wd_node *n = NULL, *n2 = NULL;
	uint8_t lo[256] = { 0 }, hi[256], *blk, *blk2;
	size_t off = 16;
	int r;

	if (size < 16)
		return 0;
	memset(&g, 0, sizeof g);
	g.bs = block_sizes[data[0] % 10];
	g.ks = data[1] ? data[1] : 1;
	g.incompat = 0x7 | (data[2] & 2 ? 0x8 : 0);
	g.lsize = (uint64_t)wd_le32(data + 4) + 2;
	g.fbw = 1;
	wd_geom_derive(&g);
	memset(&ex, 0, sizeof ex);
	ex.is_root = data[2] & 1;
	ex.rdepth = data[3] % 66;
	ex.parent_gen = ex.is_root && !(data[2] & 32) ? UINT64_MAX
						      : wd_le64(data + 8);
	memset(hi, 0xff, sizeof hi);
	if (data[2] & 4) {
		memcpy(lo, data + off, size - off < g.ks ? size - off : g.ks);
		off = off + g.ks < size ? off + g.ks : size;
		ex.lo = lo;
	}
	if (data[2] & 8) {
		memset(hi, 0, g.ks);
		memcpy(hi, data + off, size - off < g.ks ? size - off : g.ks);
		off = off + g.ks < size ? off + g.ks : size;
		ex.hi = hi;
	}
	blk = calloc(1, g.bs);
	blk2 = calloc(1, g.bs);
	REQUIRE(blk && blk2);
	memcpy(blk, data + off, size - off < g.bs ? size - off : g.bs);
	memcpy(g.fsid, blk + 9, 16);
	if (data[2] & 16)
		g.fsid[0] ^= 1;

	r = wd_node_decode(&g, blk, 7, &ex, &n);
	REQUIRE(r <= 0);
	REQUIRE((r == 0) == (n != NULL));
	if (r == 0) {
		check_node(&g, n, &ex, hi);
		/* re-encode (with a real CRC) and decode again: same node */
		wd_node_encode(&g, n, n->gen, 0, blk2);
		r = wd_node_decode(&g, blk2, 7, &ex, &n2);
		REQUIRE(r == 0);
		check_same(n, n2, g.ks);
		wd_node_free(n2);
		wd_node_free(n);
	}
	free(blk);
	free(blk2);
	return 0;
}
