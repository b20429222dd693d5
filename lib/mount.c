/* mount.c -- superblock, root search, validation walk (see mount.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "error.h"
#include "keys.h"
#include "journal.h"
#include "mount.h"
#include "nodecodec.h"

int wd_read_superblock(struct wodan_backend *be, unsigned flags,
		       struct wd_geom *g)
{
	if (!be || be->abi_version != WODAN_BACKEND_ABI_VERSION)
		return wd_err(WODAN_E_INVAL, "backend ABI version %u, expected %u",
			      be ? be->abi_version : 0, WODAN_BACKEND_ABI_VERSION);
	uint32_t io = be->io_size_bytes < 512 ? 512 : be->io_size_bytes;
	if (be->size_bytes < io)
		return wd_err_block(WODAN_E_BAD_MAGIC, 0,
				    "device of %llu bytes is too small to hold "
				    "a superblock",
				    (unsigned long long)be->size_bytes);
	uint8_t *buf = aligned_alloc(4096, (io + 4095) / 4096 * 4096);
	if (!buf)
		return WODAN_E_NOMEM;
	int r = be->read(be, 0, buf, io);
	if (r) {
		free(buf);
		return wd_err_block(WODAN_E_IO_READ, 0,
				    "superblock read failed: %s", strerror(-r));
	}
	r = wd_sb_decode(buf, (flags & WODAN_OPEN_RELAX_MAGIC_CRC) != 0,
			 be->size_bytes, be->io_size_bytes, g);
	free(buf);
	return r;
}

static uint64_t next_block(const struct wodan *w, uint64_t L)
{
	return L + 1 >= w->g.lsize ? 1 : L + 1;
}

/* Is block L a root candidate (type 1, our fsid, valid CRC)?  The header is
 * read first with one I/O-size read, so the many blocks that are children,
 * zeros or garbage cost io_size bytes, not a whole block (a 256 KiB image
 * reopened after a million inserts read 1,715 whole blocks for a 578-block
 * tree before this).  1 yes (*gen set), 0 no, negative on I/O error. */
/* A header that is one flipped bit away from a root's: type 1 with a
 * foreign fsid, or our fsid with a type byte that is neither 1 nor 2 (one
 * bit flip of 0x01 never gives 0x02, so children are not suspects). */
static int almost_root(const struct wodan *w, const uint8_t *blk)
{
	int fsid_ok = !memcmp(blk + 9, w->g.fsid, 16);
	/* (type 3, journal blocks, are ours and not roots either) */
	return (blk[0] == 1 && !fsid_ok) ||
	       (fsid_ok && blk[0] != 1 && blk[0] != 2 && blk[0] != 3);
}

static int root_candidate(struct wodan *w, uint64_t L, uint64_t *gen)
{
	uint32_t io = w->be->io_size_bytes > 512 ? w->be->io_size_bytes : 512;
	/* a transient read error must not hide the newest root, which would
	 * silently mount an older one (doc/SPEC.md §11.1): a header
	 * or a CRC that almost matches is read once more */
	if (io < w->g.bs) {
		for (int attempt = 0;; attempt++) {
			int r = w->be->read(w->be, L * w->g.bs, w->mount_blk, io);
			w->st.bytes_read += io;
			if (r)
				return wd_err_block(WODAN_E_IO_READ, L,
						    "read of block %llu failed: %s",
						    (unsigned long long)L,
						    strerror(-r));
			if (wd_node_peek_root(&w->g, w->mount_blk, gen))
				break;
			if (attempt || !almost_root(w, w->mount_blk))
				return 0;
		}
	}
	int r = wd_read_block_raw(w, L, w->mount_blk);
	if (r == 0 && (wd_node_peek_root(&w->g, w->mount_blk, gen) ||
		       almost_root(w, w->mount_blk)))
		r = wd_read_block_raw(w, L, w->mount_blk);
	if (r < 0)
		return r;
	return r == 1 && wd_node_peek_root(&w->g, w->mount_blk, gen);
}

/* First root candidate at or after s (circularly).  1 found, 0 none after a
 * full lap, negative on I/O error. */
static int scan(struct wodan *w, uint64_t s, uint64_t *L, uint64_t *gen)
{
	uint64_t x = s;
	do {
		int r = root_candidate(w, x, gen);
		if (r < 0)
			return r;
		if (r) {
			*L = x;
			return 1;
		}
		x = next_block(w, x);
	} while (x != s);
	return 0;
}

/* A block strictly between a and b going forward, or 0 (doc/SPEC.md §8.1). */
static uint64_t between(const struct wodan *w, uint64_t a, uint64_t b)
{
	uint64_t n = w->g.lsize;
	if (next_block(w, a) == b)
		return 0;
	uint64_t bb = a < b ? b : b + n;
	uint64_t m = ((a + bb) >> 1) % n;
	return m == 0 ? 1 : m;
}

int wd_find_root(struct wodan *w, uint64_t *Lout, uint64_t *gout)
{
	uint64_t e, g, s = w->g.fbw;
	int r = scan(w, s, &e, &g);
	if (r < 0)
		return r;
	if (r == 0)
		return wd_err(WODAN_E_NO_ROOT, "no root block found on the "
			      "device");
	/* each step raises g or shrinks (e, s): bounded by 2 * 64 probes on
	 * any 64-bit device; the guard only protects against bugs */
	for (int guard = 0; guard < 4096; guard++) {
		uint64_t m = between(w, e, s);
		if (m == 0)
			break;
		uint64_t e1, g1;
		r = scan(w, m, &e1, &g1);
		if (r < 0)
			return r;
		if (r == 1 && g1 > g) {
			e = e1;
			g = g1;
		} else {
			s = m;
		}
	}
	if (g == 0)
		return wd_err(WODAN_E_NO_ROOT, "found only preroots (generation "
			      "0): the image holds no root");
	*Lout = e;
	*gout = g;
	return 0;
}

int wd_list_roots(struct wodan *w, uint64_t *Ls, uint64_t *gens, int max)
{
	int n = 0;
	for (uint64_t L = 1; L < w->g.lsize; L++) {
		uint64_t gen;
		if (root_candidate(w, L, &gen) != 1 || gen == 0)
			continue; /* unreadable blocks are skipped here */
		/* insertion into the sorted (descending) top list */
		int i;
		if (n < max)
			i = n++;
		else if (gens[max - 1] >= gen)
			continue; /* older than every kept candidate */
		else
			i = max - 1;
		while (i > 0 && gens[i - 1] < gen) {
			gens[i] = gens[i - 1];
			Ls[i] = Ls[i - 1];
			i--;
		}
		gens[i] = gen;
		Ls[i] = L;
	}
	return n;
}

/* Collect (or return) a problem found at block L.  Returns r in fail-fast
 * mode, 1 (problem noted, skip the subtree) in collect mode. */
static int problem(struct wd_walk_report *wr, uint64_t L, int r)
{
	if (!wr || !wr->rep)
		return r;
	wr->note(wr->rep, L, r);
	return 1;
}

static void count_node(struct wd_walk_report *wr, const struct wodan *w,
		       const struct wd_node *n)
{
	if (!wr || !wr->rep)
		return;
	struct wodan_check_report *rep = wr->rep;
	rep->nodes++;
	if (n->rdepth < WODAN_CHECK_MAX_LEVELS)
		rep->nodes_per_level[n->rdepth]++;
	rep->logged_items += n->nitems;
	for (uint32_t b = 0; w->g.tombstones && b < wd_node_nbuckets(n); b++)
		for (uint32_t i = 0; i < n->bk[b].n; i++)
			if (n->bk[b].sl[i].it->len == 0)
				rep->tombstones_stored++;
	/* payload: header + log + links, for the fill factor */
	rep->fill_factor += (double)(wd_node_hdr(n) + n->log_bytes +
				     (uint64_t)n->nlinks * w->g.cl);
}

/* Walk the subtree at L.  When keep is non-NULL (the root), the decoded node
 * is handed to the caller instead of being freed (doc/ORIGINAL.md L14:
 * the root is read once at mount, not four times). */
static int walk(struct wodan *w, uint64_t L, const struct wd_expect *ex,
		int fast_scan, struct wd_walk_report *wr, int *problems,
		struct wd_node **keep)
{
	if (wd_sm_used(&w->sm, L)) {
		int r = wd_err_block(WODAN_E_CORRUPT, L,
				     "block %llu is referenced twice",
				     (unsigned long long)L);
		r = problem(wr, L, r);
		if (r == 1)
			(*problems)++;
		return r == 1 ? 0 : r;
	}
	wd_sm_set(&w->sm, L);
	if (wr && wr->progress && (++wr->done & 63) == 0 &&
	    wr->progress(wr->progress_arg, wr->done, 0))
		wr->aborted = 1;
	if (fast_scan && !ex->is_root && ex->rdepth == 0)
		return 0;
	int r = wd_read_block(w, L, w->mount_blk);
	struct wd_node *n = NULL;
	if (!r)
		r = wd_node_decode(&w->g, w->mount_blk, L, ex, &n);
	if (r) {
		if (r == WODAN_E_NOMEM || r == WODAN_E_IO_READ)
			return r;
		r = problem(wr, L, r);
		if (r == 1)
			(*problems)++;
		return r == 1 ? 0 : r;
	}
	count_node(wr, w, n);
	for (uint32_t i = 0; i < n->nlinks && !(wr && wr->aborted); i++) {
		struct wd_expect cx = {
			.is_root = 0,
			.rdepth = n->rdepth - 1,
			.lo = wd_link_lo(n, w->g.ks, i),
			.hi = wd_link_key(n, w->g.ks, i),
			.parent_gen = n->gen,
		};
		r = walk(w, n->laddr[i], &cx, fast_scan, wr, problems, NULL);
		if (r) {
			wd_node_free(n);
			return r;
		}
	}
	if (keep)
		*keep = n;
	else
		wd_node_free(n);
	return 0;
}

int wd_mount_root(struct wodan *w, uint64_t L, int fast_scan,
		  struct wd_walk_report *wr)
{
	struct wd_expect ex = { .is_root = 1, .parent_gen = UINT64_MAX };
	int problems = 0;
	/* fresh space map: the walk rebuilds it */
	wd_sm_destroy(&w->sm);
	if (wd_sm_init(&w->sm, w->g.lsize))
		return WODAN_E_NOMEM;
	struct wd_node *root = NULL;
	int r = walk(w, L, &ex, fast_scan, wr, &problems, &root);
	if (r || problems) {
		wd_node_free(root);
		return r ? r : 1;
	}
	wd_cache_free_all(w);
	wd_cache_set_root(w, root);
	w->root_addr = L;
	w->gen = root->gen;
	w->next_gen = root->gen + 1;
	if (root->gen >= WD_GEN_LIMIT && !(w->flags & WODAN_OPEN_READONLY))
		/* the next roots' generations would wrap to 0 (a preroot) and
		 * lose to this one: refuse to write (read-only still opens) */
		return wd_err_block(WODAN_E_CORRUPT, L,
				    "root generation %llu is too large to "
				    "continue; open read-only",
				    (unsigned long long)root->gen);
	wd_sm_seek(&w->sm, L + 1);
	return 0;
}
