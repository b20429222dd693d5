/*
 * handle.h -- struct wodan, the state of one mounted filesystem (internal).
 *
 * Layering (doc/DESIGN.md): backend -> blockio (CRC, counters) -> nodecodec
 * -> cache (nodes in memory, clean LRU, dirty accounting) -> tree (insert,
 * spill, split, lookup) and iterate -> flush + spacemap -> handle.c (the
 * public API).  Each module gets this struct but only calls the layer below.
 */
#ifndef WD_HANDLE_H
#define WD_HANDLE_H

#include <stdint.h>
#include "wodan.h"
#include "journal.h"
#include "node.h"
#include "spacemap.h"
#include "superblock.h"

struct wodan {
	struct wodan_backend *be;
	unsigned flags;            /* WODAN_OPEN_* */
	struct wd_geom g;
	uint32_t max_fanout;       /* min(cmax, option) */
	struct wd_spacemap sm;

	struct wd_node *root;
	uint64_t root_addr;        /* block of the newest durable root */
	uint64_t gen;              /* newest durable root generation */
	uint64_t next_gen;         /* next generation to write */

	/* cache (cache.c) */
	struct wd_node *lru_head, *lru_tail; /* non-root nodes, head = newest */
	uint64_t cache_budget, dirty_budget; /* bytes (dirty: soft ceiling) */
	uint64_t dirty_hard;       /* bytes; C6 in cache.h */
	uint64_t node_mem_max;     /* wd_node_mem_max(&g) */
	uint8_t hard_hit;          /* the last NEEDS_FLUSH came from C6 */
	uint64_t clean_bytes, dirty_bytes;
	uint64_t dirty_nodes;      /* nodes the next flush must write */

	struct wd_journal j;       /* redo journal (journal.h), flag 0x10 */

	uint8_t *blk;              /* one block of scratch I/O buffer */
	struct wodan_stats st;
};

#endif
