/* nodecodec.c -- encode and validate-decode node blocks (see nodecodec.h). */
#include <stdlib.h>
#include <string.h>
#include "crc.h"
#include "error.h"
#include "keys.h"
#include "nodecodec.h"

void wd_node_encode(const struct wd_geom *g, const struct wd_node *n,
		    uint64_t gen, int magic, uint8_t *blk)
{
	uint32_t ks = g->ks, hdr = wd_node_hdr(n);
	wd_node_assert_valid(n, ks);
	/* every header byte is written below; only the gap between the items
	 * and the links is zeroed (not the whole block: 8.7 % of an insert
	 * profile was this memset) */
	blk[0] = n->is_root ? WD_TYPE_ROOT : WD_TYPE_CHILD;
	wd_put64(blk + 1, gen);
	memcpy(blk + 9, g->fsid, 16);
	wd_put32(blk + 25, n->nitems);
	if (n->is_root)
		wd_put32(blk + 29, n->rdepth);
	uint8_t *p = blk + hdr;
	/* (mkfs encodes a stack node without buckets: nitems 0) */
	for (uint32_t b = 0; n->nitems && b < wd_node_nbuckets(n); b++) {
		for (uint32_t i = 0; i < n->bk[b].n; i++) {
			const struct wd_item *it = n->bk[b].sl[i].it;
			/* the item is kept in its on-disk form */
			size_t sz = (size_t)ks + 2 + it->len;
			memcpy(p, it->data, sz);
			p += sz;
		}
	}
	uint8_t *links = blk + g->block_end - (size_t)n->nlinks * g->cl;
	if (links > p)
		memset(p, 0, (size_t)(links - p));
	for (uint32_t i = 0; i < n->nlinks; i++) {
		uint8_t *s = blk + g->block_end - (size_t)(i + 1) * g->cl;
		memcpy(s, n->lkeys + (size_t)i * ks, ks);
		wd_put64(s + ks, n->laddr[i]);
	}
	if (magic)
		wd_crc_seal_magic(blk, g->bs);
	else
		wd_crc_seal(blk, g->bs);
}

int wd_node_peek_root(const struct wd_geom *g, const uint8_t *blk,
		      uint64_t *gen)
{
	if (blk[0] != WD_TYPE_ROOT || memcmp(blk + 9, g->fsid, 16) != 0)
		return 0;
	*gen = wd_le64(blk + 1);
	return 1;
}

static int item_cmp(const void *a, const void *b, void *ksp)
{
	const struct wd_item *x = *(const struct wd_item *const *)a;
	const struct wd_item *y = *(const struct wd_item *const *)b;
	return memcmp(x->data, y->data, *(const uint32_t *)ksp);
}

static int in_range(const uint8_t *k, const uint8_t *lo, const uint8_t *hi,
		    uint32_t ks)
{
	if (lo && memcmp(k, lo, ks) <= 0)
		return 0;
	if (hi && memcmp(k, hi, ks) > 0)
		return 0;
	return 1;
}

#define BAD(...) do { r = wd_err_block(WODAN_E_CORRUPT, L, __VA_ARGS__); \
		      goto fail; } while (0)

int wd_node_decode(const struct wd_geom *g, const uint8_t *blk, uint64_t L,
		   const struct wd_expect *ex, struct wd_node **out)
{
	uint32_t ks = g->ks;
	int r;
	*out = NULL;
	int want = ex->is_root ? WD_TYPE_ROOT : WD_TYPE_CHILD;
	if (blk[0] != want)
		return wd_err_block(WODAN_E_BAD_NODE_TYPE, L,
				    "block %llu: node type %u, expected %d",
				    (unsigned long long)L, blk[0], want);
	if (memcmp(blk + 9, g->fsid, 16) != 0)
		return wd_err_block(WODAN_E_FSID, L,
				    "block %llu: fsid differs from the "
				    "superblock's", (unsigned long long)L);
	uint64_t gen = wd_le64(blk + 1);
	uint32_t count = wd_le32(blk + 25);
	uint32_t hdr = ex->is_root ? WD_ROOT_HDR : WD_CHILD_HDR;
	uint32_t rdepth = ex->is_root ? wd_le32(blk + 29) : ex->rdepth;
	uint8_t ff[256];
	memset(ff, 0xff, sizeof ff);
	const uint8_t *hi = ex->hi ? ex->hi : ff;

	struct wd_item **flat = NULL;
	uint32_t nflat = 0;
	struct wd_node *n = wd_node_new(ks, ex->lo, hi, rdepth, ex->is_root);
	if (!n)
		return WODAN_E_NOMEM;
	n->addr = L;
	n->gen = gen;
	if (ex->parent_gen != UINT64_MAX && !(gen < ex->parent_gen))
		BAD("block %llu: generation %llu not below parent's %llu",
		    (unsigned long long)L, (unsigned long long)gen,
		    (unsigned long long)ex->parent_gen);
	if (rdepth > WD_MAX_DEPTH)
		BAD("block %llu: depth %u exceeds %u", (unsigned long long)L,
		    rdepth, WD_MAX_DEPTH);
	/* every item takes at least ks + 2 bytes: bound the count first */
	if ((uint64_t)count * (ks + 2) > (uint64_t)(g->block_end - hdr))
		BAD("block %llu: value_count %u cannot fit in the block",
		    (unsigned long long)L, count);
	flat = malloc((size_t)(count ? count : 1) * sizeof *flat);
	if (!flat) {
		r = WODAN_E_NOMEM;
		goto fail;
	}
	uint64_t off = hdr;
	int sorted = 1;
	for (uint32_t i = 0; i < count; i++) {
		if (off + ks + 2 > g->block_end)
			BAD("block %llu: item %u header bleeds past the end "
			    "of the node", (unsigned long long)L, i);
		uint32_t len = wd_le16(blk + off + ks);
		if (off + ks + 2 + len > g->block_end)
			BAD("block %llu: item %u data bleeds past the end of "
			    "the node", (unsigned long long)L, i);
		const uint8_t *k = blk + off;
		if (!in_range(k, ex->lo, hi, ks))
			BAD("block %llu: logged key %u outside the node's "
			    "key range", (unsigned long long)L, i);
		struct wd_item *it = wd_item_new(ks, k, k + ks + 2, len);
		if (!it) {
			r = WODAN_E_NOMEM;
			goto fail;
		}
		if (nflat && memcmp(flat[nflat - 1]->data, k, ks) >= 0)
			sorted = 0;
		flat[nflat++] = it;
		off += ks + 2 + len;
	}
	if (!sorted) {
		/* unsorted logged items are legal (doc/SPEC.md §5.2) */
		qsort_r(flat, nflat, sizeof *flat, item_cmp, &ks);
		for (uint32_t i = 1; i < nflat; i++)
			if (!memcmp(flat[i - 1]->data, flat[i]->data, ks))
				BAD("block %llu: duplicate logged key",
				    (unsigned long long)L);
	}
	uint64_t value_end = off;
	/* child links: slot i while it lies at or after value_end and its
	 * address is non-zero (doc/SPEC.md §5.3) */
	uint32_t maxlinks = (uint32_t)((g->block_end - value_end) / g->cl);
	for (uint32_t i = 0; i < maxlinks; i++) {
		const uint8_t *s = blk + g->block_end - (size_t)(i + 1) * g->cl;
		uint64_t a = wd_le64(s + ks);
		if (a == 0)
			break;
		if (a >= g->lsize)
			BAD("block %llu: link %u points to block %llu, outside "
			    "1..%llu", (unsigned long long)L, i,
			    (unsigned long long)a,
			    (unsigned long long)(g->lsize - 1));
		if (!in_range(s, ex->lo, hi, ks))
			BAD("block %llu: link key %u outside the node's key "
			    "range", (unsigned long long)L, i);
		if (n->nlinks &&
		    memcmp(n->lkeys + (size_t)(n->nlinks - 1) * ks, s, ks) >= 0)
			BAD("block %llu: link keys not strictly ascending at "
			    "slot %u", (unsigned long long)L, i);
		if (wd_link_insert(n, ks, n->nlinks, s, a, NULL)) {
			r = WODAN_E_NOMEM;
			goto fail;
		}
	}
	if (n->nlinks && rdepth == 0)
		BAD("block %llu: leaf (depth 0) has child links",
		    (unsigned long long)L);
	if (!n->nlinks && rdepth > 0)
		BAD("block %llu: inner node (depth %u) has no child",
		    (unsigned long long)L, rdepth);
	if (n->nlinks &&
	    memcmp(n->lkeys + (size_t)(n->nlinks - 1) * ks, hi, ks) != 0)
		BAD("block %llu: largest link key differs from the node's "
		    "own link key", (unsigned long long)L);
	if (wd_node_set_log(n, ks, flat, nflat)) {
		r = WODAN_E_NOMEM;
		goto fail;
	}
	free(flat);
	n->mem_bytes = wd_node_mem(n, ks);
	wd_node_assert_valid(n, ks);
	*out = n;
	return 0;
fail:
	for (uint32_t i = 0; i < nflat; i++)
		free(flat[i]);
	free(flat);
	wd_node_free(n);
	return r;
}
