/*
 * nodecodec.h -- node block <-> struct wd_node (internal).
 *
 * Block layout (doc/SPEC.md §5), bs bytes:
 *
 *   0     1  nodetype (1 root, 2 child)
 *   1     8  generation (u64 LE)
 *   9    16  fsid
 *   25    4  value_count (u32 LE)
 *   29    4  depth (root only: rdepth)
 *   hdr   .. logged items: key(ks) | len(u16 LE) | value(len), ascending
 *   ...      zero gap
 *            child links: slot i at [bs-4-(i+1)*cl, bs-4-i*cl): key(ks) |
 *            address(u64 LE); slot 0 holds the smallest key
 *   bs-4  4  CRC-32C trailer (doc/SPEC.md §4)
 *
 * The decoder treats the block as hostile even when its CRC is valid: every
 * count and length is bounded by the block size before use, and every rule
 * of doc/SPEC.md §8.2 is checked.
 */
#ifndef WD_NODECODEC_H
#define WD_NODECODEC_H

#include <stdint.h>
#include "node.h"
#include "superblock.h"

#define WD_TYPE_ROOT 1
#define WD_TYPE_CHILD 2
#define WD_MAX_DEPTH 64u

/* What the decoder must verify about the block it is given. */
struct wd_expect {
	int is_root;            /* expected node type */
	uint32_t rdepth;        /* expected height (ignored for a root) */
	const uint8_t *lo;      /* exclusive lower key bound or NULL */
	const uint8_t *hi;      /* inclusive upper key bound (NULL: all-ff) */
	uint64_t parent_gen;    /* generation must be < this (root: UINT64_MAX
				 * means no bound) */
};

/* Encode n (which must fit, wd_node_fits) with generation gen into the
 * zeroed-or-not buffer blk of g->bs bytes, sealing the CRC (magic trailer if
 * magic is set). */
void wd_node_encode(const struct wd_geom *g, const struct wd_node *n,
		    uint64_t gen, int magic, uint8_t *blk);

/* Decode and validate block L (blk: g->bs bytes, CRC already checked) into a
 * new node (*out, owned by the caller).  Errors: WODAN_E_BAD_NODE_TYPE,
 * WODAN_E_FSID, WODAN_E_CORRUPT (detail: block and rule), WODAN_E_NOMEM. */
int wd_node_decode(const struct wd_geom *g, const uint8_t *blk, uint64_t L,
		   const struct wd_expect *ex, struct wd_node **out);

/* Header peek used by the root search: 1 if blk is a root candidate
 * (type 1 and fsid match; CRC is checked by the caller); *gen set. */
int wd_node_peek_root(const struct wd_geom *g, const uint8_t *blk,
		      uint64_t *gen);

#endif
