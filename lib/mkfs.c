/* mkfs.c -- format a device (doc/SPEC.md §7). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "blockio.h"
#include "error.h"
#include "lock.h"
#include "handle.h"
#include "nodecodec.h"

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0)
			return wd_err(WODAN_E_INVAL, "getrandom failed");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The discard step (params.discard, like mke2fs): blocks 1 .. lsize-1 in one
 * call, before anything is written, so the device learns that the old
 * contents are unused (and, where discard zeroes, none survive).  Block 0
 * (rewritten next) and any space past the logical size (not ours) are left
 * alone.  A backend without discard, or one answering EOPNOTSUPP, is not an
 * error; any other failure is WODAN_E_IO_DISCARD. */
static int mkfs_discard(struct wodan *w)
{
	struct wodan_backend *be = w->be;
	if (!be->discard || w->g.lsize < 2)
		return 0;
	uint64_t n = w->g.lsize - 1;
	int e = be->discard(be, w->g.bs, n * w->g.bs);
	if (e == -EOPNOTSUPP)
		return 0;
	if (e)
		return wd_err_block(WODAN_E_IO_DISCARD, 1,
				    "discard of blocks 1..%llu failed: %s",
				    (unsigned long long)n, strerror(-e));
	w->st.blocks_discarded += n;
	return 0;
}

/* The format proper, with the device held alone. */
static int mkfs_locked(struct wodan_backend *be,
		       const struct wodan_mkfs_params *p,
		       uint64_t *generation_out)
{
	struct wodan_mkfs_params d = { 0 };
	if (p)
		d = *p;
	struct wd_geom g = { 0 };
	g.bs = d.block_size_bytes ? d.block_size_bytes : WODAN_DEFAULT_BLOCK_SIZE;
	g.ks = d.key_size_bytes ? d.key_size_bytes : WODAN_DEFAULT_KEY_SIZE;
	int r = wd_geom_check(g.bs, g.ks, be->io_size_bytes);
	if (r)
		return r;
	g.incompat = WD_FLAGS_REQUIRED | (d.tombstones ? WD_FLAG_TOMBSTONES : 0) |
		     (d.journal ? WD_FLAG_JOURNAL : 0);
	wd_geom_derive(&g);
	if (g.cmax < 3)
		return wd_err(WODAN_E_INVAL,
			      "block size %u is too small for key size %u: "
			      "inner nodes would hold %u child links (need 3)",
			      g.bs, g.ks, g.cmax);
	uint64_t dev_blocks = be->size_bytes / g.bs;
	g.lsize = d.logical_size_blocks ? d.logical_size_blocks : dev_blocks;
	if (g.lsize < 2 || g.lsize > dev_blocks)
		return wd_err(WODAN_E_INVAL,
			      "logical size %llu blocks: the device holds %llu "
			      "blocks of %u bytes (need at least 2)",
			      (unsigned long long)g.lsize,
			      (unsigned long long)dev_blocks, g.bs);
	uint64_t rnd;
	if ((r = fill_random(g.fsid, 16)) || (r = fill_random(&rnd, 8)))
		return r;
	g.fbw = 1 + rnd % (g.lsize - 1);

	struct wodan *w;
	r = wd_handle_new(be, d.magic_crc_write ? WODAN_OPEN_MAGIC_CRC_WRITE : 0,
			  &g, &w);
	if (r)
		return r;
	/* 0. optionally discard blocks 1..lsize-1, before any write */
	if (d.discard && (r = mkfs_discard(w))) {
		wd_handle_free(w);
		return r;
	}
	/* this call's own scratch block */
	uint8_t *blk = aligned_alloc(4096, ((size_t)g.bs + 4095) / 4096 * 4096);
	if (!blk) {
		wd_handle_free(w);
		return WODAN_E_NOMEM;
	}
	/* 1. the empty root, generation 1, at fbw */
	struct wd_node root = { 0 };
	root.is_root = 1;
	wd_node_encode(&g, &root, 1, d.magic_crc_write, blk);
	r = wd_write_block(w, g.fbw, blk);
	if (!r)
		r = wd_barrier(w);
	/* 2. the superblock, as one I/O of the device's I/O size */
	if (!r) {
		uint32_t io = be->io_size_bytes < 512 ? 512 : be->io_size_bytes;
		memset(blk, 0, io);
		wd_sb_encode(&g, blk);
		int e = be->write(be, 0, blk, io);
		if (e)
			r = wd_err_block(WODAN_E_IO_WRITE, 0,
					 "superblock write failed: %s",
					 strerror(-e));
	}
	/* 3. preroots every interval blocks after fbw, never at or past
	 * lsize (fixes doc/ORIGINAL.md L12) and never over fbw */
	uint64_t iv = d.preroots_interval_blocks ? d.preroots_interval_blocks
						 : WODAN_DEFAULT_PREROOTS_INTERVAL;
	if (!r && iv != UINT32_MAX && iv < g.lsize - 1) {
		wd_node_encode(&g, &root, 0, d.magic_crc_write, blk);
		uint64_t loc = g.fbw;
		int wrapped = 0;
		for (;;) {
			loc += iv;
			if (loc >= g.lsize) {
				loc = loc - g.lsize + 1;
				wrapped = 1;
			}
			if (wrapped && loc >= g.fbw)
				break;
			r = wd_write_block(w, loc, blk);
			if (r)
				break;
		}
	}
	if (!r)
		r = wd_barrier(w);
	free(blk);
	wd_handle_free(w);
	if (!r && generation_out)
		*generation_out = 1;
	return r;
}

int wodan_mkfs(struct wodan_backend *be, const struct wodan_mkfs_params *p,
	       uint64_t *generation_out)
{
	wd_err_clear();
	if (!be || be->abi_version != WODAN_BACKEND_ABI_VERSION)
		return wd_err(WODAN_E_INVAL, "bad backend");
	int r = wd_lock_acquire(be, WODAN_LOCK_EXCLUSIVE, "mkfs");
	if (r)
		return r;
	r = mkfs_locked(be, p, generation_out);
	if (r)
		wd_lock_release(be, WODAN_LOCK_EXCLUSIVE);
	else /* held as this process's writer until adopted or closed */
		wd_lock_mkfs_hold(be);
	return r;
}
