/* flush.c -- post-order write of dirty nodes, barriers, root last. */
#include <stdlib.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "error.h"
#include "flush.h"
#include "wdassert.h"
#include "journal.h"
#include "keys.h"
#include "nodecodec.h"

struct written {
	struct wd_node **v;
	size_t n, cap;
	uint64_t failed;   /* block allocated for a write that failed, or 0 */
	/* non-root nodes encoded and not yet written: consecutive blocks
	 * first .. first + nb - 1, one backend write when the run breaks or
	 * the buffer is full (fewer, larger writes: the allocator hands out
	 * blocks in ring order, so a flush's blocks are mostly consecutive) */
	uint8_t *batch;
	uint32_t nb, cap_blocks;
	uint64_t first;
};

/* Bytes of the write batch buffer: 2 MiB, at least one block. */
#define BATCH_BYTES (2u << 20)

/* Write the batch.  On failure its blocks' nodes are in wr->v already, so
 * wd_flush's failure path frees their blocks and restores the parents. */
static int submit(struct wodan *w, struct written *wr)
{
	if (!wr->nb)
		return 0;
	int r = wd_write_blocks(w, wr->first, wr->batch, wr->nb);
	wr->nb = 0;
	return r;
}

static int push(struct written *wr, struct wd_node *n)
{
	if (wr->n == wr->cap) {
		size_t nc = wr->cap ? wr->cap * 2 : 64;
		struct wd_node **p = realloc(wr->v, nc * sizeof *p);
		if (!p)
			return WODAN_E_NOMEM;
		wr->v = p;
		wr->cap = nc;
	}
	wr->v[wr->n++] = n;
	return 0;
}

/* Encode and write n to a new block with generation next_gen++, and record
 * it in wr (so the i-th written node has generation first_gen + i).  n's
 * dirty children were written before; their new addresses are in
 * n->laddr. */
static int write_node(struct wodan *w, struct wd_node *n, struct written *wr)
{
	if (!wd_node_fits(n, &w->g, UINT32_MAX))
		return wd_err(WODAN_E_CORRUPT,
			      "internal: a dirty node does not fit its block");
	int magic = (w->flags & WODAN_OPEN_MAGIC_CRC_WRITE) != 0;
	if (n->is_root || !wr->batch) {
		/* the root is written alone, after the barrier; room in wr
		 * first, so that a written block is always tracked */
		if (wr->n == wr->cap) {
			int r = push(wr, n);
			if (r)
				return r;
			wr->n--;
		}
		uint64_t L = wd_sm_alloc(&w->sm);
		if (L == 0)
			return wd_err(WODAN_E_OUT_OF_SPACE,
				      "no free block for flush");
		uint64_t gen = w->next_gen++;
		wd_node_encode(&w->g, n, gen, magic, w->flush_blk);
		int r = wd_write_block(w, L, w->flush_blk);
		if (r) {
			wr->failed = L; /* wd_flush decides when L is free */
			return r;
		}
		n->flush_addr = L;
		return push(wr, n);
	}
	int r = push(wr, n);
	if (r)
		return r;
	uint64_t L = wd_sm_alloc(&w->sm);
	if (L == 0) {
		wr->n--;
		return wd_err(WODAN_E_OUT_OF_SPACE, "no free block for flush");
	}
	n->flush_addr = L; /* in wr->v: freed by wd_flush if this fails */
	if (wr->nb && (L != wr->first + wr->nb || wr->nb == wr->cap_blocks)) {
		r = submit(w, wr);
		if (r)
			return r;
	}
	if (!wr->nb)
		wr->first = L;
	uint64_t gen = w->next_gen++;
	wd_node_encode(&w->g, n, gen, magic,
		       wr->batch + (size_t)wr->nb * w->g.bs);
	wr->nb++;
	return 0;
}

static int write_subtree(struct wodan *w, struct wd_node *n,
			 struct written *wr)
{
	for (uint32_t i = 0; i < n->nlinks; i++) {
		struct wd_node *c = n->lchild[i];
		if (c && c->dirty) {
			int r = write_subtree(w, c, wr);
			if (r)
				return r;
			n->laddr[i] = c->flush_addr;
		}
	}
	if (n->is_root)
		return 0;
	return write_node(w, n, wr);
}

static int all_zero(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/*
 * Before the first write of a writable handle (j.scrub_pending, set by the
 * open): clear what an interrupted writer left half-written after the
 * durable tree, so that no torn write of ours can complete it (doc/DESIGN.md
 * §6, "Torn writes after a crash").  Walks the free blocks in ring order
 * from the root (or past the last journal block, which the replay marked
 * used): whole blocks of this fsid with a generation above the newest
 * durable one (w->gen) are the interrupted writer's and are passed over;
 * every block whose CRC fails and that is not all zero is overwritten with
 * zeros; the walk ends at the first block that is neither (or at a read
 * error, which is ignored).  One barrier makes the zeros durable before
 * anything else is written.  next_gen is raised above every generation
 * seen, so no later write repeats one the interrupted writer used.  Done
 * at the first write, not at the open, so that opening and closing an
 * image without changing it writes nothing.
 * Errors: WODAN_E_IO_WRITE, _IO_BARRIER, _NOMEM.
 */
static int scrub_interrupted(struct wodan *w)
{
	uint64_t g0 = w->gen, top = 0, L = w->root_addr;
	uint64_t *scrub = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	for (uint64_t left = w->sm.free_count; left; left--) {
		L = wd_sm_next_free(&w->sm, L);
		if (!L)
			break;
		int v = wd_read_block_raw(w, L, w->flush_blk);
		if (v == 0) /* a CRC mismatch may be transient: once more */
			v = wd_read_block_raw(w, L, w->flush_blk);
		if (v < 0) {
			/* an unreadable free block: nothing to learn there */
			wd_err_clear();
			break;
		}
		const uint8_t *b = w->flush_blk;
		uint64_t gen = wd_le64(b + 1);
		int ours = b[0] >= 1 && b[0] <= WD_TYPE_JOURNAL &&
			   !memcmp(b + 9, w->g.fsid, 16) && gen > g0 &&
			   gen < WD_GEN_LIMIT;
		if (ours && gen > top)
			top = gen;
		if (v == 1 && ours)
			continue; /* a whole block of the interrupted writes */
		if (v == 1)
			break;    /* older than the tree: their end */
		/* torn, garbage or never written: scrub it unless zero */
		if (!all_zero(b, w->g.bs)) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				uint64_t *q = realloc(scrub, nc * sizeof *q);
				if (!q) {
					free(scrub);
					return WODAN_E_NOMEM;
				}
				scrub = q;
				cap = nc;
			}
			scrub[n++] = L;
		}
		if (!ours)
			break;
	}
	if (top >= w->next_gen)
		w->next_gen = top + 1;
	if (n) {
		memset(w->flush_blk, 0, w->g.bs);
		for (size_t i = 0; i < n && !r; i++)
			r = wd_write_block(w, scrub[i], w->flush_blk);
		if (!r)
			r = wd_barrier(w);
	}
	free(scrub);
	return r;
}

int wd_flush_prepare(struct wodan *w)
{
	if (!w->j.scrub_pending)
		return 0;
	int r = scrub_interrupted(w);
	if (!r)
		w->j.scrub_pending = 0;
	return r;
}

int wd_flush(struct wodan *w)
{
	struct wd_node *root = w->root;
	if (!root->dirty)
		return 0;
	WD_ASSERT(w->c.lifted || w->c.dirty_nodes <= w->sm.free_count,
		  "C4: dirty nodes <= free blocks before a flush");
	int r = wd_flush_prepare(w);
	if (r)
		return r;
	struct written wr = { 0 };
	uint64_t first_gen = w->next_gen, cursor0 = wd_sm_cursor(&w->sm);
	int root_tried = 0;
	wr.cap_blocks = BATCH_BYTES / w->g.bs;
	if (wr.cap_blocks >= 2)
		/* aligned: O_DIRECT devices take nothing else */
		wr.batch = aligned_alloc(4096, ((size_t)wr.cap_blocks *
						w->g.bs + 4095) / 4096 * 4096);
	/* (without the buffer: one write per block, as before) */
	r = write_subtree(w, root, &wr);
	if (!r)
		r = submit(w, &wr);
	free(wr.batch);
	wr.batch = NULL;
	if (!r && wr.n)
		r = wd_barrier(w);
	if (!r) {
		root_tried = 1;
		r = write_node(w, root, &wr);
	}
	if (!r)
		r = wd_barrier(w);
	if (r) {
		/* Restore the old addresses in the parents of written nodes,
		 * then decide about the blocks this attempt took.
		 *
		 * Failed before the root write: no root references them, so
		 * they are free at once and the allocator rewinds, so that
		 * the retry writes the same blocks in the same order.  Left
		 * allocated, a block whose write failed keeps its old content
		 * -- possibly an old root or preroot -- in a place the
		 * allocator has passed, which breaks the rising run of root
		 * generations the root search bisects (tests/test_crash.c,
		 * B1), and repeated failures would use the space up (B3).
		 *
		 * Failed at or after the root write: that root may be on the
		 * disk and a mount may pick it, so its children stay used
		 * until the next successful flush is durable (the pending
		 * frees).  When the root write itself failed, the allocator
		 * rewinds to that block so the retry overwrites whatever it
		 * holds (an old root would otherwise sit, stale, among newer
		 * ones); losing a root that half-landed costs nothing, since
		 * its flush was never acknowledged. */
		for (size_t i = 0; i < wr.n; i++) {
			struct wd_node *n = wr.v[i];
			if (n->parent) {
				uint32_t k = wd_link_route(n->parent, w->g.ks, n->hi);
				n->parent->laddr[k] = n->addr;
			}
		}
		if (!root_tried) {
			for (size_t i = 0; i < wr.n; i++)
				wd_sm_clear(&w->sm, wr.v[i]->flush_addr);
			if (wr.failed)
				wd_sm_clear(&w->sm, wr.failed);
			wd_sm_seek(&w->sm, cursor0);
		} else {
			for (size_t i = 0; i < wr.n; i++)
				if (wd_sm_defer_free(&w->sm, wr.v[i]->flush_addr))
					r = WODAN_E_NOMEM;
			if (wr.failed) {
				wd_sm_clear(&w->sm, wr.failed);
				wd_sm_seek(&w->sm, wr.failed);
			}
		}
		free(wr.v);
		return r;
	}
	/* commit: generations were handed out in write order */
	for (size_t i = 0; i < wr.n; i++) {
		struct wd_node *n = wr.v[i];
		if (n->addr && wd_sm_defer_free(&w->sm, n->addr))
			/* cannot queue: the flush is durable already, so
			 * the block is free at once (a leaked block would
			 * make the run-time map differ from a mount's, which
			 * the journal's placement needs equal, journal.h J1) */
			wd_sm_clear(&w->sm, n->addr);
		n->addr = n->flush_addr;
		n->gen = first_gen + i;
		wd_cache_mark_clean(w, n);
	}
	w->gen = root->gen;
	w->root_addr = root->addr;
	w->st.flushes++;
	wd_sm_release_pending(&w->sm);
	free(wr.v);
	WD_ASSERT(w->c.dirty_nodes == 0 && w->c.dirty_bytes == 0,
		  "C4: a flush leaves nothing dirty");
#if WD_ASSERTS_ON
	WD_ASSERT(wd_cache_check(w) == 0, "N5, N6, C2, C5, C6 over the "
		  "whole cache after a flush (wd_cache_check)");
#endif
	return 0;
}
