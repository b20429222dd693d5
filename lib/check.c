/* check.c -- fsck: full validation walk with a report (wodan_check). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "error.h"
#include "iterate.h"
#include "journal.h"
#include "handle.h"
#include "lock.h"
#include "mount.h"

void wd_report_problem(struct wodan_check_report *rep, uint64_t L, int code)
{
	if (rep->n_problems >= 1000)
		return;
	const struct wodan_error_detail *d = wodan_last_error();
	struct wodan_check_problem *p = realloc(rep->problems,
		(rep->n_problems + 1) * sizeof *p);
	if (!p)
		return;
	rep->problems = p;
	p += rep->n_problems++;
	p->block = L;
	p->code = code;
	snprintf(p->what, sizeof p->what, "%s",
		 d->code == code && d->message[0] ? d->message
						   : wodan_strerror(code));
}

static int count_live(void *arg, const uint8_t *k, const uint8_t *v,
		      size_t len)
{
	(void)k;
	(void)v;
	(void)len;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Record older roots whose whole tree validates (newest first). */
static void find_intact_older(struct wodan *w, struct wodan_check_report *rep)
{
	uint64_t Ls[32], gens[32];
	int n = wd_list_roots(w, Ls, gens, 32);
	for (int i = 0; i < n && rep->n_intact_older < 8; i++) {
		if (rep->opened && gens[i] >= rep->generation)
			continue;
		if (wd_mount_root(w, Ls[i], 0, NULL) == 0)
			rep->intact_older_generations[rep->n_intact_older++] =
				gens[i];
	}
}

/* wodan_check with the device lock held (see the wrapper below). */
static int check_locked(struct wodan_backend *be, unsigned flags,
			struct wodan_check_report *rep,
			wodan_progress_fn progress, void *progress_arg)
{
	wd_err_clear();
	memset(rep, 0, sizeof *rep);
	struct wd_geom g = { 0 };
	unsigned oflags = WODAN_OPEN_READONLY |
			  (flags & WODAN_OPEN_RELAX_MAGIC_CRC);
	int r = wd_read_superblock(be, oflags, &g);
	if (r == WODAN_E_IO_READ || r == WODAN_E_NOMEM ||
	    (r == WODAN_E_INVAL && !g.bs))
		return r;
	if (r) {
		wd_report_problem(rep, 0, r);
		return 1;
	}
	rep->block_size_bytes = g.bs;
	rep->key_size_bytes = g.ks;
	rep->incompat_flags = g.incompat;
	rep->logical_size_blocks = g.lsize;
	rep->tombstones = g.tombstones;
	memcpy(rep->fsid, g.fsid, 16);
	struct wodan *w;
	r = wd_handle_new(be, oflags, &g, &w);
	if (r)
		return r;
	/* read-only: the dirty ceilings only matter to a replay, which
	 * lifts them */
	wd_cache_set_budgets(w, 64ull << 20, 0, 0);
	uint64_t L, gen;
	r = wd_find_root(w, &L, &gen);
	if (r == WODAN_E_IO_READ || r == WODAN_E_NOMEM)
		goto out;
	if (r) {
		wd_report_problem(rep, 0, r);
	} else {
		rep->generation = gen;
		rep->root_block = L;
		if (gen >= WD_GEN_LIMIT) {
			/* a writable open refuses this root (mount.c): the
			 * next generations would wrap to a preroot's 0 */
			wd_err_block(WODAN_E_CORRUPT, L, "root generation %llu "
				     "at block %llu is too large to continue "
				     "(limit %llu): a writable open refuses "
				     "it; open read-only",
				     (unsigned long long)gen,
				     (unsigned long long)L,
				     (unsigned long long)WD_GEN_LIMIT);
			wd_report_problem(rep, L, WODAN_E_CORRUPT);
		}
		struct wd_walk_report wr = { rep, wd_report_problem, progress,
					     progress_arg, 0, 0 };
		r = wd_mount_root(w, L, 0, &wr);
		if (r < 0 && r != WODAN_E_IO_READ && r != WODAN_E_NOMEM) {
			wd_report_problem(rep, L, r);
			r = 1;
		}
		if (r < 0)
			goto out;
		if (wr.aborted) {
			r = WODAN_E_ABORTED;
			goto out;
		}
		rep->opened = 1;
		/* wd_mount_root installs the root only for a clean tree */
		if (r == 0) {
			rep->depth = w->root->rdepth;
			/* a journal image: what a mount sees includes the
			 * committed journal records (replayed in memory) */
			uint64_t commits = 0;
			int jr = wd_journal_open(w, &commits);
			if (jr == WODAN_E_IO_READ || jr == WODAN_E_NOMEM) {
				r = jr;
				goto out;
			}
			if (jr)
				wd_report_problem(rep, L, jr);
			rep->journal_commits = commits;
			rep->journal_blocks = w->j.nblocks;
			rep->generation = w->gen;
			rep->used_blocks = g.lsize - w->sm.free_count;
			rep->free_blocks = w->sm.free_count;
			int ir = wd_iterate(w, NULL, NULL, count_live,
					    &rep->live_keys);
			if (ir < 0)
				wd_report_problem(rep, L, ir);
		} else {
			rep->used_blocks = g.lsize - w->sm.free_count;
			rep->free_blocks = w->sm.free_count;
		}
	}
	if (rep->nodes)
		rep->fill_factor /= (double)rep->nodes * g.bs;
	if (rep->n_problems || (flags & WODAN_OPEN_ROLLBACK))
		find_intact_older(w, rep);
	r = rep->n_problems ? 1 : 0;
out:
	wd_handle_free(w);
	return r;
}

/* A check is a reader: SHARED beside a writer, refused while the device is
 * held alone (mkfs, a rollback open). */
int wodan_check(struct wodan_backend *be, unsigned flags,
		struct wodan_check_report *rep, wodan_progress_fn progress,
		void *progress_arg)
{
	wd_err_clear();
	int r = wd_lock_acquire(be, WODAN_LOCK_SHARED, NULL);
	if (r) {
		memset(rep, 0, sizeof *rep);
		return r;
	}
	r = check_locked(be, flags, rep, progress, progress_arg);
	wd_lock_release(be, WODAN_LOCK_SHARED);
	return r;
}

void wodan_check_report_free(struct wodan_check_report *rep)
{
	if (!rep)
		return;
	free(rep->problems);
	rep->problems = NULL;
	rep->n_problems = 0;
}
