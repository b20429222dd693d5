/*
 * cache.h -- nodes in memory: loading children, one recency list for clean
 * and dirty nodes, byte budgets, and dirty accounting (internal).
 *
 * A parent refers to a child by its block address (laddr) and, while the
 * child is in memory, by the node itself (lchild): the node pointer is the
 * cache id of the design notes.  A node is decoded once per load and never
 * re-parsed while it stays in memory.
 *
 * Invariants (see also node.h N5, N6):
 *   C1  the in-memory nodes form a connected tree from the root: a cached
 *       node's parent is cached (a child is reached only through its parent).
 *   C2  every non-root node in memory, clean or dirty, is on the recency
 *       list (head = most recent); the root is not.  clean_bytes and
 *       dirty_bytes are the sums of mem_bytes over clean and dirty nodes.
 *       Flushing a node makes it clean without moving it in the list.
 *   C3  eviction takes the least recent clean, unpinned node (a node
 *       without cached children, by C5); dirty nodes and the root are never
 *       evicted, so eviction never loses data.
 *   C5  a parent is always more recent than its cached children: every
 *       access moves the node and then its ancestors to the head
 *       (wd_cache_touch), so the list's tail end holds the bottom of the
 *       tree and eviction only ever removes clean leaves of the cached
 *       tree (the dirty nodes form a tree from the root, N6, and a clean
 *       node's cached children are clean).
 *   C4  dirty_nodes counts dirty nodes; the space check in tree.c keeps
 *       dirty_nodes <= free blocks, so a flush always finds room.
 *   C6  dirty memory never exceeds the hard ceiling: every dirty node takes
 *       at most node_mem_max bytes, and tree.c admits k more dirty nodes
 *       only while wd_cache_admits(w, k), i.e. (dirty_nodes + k) *
 *       node_mem_max <= dirty_hard, or when nothing is dirty (so that
 *       every operation progresses).  The hard ceiling is at least
 *       WD_CACHE_HARD_FLOOR_NODES (16) nodes' worth, which does not cover
 *       the largest step (up to WD_MAX_DEPTH + 2 nodes): in a deep tree
 *       (fanout 2) a step from nothing dirty can pass the ceiling.
 *       The soft ceiling (dirty_soft) is checked before each insert and
 *       delete (wd_cache_over_soft): reaching it flushes, or answers
 *       NEEDS_FLUSH.  Journal replay alone runs with both ceilings lifted
 *       (wd_cache_lift_ceilings): it redoes changes a handle made within
 *       its ceilings, and the checkpoint right after it writes them out.
 *
 * Ownership: struct wd_cache (w->c) is written only by cache.c; the other
 * modules read its counters and ask the ceiling questions through the
 * functions below.  The scratch block c.blk belongs to cache.c alone (it
 * holds a child's block between its read and its decoding, within one
 * call); no other module reads or writes it.
 */
#ifndef WD_CACHE_H
#define WD_CACHE_H

#include <stdint.h>
#include "nodecodec.h"

struct wodan;
struct wd_node;

/* Smallest hard ceiling, in nodes of node_mem_max bytes (C6).  It does not
 * cover the largest single step (a root-to-leaf path of WD_MAX_DEPTH + 1
 * nodes plus the node a split adds), which is why a step that starts with
 * nothing dirty is admitted regardless: see C6. */
#define WD_CACHE_HARD_FLOOR_NODES 16u

/* The cache's state, inside struct wodan as w->c (written by cache.c only;
 * see "Ownership" above).  Byte counts are wd_node_mem() estimates. */
struct wd_cache {
	struct wd_node *lru_head, *lru_tail; /* non-root nodes, head = newest */
	uint64_t clean_budget;     /* bytes of clean nodes kept (cache_bytes) */
	uint64_t dirty_soft;       /* bytes: soft ceiling (dirty_bytes opt) */
	uint64_t dirty_hard;       /* bytes: hard ceiling, C6 */
	uint64_t saved_soft, saved_hard; /* while lifted (replay) */
	int lifted;
	uint64_t node_mem_max;     /* wd_node_mem_max(&w->g) */
	uint64_t clean_bytes, dirty_bytes;
	uint64_t dirty_nodes;      /* nodes the next flush must write */
	uint8_t *blk;              /* cache.c's scratch block (aligned, bs) */
};

/* Set up w->c for w->g (after w->g is known): the scratch block, the node
 * memory bound, no clean budget and unlimited dirty ceilings until
 * wd_cache_set_budgets.  0 or WODAN_E_NOMEM.  Released by
 * wd_cache_destroy. */
int wd_cache_init(struct wodan *w);
/* Budgets in bytes: clean nodes kept, soft and hard dirty ceilings.  The
 * hard ceiling is raised to WD_CACHE_HARD_FLOOR_NODES * node_mem_max when
 * below it (C6). */
void wd_cache_set_budgets(struct wodan *w, uint64_t clean, uint64_t soft,
			  uint64_t hard);
/* Lift both dirty ceilings (journal replay) until
 * wd_cache_restore_ceilings; not nested. */
void wd_cache_lift_ceilings(struct wodan *w);
void wd_cache_restore_ceilings(struct wodan *w);
/* Restart the dirty peak statistic from the dirty memory now (C6 holds
 * again from here: the end of a replay's checkpoint). */
void wd_cache_reset_peak(struct wodan *w);
/* Has dirty memory plus `extra` bytes (the journal's pending items)
 * reached the soft ceiling?  1 or 0. */
int wd_cache_over_soft(const struct wodan *w, uint64_t extra);
/* Are more nodes dirty than the hard ceiling admits (possible only after
 * a replay, which lifted the ceilings)?  1 or 0. */
int wd_cache_over_hard(const struct wodan *w);
/* May k more nodes become dirty within the hard ceiling (C6)?  1 or 0. */
int wd_cache_admits(const struct wodan *w, uint32_t k);

/* Get child i of parent p in memory (loading and validating it on a miss).
 * Errors from the block read and decoder (detail names the block). */
int wd_cache_child(struct wodan *w, struct wd_node *p, uint32_t i,
		   struct wd_node **out);
/* Note an access: n, then each of its ancestors, moves to the head of the
 * recency list (C5).  O(depth). */
void wd_cache_touch(struct wodan *w, struct wd_node *n);
/* Number of clean nodes from n up to the first dirty ancestor (inclusive):
 * how many blocks marking n dirty will reserve. */
uint32_t wd_cache_clean_path(const struct wd_node *n);
/* Mark n and its clean ancestors dirty. */
void wd_cache_mark_dirty(struct wodan *w, struct wd_node *n);
/* Account a node created in memory (split): dirty from birth. */
void wd_cache_add_new(struct wodan *w, struct wd_node *n);
/* Mark a written node clean (after a successful flush). */
void wd_cache_mark_clean(struct wodan *w, struct wd_node *n);
/* Recompute n->mem_bytes after a change and fix the totals. */
void wd_cache_resize(struct wodan *w, struct wd_node *n);
/* Account a node that is being freed (removed from LRU and totals). */
void wd_cache_forget(struct wodan *w, struct wd_node *n);
/* Evict clean nodes until clean_bytes <= budget or nothing is evictable. */
void wd_cache_trim(struct wodan *w);
/* Free every node in memory (a new root replaces the tree, or close). */
void wd_cache_free_all(struct wodan *w);
/* wd_cache_free_all and release the scratch block (idempotent). */
void wd_cache_destroy(struct wodan *w);
/* Verify N5, N6, C2, C5 and C6 over everything in memory: 0 or
 * WODAN_E_CORRUPT naming the rule (O(nodes * depth * list length); tests
 * and WD_ASSERTS builds). */
int wd_cache_check(const struct wodan *w);
/* Install a freshly loaded root. */
void wd_cache_set_root(struct wodan *w, struct wd_node *root);

#endif
