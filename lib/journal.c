/* journal.c -- redo journal: commits, checkpoints, replay (see journal.h and
 * doc/SPEC.md §10 for the record format). */
#include <stdlib.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "crc.h"
#include "error.h"
#include "flush.h"
#include "handle.h"
#include "journal.h"
#include "keys.h"
#include "tree.h"

int wd_journal_append(struct wodan *w, const uint8_t *key, const uint8_t *val,
		      uint32_t len)
{
	struct wd_journal *j = &w->j;
	uint32_t ks = w->g.ks;
	size_t need = j->len + ks + 2 + len;
	if (need > j->cap) {
		size_t nc = j->cap ? j->cap : 65536;
		while (nc < need)
			nc *= 2;
		uint8_t *p = realloc(j->buf, nc);
		if (!p) {
			/* the tree has the change: the next commit must be a
			 * checkpoint, which makes it durable anyway */
			j->want_checkpoint = 1;
			return WODAN_E_NOMEM;
		}
		j->buf = p;
		j->cap = nc;
	}
	uint8_t *d = j->buf + j->len;
	memcpy(d, key, ks);
	wd_put16(d + ks, (uint16_t)len);
	if (len)
		memcpy(d + ks + 2, val, len);
	j->len = need;
	j->nitems++;
	return 0;
}

/* Room for items in one journal block. */
static uint32_t payload(const struct wodan *w)
{
	return w->g.block_end - WD_JOURNAL_HDR;
}

/* Blocks the pending items take, packed in order (an item never spans
 * blocks; every item fits one: ks + 2 + max_value <= payload). */
static uint32_t blocks_needed(const struct wodan *w)
{
	const struct wd_journal *j = &w->j;
	uint32_t ks = w->g.ks, room = payload(w), k = 1, used = 0;
	for (size_t off = 0; off < j->len;) {
		uint32_t sz = ks + 2 + wd_le16(j->buf + off + ks);
		if (used + sz > room) {
			k++;
			used = 0;
		}
		used += sz;
		off += sz;
	}
	return k;
}

static void free_journal_blocks(struct wodan *w)
{
	struct wd_journal *j = &w->j;
	/* the checkpoint is durable: the blocks are free at once and join
	 * the live-trim set like any block a flush released */
	for (size_t i = 0; i < j->nblocks; i++)
		if (wd_sm_defer_free(&w->sm, j->blocks[i]))
			wd_sm_clear(&w->sm, j->blocks[i]);
	wd_sm_release_pending(&w->sm);
	j->nblocks = 0;
}

int wd_checkpoint(struct wodan *w)
{
	struct wd_journal *j = &w->j;
	uint64_t f0 = w->st.flushes;
	int r = wd_flush(w);
	if (r) {
		j->ok = 0;
		return r;
	}
	if (!j->on)
		return 0;
	if (w->st.flushes != f0) {
		/* a new root is durable: a new epoch */
		free_journal_blocks(w);
		j->root_gen = w->gen;
		j->last = w->root_addr;
		j->len = 0;
		j->nitems = 0;
		j->ok = 1;
		j->want_checkpoint = 0;
		w->st.checkpoints++;
	}
	return 0;
}

/* Encode journal block idx of k, taking items from *off. */
static void encode_record(struct wodan *w, uint64_t gen, uint32_t idx,
			  uint32_t k, size_t *off, uint8_t *blk)
{
	struct wd_journal *j = &w->j;
	uint32_t ks = w->g.ks, room = payload(w), used = 0, n = 0;
	uint8_t *p = blk + WD_JOURNAL_HDR;
	while (*off < j->len) {
		uint32_t sz = ks + 2 + wd_le16(j->buf + *off + ks);
		if (used + sz > room)
			break;
		memcpy(p + used, j->buf + *off, sz);
		used += sz;
		*off += sz;
		n++;
	}
	memset(p + used, 0, room - used);
	blk[0] = WD_TYPE_JOURNAL;
	wd_put64(blk + 1, gen);
	memcpy(blk + 9, w->g.fsid, 16);
	wd_put64(blk + 25, j->root_gen);
	wd_put32(blk + 33, idx);
	wd_put32(blk + 37, k);
	wd_put32(blk + 41, n);
	if (w->flags & WODAN_OPEN_MAGIC_CRC_WRITE)
		wd_crc_seal_magic(blk, w->g.bs);
	else
		wd_crc_seal(blk, w->g.bs);
}

/* Write the pending items as one commit of k blocks (J1, J2). */
static int journal_write(struct wodan *w, uint32_t k)
{
	struct wd_journal *j = &w->j;
	if (j->nblocks + k > j->blocks_cap) {
		size_t nc = j->blocks_cap ? j->blocks_cap : 64;
		while (nc < j->nblocks + k)
			nc *= 2;
		uint64_t *p = realloc(j->blocks, nc * sizeof *p);
		if (!p)
			return WODAN_E_NOMEM;
		j->blocks = p;
		j->blocks_cap = nc;
	}
	uint64_t gen = w->next_gen++;
	uint64_t *L = j->blocks + j->nblocks, pos = j->last;
	uint32_t taken = 0;
	size_t off = 0;
	int r = 0;
	for (uint32_t i = 0; i < k && !r; i++) {
		uint64_t b = wd_sm_next_free(&w->sm, pos);
		if (!b) {
			r = wd_err(WODAN_E_OUT_OF_SPACE,
				   "no free block for the journal");
			break;
		}
		wd_sm_set(&w->sm, b);
		L[taken++] = b;
		pos = b;
		encode_record(w, gen, i, k, &off, w->blk);
		r = wd_write_block(w, b, w->blk);
	}
	if (!r)
		r = wd_barrier(w);
	if (r) {
		/* nothing acknowledged: the blocks are free again and the
		 * retry (a larger generation, at least as many blocks)
		 * overwrites them (J2) */
		for (uint32_t i = 0; i < taken; i++)
			wd_sm_clear(&w->sm, L[i]);
		return r;
	}
	j->nblocks += k;
	j->last = pos;
	/* node blocks of the next checkpoint come after the journal, so
	 * writes stay in ring order */
	w->sm.cursor = pos + 1 >= w->sm.nblocks ? 1 : pos + 1;
	w->gen = gen;
	j->len = 0;
	j->nitems = 0;
	w->st.journal_commits++;
	w->st.journal_blocks_written += k;
	return 0;
}

int wd_commit(struct wodan *w)
{
	struct wd_journal *j = &w->j;
	if (!j->on || !j->ok || j->want_checkpoint)
		return wd_checkpoint(w);
	if (j->len == 0)
		return 0; /* every acknowledged change is durable */
	uint32_t k = blocks_needed(w);
	/* checkpoint instead when the journal would grow past its limit, when
	 * dirty memory reached the soft ceiling, or when the blocks could
	 * leave a checkpoint without room (C4 in cache.h) */
	if (j->nblocks + k > j->limit_blocks ||
	    w->dirty_bytes + j->len >= w->dirty_budget ||
	    w->sm.free_count < w->dirty_nodes + k + 1)
		return wd_checkpoint(w);
	return journal_write(w, k);
}

/* ---------------------------------------------------------------- replay */

struct replay {
	uint8_t *items;          /* the current commit's items */
	size_t len, cap;
	uint64_t *blocks;        /* its blocks */
	uint32_t nblocks, blocks_cap;
	uint64_t gen;            /* its generation */
	uint32_t k;              /* its block count */
};

static int rp_push_block(struct replay *rp, uint64_t b)
{
	if (rp->nblocks == rp->blocks_cap) {
		uint32_t nc = rp->blocks_cap ? rp->blocks_cap * 2 : 16;
		uint64_t *p = realloc(rp->blocks, nc * sizeof *p);
		if (!p)
			return WODAN_E_NOMEM;
		rp->blocks = p;
		rp->blocks_cap = nc;
	}
	rp->blocks[rp->nblocks++] = b;
	return 0;
}

/* Check the items of a record (hostile bytes: every length bounded by the
 * block) and append them to rp->items.  1 valid, 0 not, or NOMEM. */
static int take_items(struct wodan *w, const uint8_t *blk, struct replay *rp)
{
	uint32_t ks = w->g.ks, room = payload(w);
	uint32_t n = wd_le32(blk + 41);
	if (n > room / (ks + 2))
		return 0;
	const uint8_t *p = blk + WD_JOURNAL_HDR;
	uint32_t used = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (room - used < ks + 2)
			return 0;
		uint32_t len = wd_le16(p + used + ks);
		if (len > w->g.max_value || room - used - ks - 2 < len)
			return 0;
		used += ks + 2 + len;
	}
	if (rp->len + used > rp->cap) {
		size_t nc = rp->cap ? rp->cap : 65536;
		while (nc < rp->len + used)
			nc *= 2;
		uint8_t *q = realloc(rp->items, nc);
		if (!q)
			return WODAN_E_NOMEM;
		rp->items = q;
		rp->cap = nc;
	}
	memcpy(rp->items + rp->len, p, used);
	rp->len += used;
	return 1;
}

/* Apply a complete commit to the tree and adopt its blocks. */
static int apply(struct wodan *w, struct replay *rp)
{
	struct wd_journal *j = &w->j;
	uint32_t ks = w->g.ks;
	for (size_t off = 0; off < rp->len;) {
		const uint8_t *it = rp->items + off;
		uint32_t len = wd_le16(it + ks);
		int r = wd_tree_insert(w, it, it + ks + 2, len);
		if (r == WODAN_E_NEEDS_FLUSH)
			return wd_err(WODAN_E_NEEDS_FLUSH,
				      "journal replay needs more free blocks "
				      "than the device has: %s",
				      wodan_last_error()->message);
		if (r)
			return r;
		off += ks + 2 + len;
	}
	if (j->nblocks + rp->nblocks > j->blocks_cap) {
		size_t nc = j->blocks_cap ? j->blocks_cap : 64;
		while (nc < j->nblocks + rp->nblocks)
			nc *= 2;
		uint64_t *p = realloc(j->blocks, nc * sizeof *p);
		if (!p)
			return WODAN_E_NOMEM;
		j->blocks = p;
		j->blocks_cap = nc;
	}
	memcpy(j->blocks + j->nblocks, rp->blocks,
	       rp->nblocks * sizeof *rp->blocks);
	j->nblocks += rp->nblocks;
	j->last = rp->blocks[rp->nblocks - 1];
	w->gen = rp->gen;
	if (rp->gen >= w->next_gen)
		w->next_gen = rp->gen + 1;
	rp->len = 0;
	rp->nblocks = 0;
	return 0;
}

/* Walk the chain after the epoch's root (J1) and apply what J2 accepts.  A
 * complete commit is applied once the next block is known not to claim its
 * generation: a record of the same generation after a complete commit
 * proves the chain inconsistent (a record's block count was altered), and
 * then nothing from that commit on is applied. */
static int replay(struct wodan *w, uint64_t *commits)
{
	struct wd_journal *j = &w->j;
	struct replay rp = { 0 };
	uint64_t pos = j->last, prev_gen = j->root_gen;
	uint64_t budget = w->sm.free_count; /* at most one lap */
	int r = 0, pending = 0, forged = 0;
	/* not w->blk: applying a commit loads nodes through it; aligned for
	 * O_DIRECT devices */
	uint8_t *blk = aligned_alloc(4096, ((size_t)w->g.bs + 4095) / 4096 *
						   4096);
	if (!blk)
		return WODAN_E_NOMEM;
	while (budget--) {
		uint64_t b = wd_sm_next_free(&w->sm, pos);
		if (!b)
			break;
		int v = wd_read_block_raw(w, b, blk);
		if (v == 0) /* a CRC mismatch may be transient: once more */
			v = wd_read_block_raw(w, b, blk);
		if (v < 0) {
			r = v; /* an unreadable block may hold a commit */
			break;
		}
		const uint8_t *h = blk;
		if (v != 1 || h[0] != WD_TYPE_JOURNAL ||
		    memcmp(h + 9, w->g.fsid, 16) != 0 ||
		    wd_le64(h + 25) != j->root_gen)
			break;
		uint64_t gen = wd_le64(h + 1);
		uint32_t idx = wd_le32(h + 33), k = wd_le32(h + 37);
		if (pending) {
			if (gen == rp.gen) {
				forged = 1;
				break;
			}
			if ((r = apply(w, &rp)))
				break;
			pending = 0;
			prev_gen = rp.gen;
			(*commits)++;
		}
		int cont = rp.nblocks && gen == rp.gen && idx == rp.nblocks &&
			   k == rp.k;
		int start = !rp.nblocks && idx == 0 && k >= 1 &&
			    gen > prev_gen;
		if (!cont && !start)
			break;
		int t = take_items(w, h, &rp);
		if (t < 0) {
			r = t;
			break;
		}
		if (t == 0)
			break;
		if ((r = rp_push_block(&rp, b)))
			break;
		wd_sm_set(&w->sm, b);
		rp.gen = gen;
		rp.k = k;
		pos = b;
		pending = rp.nblocks == k;
	}
	if (pending && !forged && !r) {
		r = apply(w, &rp);
		if (!r)
			(*commits)++;
	}
	/* an incomplete (or unapplied) last commit was never acknowledged:
	 * its blocks are garbage again */
	for (uint32_t i = 0; i < rp.nblocks; i++)
		wd_sm_clear(&w->sm, rp.blocks[i]);
	free(rp.items);
	free(rp.blocks);
	free(blk);
	return r;
}

int wd_journal_open(struct wodan *w, uint64_t *commits)
{
	struct wd_journal *j = &w->j;
	*commits = 0;
	if (!(w->g.incompat & WD_FLAG_JOURNAL))
		return 0;
	j->on = 1;
	j->root_gen = w->gen;
	j->last = w->root_addr;
	j->limit_blocks = w->dirty_budget / 2 / w->g.bs;
	if (j->limit_blocks < 8)
		j->limit_blocks = 8;
	/* replay with the dirty ceilings lifted: the run-time handle made
	 * the same changes to the same tree without a flush */
	uint64_t soft = w->dirty_budget, hard = w->dirty_hard;
	w->dirty_budget = w->dirty_hard = UINT64_MAX;
	int r = replay(w, commits);
	w->dirty_budget = soft;
	w->dirty_hard = hard;
	w->st.journal_replayed_commits = *commits;
	if (r || (w->flags & WODAN_OPEN_READONLY))
		return r;
	/* start this handle's epoch: a root of our own, so that no record
	 * left by an earlier handle can ever continue our chain */
	wd_cache_mark_dirty(w, w->root);
	r = wd_checkpoint(w);
	if (r == WODAN_E_OUT_OF_SPACE || r == WODAN_E_NEEDS_FLUSH) {
		/* a full device: open anyway, without journal commits (every
		 * flush is then a checkpoint, and the first one that finds
		 * room starts the epoch); the journal's blocks stay used */
		wd_err_clear();
		r = 0;
		j->ok = 0;
	}
	/* C6 holds from here on; the replay itself was exempt */
	w->st.dirty_peak_bytes = w->dirty_bytes;
	return r;
}

void wd_journal_free(struct wodan *w)
{
	free(w->j.buf);
	free(w->j.blocks);
	memset(&w->j, 0, sizeof w->j);
}
