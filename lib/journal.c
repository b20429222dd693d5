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
#include <stdio.h>

/* Room for items in one journal block. */
static uint32_t payload(const struct wodan *w)
{
	return w->g.block_end - WD_JOURNAL_HDR;
}

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
	/* packing, as encode_record packs: an item never spans blocks, and
	 * every item fits one (ks + 2 + max_value <= payload) */
	uint32_t sz = ks + 2 + len;
	if (!j->pack_blocks || j->pack_used + sz > payload(w)) {
		j->pack_blocks++;
		j->pack_used = 0;
	}
	j->pack_used += sz;
	uint8_t *d = j->buf + j->len;
	memcpy(d, key, ks);
	wd_put16(d + ks, (uint16_t)len);
	if (len)
		memcpy(d + ks + 2, val, len);
	j->len = need;
	j->nitems++;
	return 0;
}

/* Make room for `extra` more entries in j->blocks.  0 or NOMEM. */
static int reserve_blocks(struct wd_journal *j, size_t extra)
{
	if (j->nblocks + extra <= j->blocks_cap)
		return 0;
	size_t nc = j->blocks_cap ? j->blocks_cap : 64;
	while (nc < j->nblocks + extra)
		nc *= 2;
	uint64_t *p = realloc(j->blocks, nc * sizeof *p);
	if (!p)
		return WODAN_E_NOMEM;
	j->blocks = p;
	j->blocks_cap = nc;
	return 0;
}

/* Forget the pending items (they are durable now). */
static void clear_pending(struct wd_journal *j)
{
	j->len = 0;
	j->nitems = 0;
	j->pack_blocks = 0;
	j->pack_used = 0;
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

/* One full flush; a new epoch when it wrote a root. */
static int checkpoint_once(struct wodan *w)
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
		clear_pending(j);
		j->ok = 1;
		j->want_checkpoint = 0;
		w->st.checkpoints++;
	}
	return 0;
}

/*
 * Make room for the retry of the operation that answered NEEDS_FLUSH, after
 * a checkpoint made everything durable.  One insert can need more spills
 * and splits than the dirty hard ceiling (C6 in cache.h) admits at once --
 * a bucket spilled into a full child makes that child spill into several
 * of its own children, and so on down -- or more blocks than are free
 * before the old versions come back; so "flush, then retry" used to answer
 * NEEDS_FLUSH again now and then, even straight after a flush.  Here the
 * steps the retry will take (wd_tree_prepare: the same loop, without
 * storing the item) are done with a checkpoint whenever a step is refused:
 * right after a checkpoint nothing is dirty, so the next step is admitted
 * or refused for good (OUT_OF_SPACE), and every round gets further.  The
 * steps change no key's value, so what is durable stays what the user had
 * flushed.  The last checkpoint leaves nothing dirty, so the retry passes
 * the soft ceiling and needs at most the root (one block) -- or meets, in
 * the same state, the final answer this loop met.
 *
 * The item is known when the tree refused it; a refusal at the soft
 * ceiling (handle.c) comes before the tree sees the item, so room is made
 * for the largest item any key may need.
 */
static int make_room_for_retry(struct wodan *w)
{
	struct wd_journal *j = &w->j;
	const struct wd_refused *rf = &j->refused;
	int exact = rf->set && rf->op == w->st.inserts + w->st.deletes;
	for (unsigned round = 0; round < 100000; round++) {
		int r = exact ? wd_tree_prepare(w, rf->key, rf->len)
			      : wd_tree_prepare(w, NULL, w->g.max_value);
		if (r != WODAN_E_NEEDS_FLUSH) {
			/* room, or an answer the retry will meet in the same
			 * state (OUT_OF_SPACE with nothing dirty, a node that
			 * cannot split, a damaged child, NOMEM): not this
			 * flush's failure */
			wd_err_clear();
			break;
		}
		wd_err_clear();
		r = checkpoint_once(w);
		if (r)
			return r;
	}
	/* What the steps dirtied is written now, so that the flush leaves
	 * nothing dirty: the retry then needs only the root, a second flush
	 * writes nothing, and on a journal image the next commits are
	 * replayed onto exactly the tree the writer has (J1: a replay of the
	 * same records needs no more blocks than the writer had; with the
	 * steps left dirty, a replay onto the tree without them could need
	 * more blocks than the device has free). */
	if (w->root && w->root->dirty)
		return checkpoint_once(w);
	return 0;
}

int wd_checkpoint(struct wodan *w)
{
	struct wd_journal *j = &w->j;
	/* an answer of NEEDS_FLUSH went to the caller (with auto flush,
	 * handle.c retries round by round itself) */
	int refused = j->want_checkpoint;
	int r = checkpoint_once(w);
	if (r || !refused)
		return r;
	r = make_room_for_retry(w);
	if (r)
		return r;
	j->want_checkpoint = 0;
	j->refused.set = 0;
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
	if (reserve_blocks(j, k))
		return WODAN_E_NOMEM;
	int r = wd_flush_prepare(w); /* done by the epoch's checkpoint */
	if (r)
		return r;
	uint64_t gen = w->next_gen++;
	uint64_t *L = j->blocks + j->nblocks, pos = j->last;
	uint32_t taken = 0;
	size_t off = 0;
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
		encode_record(w, gen, i, k, &off, j->blk);
		r = wd_write_block(w, b, j->blk);
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
	wd_sm_seek(&w->sm, pos + 1);
	w->gen = gen;
	clear_pending(j);
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
	uint32_t k = j->pack_blocks;
	/* checkpoint instead when the journal would grow past its limit, when
	 * dirty memory reached the soft ceiling, or when the blocks could
	 * leave a checkpoint without room (C4 in cache.h) */
	if (j->nblocks + k > j->limit_blocks ||
	    wd_cache_over_soft(w, j->len) ||
	    w->sm.free_count < w->c.dirty_nodes + k + 1)
		return wd_checkpoint(w);
	return journal_write(w, k);
}

/* ---------------------------------------------------------------- replay */

/* Check the items of a record (hostile bytes: every length bounded by the
 * block).  Returns their byte count, or 0 when malformed (an empty record
 * has n = 0 and is well-formed: returns 1 then, nothing to apply). */
static uint32_t check_items(const struct wodan *w, const uint8_t *blk)
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
	return used ? used : 1;
}

/* Read block b into blk: 1 a journal record of this epoch (CRC valid,
 * re-read once when not), 0 anything else, or a read error. */
static int read_record(struct wodan *w, uint64_t b, uint8_t *blk)
{
	int v = wd_read_block_raw(w, b, blk);
	if (v == 0) /* a CRC mismatch may be transient: once more */
		v = wd_read_block_raw(w, b, blk);
	if (v < 0)
		return v;
	return v == 1 && blk[0] == WD_TYPE_JOURNAL &&
	       !memcmp(blk + 9, w->g.fsid, 16) &&
	       wd_le64(blk + 25) == w->j.root_gen &&
	       wd_le64(blk + 1) < WD_GEN_LIMIT;
}

/* Insert the items of one record (checked by check_items) into the tree. */
static int apply_record(struct wodan *w, const uint8_t *blk)
{
	uint32_t ks = w->g.ks, n = wd_le32(blk + 41);
	const uint8_t *it = blk + WD_JOURNAL_HDR;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = wd_le16(it + ks);
		int r = wd_tree_insert(w, it, it + ks + 2, len);
		if (r == WD_E_HARD_CEILING) /* not with the ceilings lifted */
			r = WODAN_E_NEEDS_FLUSH;
		if (r == WODAN_E_NEEDS_FLUSH) {
			char why[256];
			snprintf(why, sizeof why, "%s",
				 wodan_last_error()->message);
			return wd_err(WODAN_E_NEEDS_FLUSH,
				      "journal replay needs more free blocks "
				      "than the device has (%s)", why);
		}
		if (r)
			return r;
		it += ks + 2 + len;
	}
	return 0;
}

static int push_block(struct wd_journal *j, uint64_t b)
{
	if (reserve_blocks(j, 1))
		return WODAN_E_NOMEM;
	j->blocks[j->nblocks++] = b;
	return 0;
}

/*
 * Replay in two passes, so that memory stays one block whatever a hostile
 * image claims.  Pass 1 walks the chain after the epoch's root (J1),
 * checking every record (J2, items well-formed) and marking accepted
 * blocks used as it goes (the writer's map had them used too); it notes
 * the blocks of complete commits.  A complete commit counts only once the
 * next block is known not to continue its generation (a record of the
 * same generation after it proves the chain altered: nothing from that
 * commit on counts).  Pass 2 re-reads the blocks of the complete commits
 * in order and applies their items.  Blocks of an incomplete or refused
 * tail are free again.
 */
static int replay(struct wodan *w, uint64_t *commits)
{
	struct wd_journal *j = &w->j;
	uint64_t pos = j->last, prev_gen = j->root_gen, gen_max = 0;
	uint64_t budget = w->sm.free_count; /* at most one lap */
	uint64_t cur_gen = 0;
	uint32_t cur_k = 0, cur_n = 0;   /* the commit being read */
	size_t good = 0;                 /* j->blocks[0, good): complete */
	uint64_t ncommits = 0;
	int r = 0, pending = 0;
	uint8_t *blk = aligned_alloc(4096, ((size_t)w->g.bs + 4095) / 4096 *
						   4096);
	if (!blk)
		return WODAN_E_NOMEM;
	while (budget--) {
		uint64_t b = wd_sm_next_free(&w->sm, pos);
		if (!b)
			break;
		int v = read_record(w, b, blk);
		if (v < 0) {
			r = v; /* an unreadable block may hold a commit */
			break;
		}
		if (v == 0)
			break;
		uint64_t gen = wd_le64(blk + 1);
		uint32_t idx = wd_le32(blk + 33), k = wd_le32(blk + 37);
		if (pending) {
			if (gen == cur_gen) {
				pending = 0; /* altered: refused */
				break;
			}
			good = j->nblocks;
			prev_gen = cur_gen;
			ncommits++;
			pending = 0;
			cur_n = 0;
		}
		int cont = cur_n && gen == cur_gen && idx == cur_n && k == cur_k;
		int start = !cur_n && idx == 0 && k >= 1 && k <= w->sm.free_count &&
			    gen > prev_gen;
		if ((!cont && !start) || !check_items(w, blk))
			break;
		if ((r = push_block(j, b)))
			break;
		wd_sm_set(&w->sm, b);
		cur_gen = gen;
		cur_k = k;
		cur_n++;
		pos = b;
		pending = cur_n == k;
	}
	if (pending && !r) {
		good = j->nblocks;
		prev_gen = cur_gen;
		ncommits++;
	}
	/* the tail that did not make a complete commit is garbage again */
	for (size_t i = good; i < j->nblocks; i++)
		wd_sm_clear(&w->sm, j->blocks[i]);
	j->nblocks = good;
	for (size_t i = 0; !r && i < good; i++) {
		int v = read_record(w, j->blocks[i], blk);
		if (v == 0)
			r = wd_err_block(WODAN_E_BAD_CRC, j->blocks[i],
					 "journal block %llu changed during "
					 "replay", (unsigned long long)
					 j->blocks[i]);
		else if (v < 0)
			r = v;
		else
			r = apply_record(w, blk);
		gen_max = wd_le64(blk + 1);
	}
	if (!r && good) {
		j->last = j->blocks[good - 1];
		w->gen = gen_max;
		if (gen_max >= w->next_gen)
			w->next_gen = gen_max + 1;
		*commits = ncommits;
	}
	free(blk);
	return r;
}

int wd_journal_open(struct wodan *w, uint64_t *commits)
{
	struct wd_journal *j = &w->j;
	*commits = 0;
	if (!(w->g.incompat & WD_FLAG_JOURNAL)) {
		j->scrub_pending = !(w->flags & WODAN_OPEN_READONLY);
		return 0;
	}
	j->on = 1;
	j->root_gen = w->gen;
	j->last = w->root_addr;
	j->blk = aligned_alloc(4096, ((size_t)w->g.bs + 4095) / 4096 * 4096);
	if (!j->blk)
		return WODAN_E_NOMEM;
	j->limit_blocks = w->c.dirty_soft / 2 / w->g.bs;
	if (j->limit_blocks < 8)
		j->limit_blocks = 8;
	/* replay with the dirty ceilings lifted: the run-time handle made
	 * the same changes to the same tree without a flush */
	wd_cache_lift_ceilings(w);
	int r = replay(w, commits);
	wd_cache_restore_ceilings(w);
	w->st.journal_replayed_commits = *commits;
	if (r || (w->flags & WODAN_OPEN_READONLY))
		return r;
	/* what an interrupted writer left torn after the chain must not be
	 * completed by a torn write of ours: cleared before our first write,
	 * the checkpoint below (flush.h) */
	j->scrub_pending = 1;
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
	wd_cache_reset_peak(w);
	return r;
}

void wd_journal_free(struct wodan *w)
{
	free(w->j.buf);
	free(w->j.blocks);
	free(w->j.blk);
	memset(&w->j, 0, sizeof w->j);
}
