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
#include "cache.h"
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

	struct wd_cache c;         /* written by cache.c only (cache.h) */
	struct wd_journal j;       /* redo journal (journal.h), flag 0x10 */

	/* Scratch blocks (bs bytes, 4096-aligned), one owner each: the
	 * cache's is c.blk, the journal's j.blk; mkfs.c and handle.c allocate
	 * their own for the call that needs one. */
	uint8_t *mount_blk;        /* mount.c's alone: root search, walk */
	uint8_t *flush_blk;        /* flush.c's alone: root write, scrub */
	struct wodan_stats st;
};

/* Allocate a handle for geometry g (no tree yet): space map, cache
 * (wd_cache_init, no budgets yet), scratch blocks.  0 or WODAN_E_NOMEM.
 * The handle belongs to the caller, who releases it with wd_handle_free. */
int wd_handle_new(struct wodan_backend *be, unsigned flags,
		  const struct wd_geom *g, struct wodan **out);
/* Free everything the handle holds (nodes, journal, map, buffers); w may
 * be NULL.  Takes no lock and writes nothing. */
void wd_handle_free(struct wodan *w);

#endif
