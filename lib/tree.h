/*
 * tree.h -- B-epsilon tree operations on the in-memory tree (internal).
 *
 * All user items enter the root's log; when a node's log has no room, the
 * largest bucket of items routed to one child is spilled into that child
 * (doc/ORIGINAL.md §5.3); a node that cannot make room by spilling is split
 * by its parent at a byte median (doc/DESIGN.md §4, fixes doc/ORIGINAL.md
 * L9); the root grows the tree by one level (doc/DESIGN.md §4).  Every
 * restructuring step keeps every node encodable and checks first that the
 * blocks it dirties fit (doc/DESIGN.md §5), so an insert that fails changed no
 * key's value and the dirty set always fits on the device.
 */
#ifndef WD_TREE_H
#define WD_TREE_H

#include <stdint.h>
#include "handle.h"

/* The tree's answer when a step would pass the dirty hard ceiling (C6 in
 * cache.h): a flush, then the same call again, gets further.  The error
 * detail then holds WODAN_E_NEEDS_FLUSH and a message.  Internal only:
 * never returned by a public call (callers turn it into
 * WODAN_E_NEEDS_FLUSH or flush and retry). */
#define WD_E_HARD_CEILING (-1000)

/* Insert key -> val (len bytes; with tombstones an empty value deletes).
 * Key/value lengths are checked by the caller.  Errors: NEEDS_FLUSH (the
 * blocks a step needs are not free while nodes are dirty),
 * WD_E_HARD_CEILING, OUT_OF_SPACE, NOMEM, and read/decode errors of loaded
 * children.  A NEEDS_FLUSH or WD_E_HARD_CEILING answer records the item in
 * w->j.refused (any other answer clears it), so the next checkpoint can
 * make room for it. */
int wd_tree_insert(struct wodan *w, const uint8_t *key, const uint8_t *val,
		   uint32_t len);

/* Make the root's log room for the item key -> (len bytes) without
 * storing it: the spills and splits wd_tree_insert would do first, each
 * reserved as there (C4, C6).  key == NULL: any key not in the root (the
 * item's full size counts).  0 when the insert would now store the item at
 * once; errors as wd_tree_insert, except that a stop at the hard ceiling
 * answers NEEDS_FLUSH too (flush, then call again).
 * What was done stays done (it changes no key's value). */
int wd_tree_prepare(struct wodan *w, const uint8_t *key, uint32_t len);

/* Find key.  Returns 1 with *val and *len pointing into the cache (valid until
 * the next call on the handle), 0 when absent (or a tombstone), or an
 * error from loading a child. */
int wd_tree_lookup(struct wodan *w, const uint8_t *key, const uint8_t **val,
		   uint32_t *len);

/* Check that k more nodes may become dirty: their blocks (C4) and their
 * memory (C6).  Returns 0, NEEDS_FLUSH, WD_E_HARD_CEILING or
 * OUT_OF_SPACE. */
int wd_tree_reserve_blocks(struct wodan *w, uint32_t k);

#endif
