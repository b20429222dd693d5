/*
 * spacemap.h -- free-space map and circular allocator (internal).
 *
 * One bit per block of the logical size (1 = used); block 0 (superblock) is
 * always used.  The map is rebuilt at every mount by the validation walk
 * (doc/SPEC.md §8.2); it is never stored.  Allocation is circular from a cursor
 * (doc/ORIGINAL.md §7.2) so writes go sequentially round the device.
 *
 * Crash-safety rule (doc/SPEC.md §11.2, fixes L4): a block freed by a
 * flush stays marked used ("pending") until the flush that freed it is
 * durable; wd_sm_defer_free() queues it and wd_sm_release_pending() frees
 * the queue after the flush's final barrier.
 *
 * Live trim (wodan_live_trim; doc/ORIGINAL.md L12): a second bitmap, `freed`,
 * holds the blocks released by durable flushes since the map was built (the
 * mount) or since the last trim forgot them.  A block leaves it as soon as
 * it is used again (wd_sm_set, hence wd_sm_alloc), so every block in it is
 * free and not pending: invariant freed[L] => !used[L].
 */
#ifndef WD_SPACEMAP_H
#define WD_SPACEMAP_H

#include <stdint.h>

struct wd_spacemap {
	uint64_t *bits;
	uint64_t nblocks;    /* logical size in blocks */
	uint64_t free_count; /* blocks with bit 0 */
	uint64_t cursor;     /* next block to consider (wd_sm_seek) */
	uint64_t *pending;   /* blocks freed by the flush in progress */
	uint64_t npending, pending_cap;
	uint64_t *freed;     /* nblocks bits: released since the last trim */
	uint64_t freed_count; /* blocks with a freed bit */
};

/* Allocate a map with block 0 used, the rest free, and an empty freed set
 * (two bitmaps of nblocks bits each).  0 or WODAN_E_NOMEM. */
int wd_sm_init(struct wd_spacemap *sm, uint64_t nblocks);
/* Release both bitmaps and the pending queue (idempotent). */
void wd_sm_destroy(struct wd_spacemap *sm);
static inline int wd_sm_used(const struct wd_spacemap *sm, uint64_t L)
{
	return (int)((sm->bits[L >> 6] >> (L & 63)) & 1);
}
/* Mark L used (and drop it from the freed set). */
void wd_sm_set(struct wd_spacemap *sm, uint64_t L);
/* Mark L free; never block 0.  Does not add L to the freed set (only a
 * durable flush's release does). */
void wd_sm_clear(struct wd_spacemap *sm, uint64_t L);
/* Next free block from the cursor (wrapping to 1), marked used (so it
 * leaves the freed set), cursor moves past it.  Returns 0 when there is no
 * free block. */
uint64_t wd_sm_alloc(struct wd_spacemap *sm);
/* Where the next wd_sm_alloc starts looking, in 1..nblocks-1. */
static inline uint64_t wd_sm_cursor(const struct wd_spacemap *sm)
{
	return sm->cursor;
}
/* Make the next wd_sm_alloc start looking at block L; L == 0 or L >=
 * nblocks wraps to block 1 (block 0 is the superblock), so callers pass
 * "the block after X" as X + 1.  The only way other modules move the
 * cursor. */
void wd_sm_seek(struct wd_spacemap *sm, uint64_t L);
/* First free block strictly after L going round the ring (L + 1, ...,
 * nblocks - 1, then 1, ...), without taking it; 0 when none is free.
 * O(nblocks) at worst. */
uint64_t wd_sm_next_free(const struct wd_spacemap *sm, uint64_t L);
/* Queue L to be freed once the current flush is durable.  0 or NOMEM. */
int wd_sm_defer_free(struct wd_spacemap *sm, uint64_t L);
/* Free every queued block (the flush is durable) and add it to the freed
 * set.  Call only after the flush's final barrier. */
void wd_sm_release_pending(struct wd_spacemap *sm);

/* Freed set (live trim). */
static inline int wd_sm_freed(const struct wd_spacemap *sm, uint64_t L)
{
	return (int)((sm->freed[L >> 6] >> (L & 63)) & 1);
}
/* First block >= L in the freed set, or nblocks when there is none.
 * Skips empty 64-bit words. */
uint64_t wd_sm_next_freed(const struct wd_spacemap *sm, uint64_t L);
/* Drop blocks [L, L + n) from the freed set (they were discarded). */
void wd_sm_forget_freed(struct wd_spacemap *sm, uint64_t L, uint64_t n);
/* Empty the freed set (fstrim discarded every free block). */
void wd_sm_forget_all_freed(struct wd_spacemap *sm);

#endif
