/*
 * node.h -- the in-memory B-epsilon tree node (internal).
 *
 * A node is the decoded form of one block (ORIGINAL §1.5): a log of buffered
 * key/value items sorted by key, and (for inner nodes) child links sorted by
 * key.  Invariants kept by every function that mutates a node:
 *
 *   N1  items[] is strictly ascending by key; every key lies in (lo, hi].
 *   N2  lkeys[] is strictly ascending; the last link key equals hi; link i
 *       covers (lkeys[i-1], lkeys[i]] (link 0 starts at lo).
 *   N3  log_bytes == sum over items of (ks + 2 + len).
 *   N4  a node with links has rdepth > 0; a node without has rdepth 0.
 *   N5  lchild[i] != NULL iff that child is in memory; then
 *       lchild[i]->parent == this node and lchild[i]->hi == lkeys[i].
 *   N6  dirty implies parent dirty (the dirty nodes form a tree from the
 *       root); clean nodes sit in the cache's LRU list, dirty ones do not.
 *
 * The serialised size is hdr + log_bytes for the log (hdr = 33 for the root,
 * 29 otherwise) and nlinks * (ks + 8) for the links.  A node "fits" when it
 * can be encoded: see wd_node_fits() (ORIGINAL §3.2 byte budgets).
 */
#ifndef WD_NODE_H
#define WD_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "superblock.h"

/* One logged item: ks key bytes then len value bytes in data[]. */
struct wd_item {
	uint16_t len;
	uint8_t data[];
};

struct wd_node {
	struct wd_node *parent;   /* NULL for the root */
	uint32_t rdepth;          /* height above the leaves */
	uint8_t is_root;
	uint8_t dirty;            /* must be written by the next flush */
	uint8_t has_lo;           /* lo is a real bound (else -infinity) */
	uint32_t pins;            /* >0: not evictable (on a traversal stack) */
	uint8_t *lo;              /* exclusive lower bound, ks bytes */
	uint8_t *hi;              /* inclusive upper bound = link key in parent */

	struct wd_item **items;   /* sorted log */
	uint32_t nitems, items_cap;
	uint64_t log_bytes;       /* N3 */

	uint8_t *lkeys;           /* nlinks * ks bytes */
	uint64_t *laddr;          /* on-disk address, 0 while never written */
	struct wd_node **lchild;  /* in-memory child or NULL */
	uint32_t nlinks, links_cap;

	uint64_t addr;            /* block of the last written version, 0 = new */
	uint64_t gen;             /* generation of that version (bound for
				   * children's generations when new) */
	uint64_t flush_addr;      /* scratch for flush: newly allocated block */

	struct wd_node *lru_prev, *lru_next; /* clean LRU (cache.c) */
	uint64_t mem_bytes;       /* memory accounted to this node */
};

/* Allocate an empty node (no items, no links).  lo may be NULL (no lower
 * bound).  Returns NULL on allocation failure. */
struct wd_node *wd_node_new(uint32_t ks, const uint8_t *lo, const uint8_t *hi,
			    uint32_t rdepth, int is_root);
/* Free a node and its items (not its children). */
void wd_node_free(struct wd_node *n);
/* Recompute mem_bytes from the node's contents. */
uint64_t wd_node_mem(const struct wd_node *n, uint32_t ks);

/* Header bytes of n: 33 for the root, 29 otherwise. */
static inline uint32_t wd_node_hdr(const struct wd_node *n)
{
	return n->is_root ? 33u : 29u;
}

/* Bytes the log may still take (negative when over budget): a leaf may use
 * [hdr, block_end), an inner node [hdr, q) (ORIGINAL §3.2). */
int64_t wd_node_log_room(const struct wd_node *n, const struct wd_geom *g);
/* Links the node may still take given the fanout limit (may be negative). */
int64_t wd_node_link_room(const struct wd_node *n, const struct wd_geom *g,
			  uint32_t max_fanout);
/* 1 when n can be encoded under the budgets. */
int wd_node_fits(const struct wd_node *n, const struct wd_geom *g,
		 uint32_t max_fanout);

/* Binary search the log: index of key if found (*found=1), else the
 * insertion index (*found=0). */
uint32_t wd_log_find(const struct wd_node *n, uint32_t ks, const uint8_t *key,
		     int *found);
/* Insert or replace key -> val (len <= 65535).  Returns 0 or
 * WODAN_E_NOMEM (node unchanged). */
int wd_log_put(struct wd_node *n, uint32_t ks, const uint8_t *key,
	       const uint8_t *val, uint32_t len);
/* Insert an already allocated item (ownership moves to n) at index idx
 * (must keep N1).  Returns 0 or WODAN_E_NOMEM (item not taken). */
int wd_log_insert_item(struct wd_node *n, uint32_t ks, uint32_t idx,
		       struct wd_item *it);
/* Remove item idx; returns it (caller owns) and updates log_bytes. */
struct wd_item *wd_log_take(struct wd_node *n, uint32_t ks, uint32_t idx);
/* Remove and free item idx. */
void wd_log_remove(struct wd_node *n, uint32_t ks, uint32_t idx);

static inline const uint8_t *wd_item_key(const struct wd_item *it)
{
	return it->data;
}
static inline const uint8_t *wd_item_val(const struct wd_item *it,
					 uint32_t ks)
{
	return it->data + ks;
}
static inline uint64_t wd_item_size(const struct wd_item *it, uint32_t ks)
{
	return (uint64_t)ks + 2 + it->len;
}
struct wd_item *wd_item_new(uint32_t ks, const uint8_t *key,
			    const uint8_t *val, uint32_t len);

/* Index of the first link whose key >= key (the child routing key); nlinks
 * when none (key above hi). */
uint32_t wd_link_route(const struct wd_node *n, uint32_t ks,
		       const uint8_t *key);
static inline const uint8_t *wd_link_key(const struct wd_node *n, uint32_t ks,
					 uint32_t i)
{
	return n->lkeys + (size_t)i * ks;
}
/* Insert a link at index idx.  Returns 0 or WODAN_E_NOMEM. */
int wd_link_insert(struct wd_node *n, uint32_t ks, uint32_t idx,
		   const uint8_t *key, uint64_t addr, struct wd_node *child);
/* Make room for at least cap links / items (0 or WODAN_E_NOMEM). */
int wd_link_reserve(struct wd_node *n, uint32_t ks, uint32_t cap);
int wd_log_reserve(struct wd_node *n, uint32_t cap);

/* Lower bound (exclusive) of link i's range, or NULL for -infinity. */
static inline const uint8_t *wd_link_lo(const struct wd_node *n, uint32_t ks,
					uint32_t i)
{
	if (i > 0)
		return n->lkeys + (size_t)(i - 1) * ks;
	return n->has_lo ? n->lo : NULL;
}

#endif
