/* handle.c -- the public API of a mounted filesystem (wodan.h). */
#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "error.h"
#include "flush.h"
#include "journal.h"
#include "lock.h"
#include "iterate.h"
#include "mount.h"
#include "tree.h"
#include "blockio.h"

#define DEFAULT_CACHE (256ull << 20)
#define DEFAULT_DIRTY (128ull << 20)

static uint8_t *alloc_block(uint32_t bs)
{
	return aligned_alloc(4096, ((size_t)bs + 4095) / 4096 * 4096);
}

int wd_handle_new(struct wodan_backend *be, unsigned flags,
		  const struct wd_geom *g, struct wodan **out)
{
	struct wodan *w = calloc(1, sizeof *w);
	if (!w)
		return WODAN_E_NOMEM;
	w->be = be;
	w->flags = flags;
	w->g = *g;
	w->max_fanout = g->cmax;
	w->mount_blk = alloc_block(g->bs);
	w->flush_blk = alloc_block(g->bs);
	if (!w->mount_blk || !w->flush_blk || wd_cache_init(w) ||
	    wd_sm_init(&w->sm, g->lsize)) {
		wd_handle_free(w);
		return WODAN_E_NOMEM;
	}
	*out = w;
	return 0;
}

void wd_handle_free(struct wodan *w)
{
	if (!w)
		return;
	wd_cache_destroy(w);
	wd_journal_free(w);
	wd_sm_destroy(&w->sm);
	free(w->mount_blk);
	free(w->flush_blk);
	free(w);
}

/*
 * After a rollback to root candidate `chosen`, the damaged newer roots are
 * still root candidates with higher generations; left alone they would win
 * the next root search (and break its monotone run).  Generations continue
 * above every generation seen, and on a writable handle the newer candidate
 * blocks (free in the rebuilt map) are overwritten with zeros, then a
 * barrier: the next mount finds the rolled-back tree (doc/SPEC.md §8.3: roll
 * back).
 */
static int forget_newer_roots(struct wodan *w, const uint64_t *Ls,
			      const uint64_t *gens, int n, int chosen,
			      uint64_t newest)
{
	uint64_t top = newest;
	for (int i = 0; i < n; i++)
		if (gens[i] > top)
			top = gens[i];
	if (top >= w->next_gen)
		w->next_gen = top + 1;
	if (w->flags & WODAN_OPEN_READONLY)
		return 0;
	uint64_t keep = chosen >= 0 ? gens[chosen] : 0;
	uint8_t *zero = alloc_block(w->g.bs); /* this call's own */
	if (!zero)
		return WODAN_E_NOMEM;
	memset(zero, 0, w->g.bs);
	int wrote = 0;
	for (int i = 0; i < n; i++) {
		if (gens[i] <= keep || wd_sm_used(&w->sm, Ls[i]))
			continue;
		int r = wd_write_block(w, Ls[i], zero);
		if (r) {
			free(zero);
			return r;
		}
		wrote = 1;
	}
	free(zero);
	/* wd_list_roots keeps the newest candidates, so the damaged root
	 * the search found is among them */
	return wrote ? wd_barrier(w) : 0;
}

/* How many times a read-only open mounts again when its writer changed the
 * image under its validation walk before giving up with WODAN_E_CHANGED. */
#define CHANGED_TRIES 5

/* Errors a read-only handle meets when the writer beside it reused a block
 * of the tree it mounted: the block then holds another node (a generation
 * not below its parent's, other keys: CORRUPT), a journal block (type 3:
 * BAD_NODE_TYPE), zeros or a torn write (BAD_CRC). */
static int change_symptom(int r)
{
	return r == WODAN_E_BAD_CRC || r == WODAN_E_CORRUPT ||
	       r == WODAN_E_BAD_NODE_TYPE || r == WODAN_E_FSID;
}

/*
 * After error r on read-only handle w, which mounted generation `gen`: when
 * r is a change symptom and the root search now finds a newer root, the
 * writer changed the image (r is no damage): WODAN_E_CHANGED.  Otherwise r
 * with its detail as it was.
 */
static int changed_or(struct wodan *w, uint64_t gen, int r)
{
	if (!(w->flags & WODAN_OPEN_READONLY) || !change_symptom(r))
		return r;
	struct wodan_error_detail keep = *wodan_last_error();
	uint64_t L, g;
	if (wd_find_root(w, &L, &g) == 0 && g > gen)
		return wd_err(WODAN_E_CHANGED, "image changed by its writer "
			      "(generation %llu -> %llu): retry",
			      (unsigned long long)gen, (unsigned long long)g);
	wd_err_block(keep.code, keep.block, "%s", keep.message);
	return r;
}

/* The open proper, with the device lock held: superblock, root search,
 * validation walk (and rollback), journal.  *mounted_gen is the generation
 * of the root it tried to mount (0 when none was found). */
static int open_once(struct wodan_backend *be, const struct wodan_open_opts *op,
		     wodan_t **out, uint64_t *mounted_gen)
{
	struct wodan_open_opts o = *op;
	*mounted_gen = 0;
	struct wd_geom g;
	int r = wd_read_superblock(be, o.flags, &g);
	if (r)
		return r;
	if ((o.expect_block_size_bytes && o.expect_block_size_bytes != g.bs) ||
	    (o.expect_key_size_bytes && o.expect_key_size_bytes != g.ks))
		return wd_err(WODAN_E_BAD_PARAMS,
			      "image has block size %u and key size %u, "
			      "expected %u and %u", g.bs, g.ks,
			      o.expect_block_size_bytes, o.expect_key_size_bytes);
	struct wodan *w;
	r = wd_handle_new(be, o.flags, &g, &w);
	if (r)
		return r;
	uint64_t soft = o.dirty_bytes ? o.dirty_bytes : DEFAULT_DIRTY;
	/* the cache raises the hard ceiling to its floor (cache.h C6) */
	wd_cache_set_budgets(w, o.cache_bytes ? o.cache_bytes : DEFAULT_CACHE,
			     soft, o.dirty_hard_bytes ? o.dirty_hard_bytes
						      : 2 * soft);
	uint32_t fan = o.max_fanout ? o.max_fanout : WODAN_DEFAULT_FANOUT;
	if (fan < w->max_fanout)
		w->max_fanout = fan < 2 ? 2 : fan;
	uint64_t L = 0, gen = 0;
	r = wd_find_root(w, &L, &gen);
	*mounted_gen = gen;
	if (!r)
		r = wd_mount_root(w, L, (o.flags & WODAN_OPEN_FAST_SCAN) != 0,
				  NULL);
	/* a read-only open beside a writer: a damaged-looking newest root is
	 * first checked for a newer one (no rollback past a live change) */
	if (r && gen && (o.flags & WODAN_OPEN_READONLY) &&
	    change_symptom(r) && changed_or(w, gen, r) == WODAN_E_CHANGED) {
		wd_handle_free(w);
		return WODAN_E_CHANGED;
	}
	if (r && r != WODAN_E_IO_READ && r != WODAN_E_NOMEM &&
	    (o.flags & WODAN_OPEN_ROLLBACK)) {
		/* newest root damaged: try older roots, newest first */
		uint64_t Ls[16], gens[16];
		int n = wd_list_roots(w, Ls, gens, 16);
		int chosen = -1;
		for (int i = 0; i < n && r; i++) {
			if (gen && gens[i] >= gen)
				continue;
			r = wd_mount_root(w, Ls[i],
					  (o.flags & WODAN_OPEN_FAST_SCAN) != 0,
					  NULL);
			if (r == 0)
				chosen = i;
			/* an unreadable candidate may be intact: never pass
			 * over it (forget_newer_roots would then erase it) */
			if (r == WODAN_E_IO_READ || r == WODAN_E_NOMEM)
				break;
		}
		if (r == 0)
			r = forget_newer_roots(w, Ls, gens, n, chosen, gen);
	}
	if (!r) {
		uint64_t commits;
		r = wd_journal_open(w, &commits);
		if (r && gen)
			r = changed_or(w, gen, r);
	}
	if (r) {
		wd_handle_free(w);
		return r;
	}
	*out = w;
	return 0;
}

/* The lock mode of an open with these flags (wodan.h, wodan_open). */
static unsigned open_lock_mode(unsigned flags)
{
	if (flags & WODAN_OPEN_READONLY)
		return WODAN_LOCK_SHARED;
	return (flags & WODAN_OPEN_ROLLBACK) ? WODAN_LOCK_EXCLUSIVE
					     : WODAN_LOCK_WRITER;
}

int wodan_open(struct wodan_backend *be, const struct wodan_open_opts *opts,
	       wodan_t **out)
{
	struct wodan_open_opts o = { 0 };
	if (opts)
		o = *opts;
	wd_err_clear();
	if (!out)
		return wd_err(WODAN_E_INVAL, "no output handle");
	*out = NULL;
	unsigned mode = open_lock_mode(o.flags);
	int r = wd_lock_acquire(be, mode, "a writable rollback open");
	if (r)
		return r;
	uint64_t gen = 0;
	for (int tries = 1;; tries++) {
		r = open_once(be, &o, out, &gen);
		if (r != WODAN_E_CHANGED || tries >= CHANGED_TRIES)
			break;
		wd_err_clear();
	}
	if (r) {
		wd_lock_release(be, mode);
		return r;
	}
	if (mode == WODAN_LOCK_EXCLUSIVE) /* the rollback is done */
		wd_lock_downgrade(be, WODAN_LOCK_EXCLUSIVE, WODAN_LOCK_WRITER);
	return 0;
}

void wodan_abandon(wodan_t *w)
{
	if (!w)
		return;
	struct wodan_backend *be = w->be;
	unsigned mode = (w->flags & WODAN_OPEN_READONLY) ? WODAN_LOCK_SHARED
							 : WODAN_LOCK_WRITER;
	wd_handle_free(w);
	wd_lock_release(be, mode);
}

int wodan_close(wodan_t *w)
{
	if (!w)
		return 0;
	wd_err_clear();
	int r = 0;
	if (!(w->flags & WODAN_OPEN_READONLY))
		r = wd_checkpoint(w);
	wodan_abandon(w);
	return r;
}

static int check_key(const struct wodan *w, const void *key, size_t key_len)
{
	if (!key || key_len != w->g.ks)
		return wd_err(WODAN_E_BAD_KEY, "key is %zu bytes, key size is %u",
			      key ? key_len : 0, w->g.ks);
	return 0;
}

/* End of every public operation: evict clean nodes over budget. */
static int done(struct wodan *w, int r)
{
	wd_cache_trim(w);
	return r;
}

static int do_insert(wodan_t *w, const void *key, const void *val,
		     size_t val_len)
{
	if (w->flags & WODAN_OPEN_READONLY)
		return wd_err(WODAN_E_READONLY, "handle is read-only");
	if (wd_cache_over_soft(w, w->j.len)) {
		if (w->flags & WODAN_OPEN_NO_AUTOFLUSH) {
			w->j.want_checkpoint = 1;
			return wd_err(WODAN_E_NEEDS_FLUSH,
				      "dirty memory budget (%llu bytes) full",
				      (unsigned long long)w->c.dirty_soft);
		}
		int r = wd_checkpoint(w);
		if (r)
			return r;
		w->st.auto_flushes++;
	}
	int r = wd_tree_insert(w, key, val, (uint32_t)val_len);
	for (int round = 0; r == WD_E_HARD_CEILING &&
			    !(w->flags & WODAN_OPEN_NO_AUTOFLUSH) && round < 1000;
	     round++) {
		/* stopped at the hard ceiling (cache.h C6): nothing the user
		 * sees changed, and the spills and splits done so far stay
		 * done, so each round gets further (one insert can cascade
		 * through more nodes than the ceiling admits at once) */
		wd_err_clear();
		r = wd_checkpoint(w);
		if (r)
			return done(w, r);
		w->st.auto_flushes++;
		r = wd_tree_insert(w, key, val, (uint32_t)val_len);
	}
	if (r == WD_E_HARD_CEILING) /* never leaves the library */
		r = WODAN_E_NEEDS_FLUSH;
	if (r == WODAN_E_NEEDS_FLUSH)
		w->j.want_checkpoint = 1; /* the caller's flush must make room */
	else if (r == 0 && w->j.on)
		/* on failure the next commit is a checkpoint (journal.c) */
		(void)wd_journal_append(w, key, val, (uint32_t)val_len);
	return done(w, r);
}

int wodan_insert(wodan_t *w, const void *key, size_t key_len,
		 const void *val, size_t val_len)
{
	wd_err_clear();
	int r = check_key(w, key, key_len);
	if (r)
		return r;
	if (val_len > w->g.max_value)
		return wd_err(WODAN_E_VALUE_TOO_LARGE,
			      "value of %zu bytes exceeds the maximum %u",
			      val_len, w->g.max_value);
	if (val_len && !val)
		return wd_err(WODAN_E_INVAL, "NULL value");
	w->st.inserts++;
	return do_insert(w, key, val ? val : "", val_len);
}

int wodan_delete(wodan_t *w, const void *key, size_t key_len)
{
	wd_err_clear();
	int r = check_key(w, key, key_len);
	if (r)
		return r;
	if (!w->g.tombstones)
		return wd_err(WODAN_E_NOT_SUPPORTED,
			      "image was made without tombstones (incompat "
			      "flag 0x8): deletion is not possible");
	w->st.deletes++;
	return do_insert(w, key, "", 0);
}

int wodan_lookup(wodan_t *w, const void *key, size_t key_len, void *buf,
		 size_t buf_len, size_t *val_len)
{
	wd_err_clear();
	int r = check_key(w, key, key_len);
	if (r)
		return r;
	w->st.lookups++;
	const uint8_t *v;
	uint32_t len;
	r = wd_tree_lookup(w, key, &v, &len);
	if (r < 0)
		r = changed_or(w, w->gen, r);
	if (r == 1) {
		if (buf && buf_len)
			memcpy(buf, v, len < buf_len ? len : buf_len);
		if (val_len)
			*val_len = len;
	}
	return done(w, r);
}

int wodan_flush(wodan_t *w, uint64_t *generation)
{
	wd_err_clear();
	if (w->flags & WODAN_OPEN_READONLY)
		return wd_err(WODAN_E_READONLY, "handle is read-only");
	int r = wd_commit(w);
	if (!r && generation)
		*generation = w->gen;
	return done(w, r);
}

int wodan_checkpoint(wodan_t *w, uint64_t *generation)
{
	wd_err_clear();
	if (w->flags & WODAN_OPEN_READONLY)
		return wd_err(WODAN_E_READONLY, "handle is read-only");
	int r = wd_checkpoint(w);
	if (!r && generation)
		*generation = w->gen;
	return done(w, r);
}

int wodan_iterate(wodan_t *w, const void *start, const void *end,
		  wodan_iter_fn fn, void *arg)
{
	wd_err_clear();
	if (!fn)
		return wd_err(WODAN_E_INVAL, "no callback");
	w->st.iterations++;
	int r = wd_iterate(w, start, end, fn, arg);
	if (r < 0)
		r = changed_or(w, w->gen, r);
	return done(w, r);
}

int wodan_get_info(wodan_t *w, struct wodan_info *info)
{
	memset(info, 0, sizeof *info);
	info->block_size_bytes = w->g.bs;
	info->key_size_bytes = w->g.ks;
	info->max_value_bytes = w->g.max_value;
	info->logical_size_blocks = w->g.lsize;
	info->first_block_written = w->g.fbw;
	info->incompat_flags = w->g.incompat;
	info->tombstones = w->g.tombstones;
	memcpy(info->fsid, w->g.fsid, 16);
	info->generation = w->gen;
	info->root_block = w->root_addr;
	info->depth = w->root->rdepth;
	info->free_blocks = w->sm.free_count;
	info->used_blocks = w->g.lsize - w->sm.free_count;
	info->max_fanout = w->max_fanout;
	return 0;
}

int wodan_get_stats(wodan_t *w, struct wodan_stats *st)
{
	*st = w->st;
	st->cache_bytes = w->c.clean_bytes;
	st->dirty_bytes = w->c.dirty_bytes;
	st->dirty_nodes = w->c.dirty_nodes;
	st->dirty_soft_bytes = w->c.dirty_soft;
	st->dirty_hard_bytes = w->c.dirty_hard;
	return 0;
}
