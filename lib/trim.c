/*
 * trim.c -- returning free blocks to the device (doc/ORIGINAL.md §8, L12).
 *
 * fstrim: discard every block the space map marks free.  Right after a
 * flush the map's used blocks are exactly block 0 plus the newest durable
 * tree (plus, conservatively, blocks a failed flush may have written), so no
 * block of that tree is ever discarded.  Every maximal run of free blocks is
 * one discard, and every run is counted (the original dropped the last run
 * from its count).
 *
 * live trim: discard only the blocks released by durable flushes since open
 * (the space map's freed set, see spacemap.h) and forget them, so a second
 * call discards nothing (the original never forgot).  Blocks freed by a
 * flush become members only after that flush's final barrier, and leave the
 * set when the allocator hands them out again, so neither a block of the
 * durable tree nor a block a flush in progress still protects is discarded.
 *
 * Crash safety: a discard only ever targets blocks that no durable root
 * reaches, so a power cut at any point of a trim leaves the newest durable
 * tree intact; the root search still works because discarding old root
 * candidates keeps the circular log's "rising run" (mount.h).
 */
#include <errno.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "error.h"
#include "flush.h"
#include "journal.h"

/* Discard n blocks from L through the backend.  A backend that reports
 * EOPNOTSUPP is "not supported" (e.g. a block device without discard), not
 * an I/O error.  Counts blocks_discarded. */
static int discard_run(struct wodan *w, uint64_t L, uint64_t n)
{
	int r = w->be->discard(w->be, L * w->g.bs, n * w->g.bs);
	if (r == -EOPNOTSUPP)
		return wd_err(WODAN_E_NOT_SUPPORTED,
			      "backend %s does not support discard",
			      w->be->name);
	if (r)
		return wd_err_block(WODAN_E_IO_DISCARD, L,
				    "discard of %llu blocks at block %llu "
				    "failed: %s", (unsigned long long)n,
				    (unsigned long long)L, strerror(-r));
	w->st.blocks_discarded += n;
	return 0;
}

static int trim_allowed(struct wodan *w)
{
	if (w->flags & WODAN_OPEN_READONLY)
		return wd_err(WODAN_E_READONLY, "handle is read-only");
	if (!w->be->discard)
		return wd_err(WODAN_E_NOT_SUPPORTED,
			      "backend %s cannot discard", w->be->name);
	return 0;
}

int wodan_fstrim(wodan_t *w, uint64_t *discarded_blocks)
{
	wd_err_clear();
	if (discarded_blocks)
		*discarded_blocks = 0;
	int r = trim_allowed(w);
	if (r)
		return r;
	r = wd_checkpoint(w);
	wd_cache_trim(w); /* the flushed nodes are clean now */
	if (r)
		return r;
	uint64_t total = 0, L = 1, n = w->g.lsize;
	while (L < n) {
		if (wd_sm_used(&w->sm, L)) {
			L++;
			continue;
		}
		uint64_t s = L;
		while (L < n && !wd_sm_used(&w->sm, L))
			L++;
		/* [s, L) is a maximal free run, possibly ending at lsize:
		 * discarded and counted alike (fixes doc/ORIGINAL.md L12) */
		r = discard_run(w, s, L - s);
		if (r) {
			if (discarded_blocks)
				*discarded_blocks = total;
			return r;
		}
		wd_sm_forget_freed(&w->sm, s, L - s);
		total += L - s;
	}
	/* every free block was discarded: nothing is left for live trim */
	wd_sm_forget_all_freed(&w->sm);
	if (discarded_blocks)
		*discarded_blocks = total;
	return 0;
}

int wodan_live_trim(wodan_t *w, uint64_t *discarded_blocks)
{
	wd_err_clear();
	if (discarded_blocks)
		*discarded_blocks = 0;
	int r = trim_allowed(w);
	if (r)
		return r;
	struct wd_spacemap *sm = &w->sm;
	uint64_t total = 0, n = sm->nblocks;
	uint64_t L = wd_sm_next_freed(sm, 1);
	while (L < n) {
		uint64_t s = L;
		/* a freed block is free by invariant; the used test is a
		 * second guard that the durable tree is never discarded */
		while (L < n && wd_sm_freed(sm, L) && !wd_sm_used(sm, L))
			L++;
		if (L > s) {
			r = discard_run(w, s, L - s);
			if (r) {
				/* blocks already discarded stay forgotten;
				 * the rest are kept for the next call */
				if (discarded_blocks)
					*discarded_blocks = total;
				return r;
			}
			wd_sm_forget_freed(sm, s, L - s);
			total += L - s;
		} else {
			wd_sm_forget_freed(sm, L, 1); /* used: not ours */
			L++;
		}
		L = wd_sm_next_freed(sm, L);
	}
	if (discarded_blocks)
		*discarded_blocks = total;
	return 0;
}
