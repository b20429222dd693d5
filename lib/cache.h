/*
 * cache.h -- nodes in memory: loading children, the clean-node LRU with a
 * byte budget, and dirty accounting (internal).
 *
 * Invariants (see also node.h N5, N6):
 *   C1  the in-memory nodes form a connected tree from the root: a cached
 *       node's parent is cached (a child is reached only through its parent).
 *   C2  clean non-root nodes are on the LRU list, dirty nodes and the root
 *       are not; clean_bytes/dirty_bytes are the sums of mem_bytes over
 *       clean/dirty nodes (the root counts as clean while clean).
 *   C3  eviction takes the least recently used clean, unpinned node and its
 *       whole cached subtree (all clean by N6); dirty nodes and the root are
 *       never evicted, so eviction never loses data.
 *   C4  dirty_nodes counts dirty nodes; the space check in tree.c keeps
 *       dirty_nodes <= free blocks, so a flush always finds room.
 */
#ifndef WD_CACHE_H
#define WD_CACHE_H

#include <stdint.h>
#include "handle.h"

/* Get child i of parent p in memory (loading and validating it on a miss).
 * Errors from the block read and decoder (detail names the block). */
int wd_cache_child(struct wodan *w, struct wd_node *p, uint32_t i,
		   struct wd_node **out);
/* Note an access (moves a clean node to the LRU head). */
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
/* Install a freshly loaded root. */
void wd_cache_set_root(struct wodan *w, struct wd_node *root);

#endif
