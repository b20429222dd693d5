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
 *       only while (dirty_nodes + k) * node_mem_max <= dirty_hard (or when
 *       nothing is dirty; the hard ceiling is at least 16 nodes' worth).
 *       The soft ceiling (dirty_budget) is checked before each insert and
 *       delete: reaching it flushes, or answers NEEDS_FLUSH.
 */
#ifndef WD_CACHE_H
#define WD_CACHE_H

#include <stdint.h>
#include "handle.h"

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
/* Free every node in memory (close). */
void wd_cache_free_all(struct wodan *w);
/* Verify N5, N6, C2, C5 and C6 over everything in memory: 0 or
 * WODAN_E_CORRUPT naming the rule (O(nodes * depth * list length); tests
 * only). */
int wd_cache_check(const struct wodan *w);
/* Install a freshly loaded root. */
void wd_cache_set_root(struct wodan *w, struct wd_node *root);

#endif
