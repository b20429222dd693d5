/*
 * node.h -- the in-memory B-epsilon tree node (internal).
 *
 * A node is the decoded form of one block (doc/SPEC.md §5): a log of buffered
 * key/value items sorted by key (kept in per-child buckets, N7), and (for
 * inner nodes) child links sorted by key.  Invariants kept by every function that mutates a node:
 *
 *   N1  each bucket is strictly ascending by key; every key lies in
 *       (lo, hi].
 *   N2  lkeys[] is strictly ascending; the last link key equals hi; link i
 *       covers (lkeys[i-1], lkeys[i]] (link 0 starts at lo).
 *   N3  log_bytes == sum over items of (ks + 2 + len).
 *   N4  a node with links has rdepth > 0; a node without has rdepth 0.
 *   N5  lchild[i] != NULL iff that child is in memory; then
 *       lchild[i]->parent == this node and lchild[i]->hi == lkeys[i].
 *   N6  dirty implies parent dirty (the dirty nodes form a tree from the
 *       root); every non-root node in memory is on the cache's recency
 *       list (cache.h C2, C5).
 *   N7  the log is kept per child: bucket i holds exactly the logged items
 *       with keys in link i's range (lkeys[i-1], lkeys[i]]; a node without
 *       links has one bucket with all its items.  nitems and log_bytes are
 *       the totals over the buckets.
 *   N8  every slot's pfx is wd_key_pfx() of its item's key.
 *
 * The serialised size is hdr + log_bytes for the log (hdr = 33 for the root,
 * 29 otherwise) and nlinks * (ks + 8) for the links.  A node "fits" when it
 * can be encoded: see wd_node_fits() (doc/SPEC.md §6 byte budgets).
 */
#ifndef WD_NODE_H
#define WD_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "superblock.h"

/* One logged item, kept in its on-disk form (doc/SPEC.md §5.2): data[] holds ks
 * key bytes, the value length as a little-endian u16, then len value bytes,
 * so that encoding a node copies each item with one memcpy. */
struct wd_item {
	uint16_t len;
	uint8_t data[];
};

/* One entry of a bucket: the item and the first 8 bytes of its key as a
 * big-endian integer (zero-padded when ks < 8), so that a binary search
 * compares integers held in the bucket's own array and dereferences an item
 * only when two prefixes are equal.  Invariant N8: pfx == wd_key_pfx(key). */
struct wd_slot {
	uint64_t pfx;
	struct wd_item *it;
};

/* The logged items routed to one child link (or all items of a leaf): a
 * sorted array of slots.  Keeping the log split per child makes an insert
 * move only its bucket's slots, and a spill take a whole bucket without
 * scanning the log (a spill moves one child's items as a group). */
struct wd_bucket {
	struct wd_slot *sl;
	uint32_t n, cap;
	uint64_t bytes;           /* sum of item sizes (ks + 2 + len) */
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

	/* the log: bucket i holds the items routed to link i (N1, N7); a
	 * node without links has exactly one bucket */
	struct wd_bucket *bk;     /* max(nlinks, 1) buckets */
	uint32_t nitems;          /* items over all buckets */
	uint64_t log_bytes;       /* N3 */

	uint8_t *lkeys;           /* nlinks * ks bytes */
	uint64_t *laddr;          /* on-disk address, 0 while never written */
	struct wd_node **lchild;  /* in-memory child or NULL */
	uint32_t nlinks, links_cap; /* links_cap >= 1 also sizes bk[] */

	uint64_t addr;            /* block of the last written version, 0 = new */
	uint64_t gen;             /* generation of that version (bound for
				   * children's generations when new) */
	uint64_t flush_addr;      /* scratch for flush: newly allocated block */

	struct wd_node *lru_prev, *lru_next; /* recency list (cache.c) */
	uint64_t mem_bytes;       /* memory accounted to this node */
};

/* The ordering prefix of a key: its first min(ks, 8) bytes as a big-endian
 * integer, left-aligned.  Prefix order is memcmp order of those bytes, so
 * unequal prefixes decide a comparison; with ks <= 8 equal prefixes mean
 * equal keys. */
static inline uint64_t wd_key_pfx(const uint8_t *k, uint32_t ks)
{
	uint64_t v = 0;
	if (ks >= 8) {
		memcpy(&v, k, 8);
		return __builtin_bswap64(v);
	}
	for (uint32_t i = 0; i < 8; i++)
		v = (v << 8) | (i < ks ? k[i] : 0);
	return v;
}

/* Compare slot s with key (prefix kp = wd_key_pfx(key)): <0, 0, >0 as
 * memcmp(s's key, key). */
static inline int wd_slot_cmp(const struct wd_slot *s, uint64_t kp,
			      const uint8_t *key, uint32_t ks)
{
	if (s->pfx != kp)
		return s->pfx < kp ? -1 : 1;
	if (ks <= 8)
		return 0;
	return memcmp(s->it->data + 8, key + 8, ks - 8);
}

static inline struct wd_slot wd_slot_of(struct wd_item *it, uint32_t ks)
{
	struct wd_slot s = { wd_key_pfx(it->data, ks), it };
	return s;
}

/* Allocate an empty node (no items, no links, one empty bucket).  lo may be
 * NULL (no lower bound).  Returns NULL on allocation failure. */
struct wd_node *wd_node_new(uint32_t ks, const uint8_t *lo, const uint8_t *hi,
			    uint32_t rdepth, int is_root);
/* Free a node and its items (not its children). */
void wd_node_free(struct wd_node *n);
/* Recompute mem_bytes from the node's contents. */
uint64_t wd_node_mem(const struct wd_node *n, uint32_t ks);

/* An upper bound of wd_node_mem() for any node that fits a block of this
 * geometry (log at most block_end bytes of items of at least ks + 2 bytes,
 * link arrays at most 2 * (cmax + 1) + 8 entries). */
uint64_t wd_node_mem_max(const struct wd_geom *g);

/* Header bytes of n: 33 for the root, 29 otherwise. */
static inline uint32_t wd_node_hdr(const struct wd_node *n)
{
	return n->is_root ? 33u : 29u;
}

/* Bytes the log may still take (negative when over budget): a leaf may use
 * [hdr, block_end), an inner node [hdr, q) (doc/SPEC.md §6). */
int64_t wd_node_log_room(const struct wd_node *n, const struct wd_geom *g);
/* Links the node may still take given the fanout limit (may be negative). */
int64_t wd_node_link_room(const struct wd_node *n, const struct wd_geom *g,
			  uint32_t max_fanout);
/* 1 when n can be encoded under the budgets. */
int wd_node_fits(const struct wd_node *n, const struct wd_geom *g,
		 uint32_t max_fanout);

static inline uint32_t wd_node_nbuckets(const struct wd_node *n)
{
	return n->nlinks ? n->nlinks : 1;
}

/* Bucket index for key: the first link >= key, 0 in a leaf.  Keys above hi
 * are never stored (N1), so the result is < nbuckets for stored keys. */
uint32_t wd_node_bucket_of(const struct wd_node *n, uint32_t ks,
			   const uint8_t *key);
/* Binary search a bucket: index of key (*found=1) or insertion index. */
uint32_t wd_bucket_find(const struct wd_bucket *b, uint32_t ks,
			const uint8_t *key, int *found);
/* First index >= key in b, searching from index `from` (all entries below
 * `from` are known to be smaller) by exponential then binary search; kp =
 * wd_key_pfx(key).  O(log(result - from)). */
uint32_t wd_bucket_gallop(const struct wd_bucket *b, uint32_t from,
			  uint64_t kp, const uint8_t *key, uint32_t ks);
/* The item with key, or NULL. */
struct wd_item *wd_log_get(const struct wd_node *n, uint32_t ks,
			   const uint8_t *key);
/* Insert or replace key -> val (len <= 65535) in its bucket.  Returns 0 or
 * WODAN_E_NOMEM (node unchanged). */
int wd_log_put(struct wd_node *n, uint32_t ks, const uint8_t *key,
	       const uint8_t *val, uint32_t len);
/* wd_log_put with the bucket search already done: b is key's bucket of n,
 * idx and found what wd_bucket_find answered for key. */
int wd_log_put_at(struct wd_node *n, struct wd_bucket *b, uint32_t idx,
		  int found, uint32_t ks, const uint8_t *key,
		  const uint8_t *val, uint32_t len);
/* Remove key if present (1 removed, 0 absent). */
int wd_log_del(struct wd_node *n, uint32_t ks, const uint8_t *key);
/* Item number idx in key order over all buckets (O(buckets); tests and
 * cold paths only). */
struct wd_item *wd_node_item(const struct wd_node *n, uint32_t idx);

/* Replace the whole log with `count` items sorted strictly ascending, all
 * within (lo, hi] (ownership of the items moves to n; the array is
 * borrowed).  Distributes them over the buckets.  0 or WODAN_E_NOMEM (then
 * n is unchanged and the items still belong to the caller). */
int wd_node_set_log(struct wd_node *n, uint32_t ks, struct wd_item **items,
		    uint32_t count);

/*
 * Merge `count` sorted items (ownership moves to n) into n's log; an
 * incoming item replaces an existing one with the same key.  When n is a
 * leaf and tombstones is set, an incoming empty value deletes the key and
 * is dropped (doc/SPEC.md §11.3: nothing lies below a leaf).  One pass per
 * target bucket (a merge, not one memmove per item).  0 or WODAN_E_NOMEM
 * (then nothing moved and the items still belong to the caller).
 */
int wd_log_merge(struct wd_node *n, uint32_t ks, const struct wd_slot *src,
		 uint32_t count, int tombstones);

static inline const uint8_t *wd_item_key(const struct wd_item *it)
{
	return it->data;
}
static inline const uint8_t *wd_item_val(const struct wd_item *it,
					 uint32_t ks)
{
	return it->data + ks + 2;
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
/* Insert a link at index idx (key below the key of the link now at idx,
 * above the one at idx-1).  The bucket of the range it cuts is split: its
 * items <= key go to the new link's bucket.  The first link of a node
 * without links takes over its single bucket; a link appended above the
 * last (idx == nlinks, building a node in key order) gets an empty bucket.
 * 0 or WODAN_E_NOMEM. */
int wd_link_insert(struct wd_node *n, uint32_t ks, uint32_t idx,
		   const uint8_t *key, uint64_t addr, struct wd_node *child);
/* Make room for at least cap links and buckets (0 or WODAN_E_NOMEM). */
int wd_link_reserve(struct wd_node *n, uint32_t ks, uint32_t cap);
/* Make room for at least cap items in bucket b (0 or WODAN_E_NOMEM). */
int wd_bucket_reserve(struct wd_bucket *b, uint32_t cap);

/* WD_ASSERTS builds: check N1-N5, N7, N8 on n (N5 for its cached children)
 * and abort naming the rule when one fails; O(items + links).  A no-op in
 * other builds.  Called where a node must be whole: before it is encoded
 * and after it is decoded. */
void wd_node_assert_valid(const struct wd_node *n, uint32_t ks);

/* Lower bound (exclusive) of link i's range, or NULL for -infinity. */
static inline const uint8_t *wd_link_lo(const struct wd_node *n, uint32_t ks,
					uint32_t i)
{
	if (i > 0)
		return n->lkeys + (size_t)(i - 1) * ks;
	return n->has_lo ? n->lo : NULL;
}

#endif
