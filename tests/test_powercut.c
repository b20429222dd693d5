/*
 * test_powercut.c -- power-cut simulation (doc/SPEC.md §11.2).
 *
 * A recording RAM device (tests/support/memdev.h) logs every write (offset
 * and a copy of the bytes) and discard with the barriers before it.  We
 * format a small image (bs 4096, ks 8, 64..512 blocks, so the circular log
 * wraps), run a workload of many flushes (inserts incl. large values, leaf
 * and root splits to depth >= 2, spills, deletes) and keep the model state
 * (key -> value) after every flush.  Then, for every cut point P of the
 * recorded write sequence (or a sample when there are too many), we rebuild
 * the device as it would look after a power cut:
 *
 *   prefix  the mkfs image plus the first P writes;
 *   torn    the same plus only the first 512 bytes / first half of write P;
 *   subset  the durable writes (those before the last barrier issued before
 *           the cut) plus a random subset of the unbarriered ones before the
 *           cut (a volatile device cache that lost some of its writes);
 *
 * mount it on a RAM copy, and assert:
 *   - it mounts;
 *   - its whole contents (wodan_iterate) equal EXACTLY the model of the last
 *     flush whose final barrier precedes the cut, or of the flush in flight
 *     (never anything else); stricter: the in-flight flush's root is on the
 *     device intact iff its state is the one found (a fully written newest
 *     root must be found, a torn or missing one must not), and the mounted
 *     generation is that flush's;
 *   - wodan_check returns 0, used + free == logical size, live keys match;
 *   - one more insert + flush + close + reopen works and the image then holds
 *     the expected state plus that key (catches stale newer roots).
 *
 * Failures are collected (the first ones printed in detail with seed, cut
 * point and variant) and the test fails at the end.
 *
 * Environment: WODAN_SEED replays; WODAN_POWERCUT_MAX_CUTS bounds the number
 * of cut points tried per run (default 2500; all when the run has fewer);
 * WODAN_POWERCUT_RUNS sets the number of runs (default 4, each with its own
 * geometry drawn from the seed: roomy and nearly full, each without and
 * with the redo journal, incompat 0x10).  On a journal image most flushes
 * are journal commits: the state is found iff every record of the commit
 * in flight landed whole, and the first mount is read-only (a writable one
 * begins a new epoch with a root of its own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/types.h>
#include <cmocka.h>
#include "testutil.h"
#include "oracle.h"
#include "memdev.h"
#include "kvmodel.h"
#include "cutcheck.h"
#include "fixed_random.h"

#define BS 4096u
#define KS 8u

static uint64_t seed;

/* deterministic mkfs (fsid, first block): fixed_random.h */

/* The recording device is tests/support/memdev.h's: writes and discards
 * (a discard reads back as zeros) in issue order, each with its epoch (the
 * barriers issued before it); barriers are not in the log. */

/* ------------------------------------------------------------------ model */

struct run {
	uint64_t rng;
	struct kvpool p;       /* keys (first all-zero, last all-0xFF) */
	struct ent *cur;
	uint32_t next_ver;
	uint64_t lsize;
	uint32_t fanout;
	/* flushes: index 0 is the mkfs state */
	struct flushrec {
		size_t w_end;      /* writes recorded after this flush */
		uint32_t bar_end;  /* barriers recorded after this flush */
		uint64_t gen, root;
		uint32_t depth;
		size_t crit;       /* first write that must land for this
				    * flush to be found: the root, or the
				    * first record of a journal commit */
		struct ent *snap;
	} *fl;
	size_t nfl, flcap;
	uint32_t max_depth;
	uint32_t wraps;
	int tight;
	int journal;           /* image made with the redo journal (0x10) */
	uint64_t ops, inserts, deletes, oos, needs_flush;
	uint8_t *base;         /* image after mkfs */
};

static void keys_init(struct run *R, uint32_t want)
{
	kv_pool_random(&R->p, KS, want, &R->rng, 1, seed);
	R->cur = snap_new(&R->p);
}

/* --------------------------------------------------------------- workload */

/* Record the flush that just wrote d's newest writes (gen: its generation;
 * journal: it was a journal commit, whose writes are all records). */
static void note_flush(struct run *R, wodan_t *w, struct memdev *d,
		       uint64_t gen, int journal)
{
	struct wodan_info info;
	wodan_get_info(w, &info);
	assert_true(info.generation == gen);
	/* the root (or the commit's last record) is the last write, preceded
	 * by (optionally) a barrier and followed by one */
	struct md_op *last = &d->log[d->nlog - 1];
	if (!journal)
		assert_true(last->kind == MD_WRITE &&
			    last->off == info.root_block * BS);
	assert_true(d->nbar == last->epoch + 1);
	if (R->nfl == R->flcap) {
		R->flcap = R->flcap ? R->flcap * 2 : 64;
		R->fl = realloc(R->fl, R->flcap * sizeof *R->fl);
	}
	struct flushrec *f = &R->fl[R->nfl++];
	f->crit = journal ? R->fl[R->nfl - 2].w_end : d->nlog - 1;
	f->w_end = d->nlog;
	f->bar_end = d->nbar;
	f->gen = gen;
	f->root = info.root_block;
	f->depth = info.depth;
	f->snap = snap_dup(&R->p, R->cur);
	if (info.depth > R->max_depth)
		R->max_depth = info.depth;
	if (R->nfl >= 2 && f->root < R->fl[R->nfl - 2].root)
		R->wraps++;
}

/*
 * One wodan_flush can complete several flushes: a flush that follows a
 * NEEDS_FLUSH answer writes the tree, then the spills and splits the
 * refused insert needs, then the tree again.  Each root makes the call's
 * state durable, so each earlier one is recorded as a flush of its own
 * (same contents): the one-block writes of the call, before its last
 * write, that hold a root (type 1, whole CRC) with a generation between
 * the previous flush's and the call's.
 */
static void note_earlier_roots(struct run *R, struct memdev *d,
			       size_t w_begin, uint64_t gen)
{
	uint64_t last = R->fl[R->nfl - 1].gen;
	for (size_t i = w_begin; i + 1 < d->nlog; i++) {
		const struct md_op *x = &d->log[i];
		if (x->kind != MD_WRITE || x->len != BS || x->data[0] != 1 ||
		    !oracle_crc_ok(x->data, BS))
			continue;
		uint64_t g = oracle_le64(x->data + 1);
		if (g <= last || g >= gen)
			continue;
		last = g;
		if (R->nfl == R->flcap) {
			R->flcap = R->flcap ? R->flcap * 2 : 64;
			R->fl = realloc(R->fl, R->flcap * sizeof *R->fl);
		}
		struct flushrec *f = &R->fl[R->nfl++];
		f->crit = i;
		f->w_end = i + 1;
		f->bar_end = x->epoch + 1;  /* the barrier after the root */
		f->gen = g;
		f->root = x->off / BS;
		f->depth = R->fl[R->nfl - 2].depth;
		f->snap = snap_dup(&R->p, R->cur);
		if (R->nfl >= 2 && f->root < R->fl[R->nfl - 2].root)
			R->wraps++;
	}
}

static void do_flush(struct run *R, wodan_t *w, struct memdev *d)
{
	uint64_t gen;
	struct wodan_stats s0, s1;
	wodan_get_stats(w, &s0);
	int r = wodan_flush(w, &gen);
	if (r)
		fail_msg("flush: %s: %s (seed %llu)", wodan_strerror(r),
			 wodan_last_error()->message, (unsigned long long)seed);
	if (R->nfl && d->nlog == R->fl[R->nfl - 1].w_end) {
		/* nothing was dirty: no new generation */
		assert_true(gen == R->fl[R->nfl - 1].gen);
		return;
	}
	wodan_get_stats(w, &s1);
	if (s1.flushes - s0.flushes > 1 && R->nfl)
		note_earlier_roots(R, d, R->fl[R->nfl - 1].w_end, gen);
	note_flush(R, w, d, gen, s1.journal_commits != s0.journal_commits);
}

static uint32_t pick_len(struct run *R, uint32_t maxv)
{
	uint64_t shape = tu_below(&R->rng, 100);
	uint32_t len;
	if (shape < 3)
		len = 1000 + (uint32_t)tu_below(&R->rng, 2000);
	else if (shape < 15)
		len = 200 + (uint32_t)tu_below(&R->rng, 500);
	else
		len = 1 + (uint32_t)tu_below(&R->rng, 120);
	return len > maxv ? maxv : len;
}

static void workload(struct run *R, struct memdev *d, uint32_t min_flushes,
		     uint32_t max_flushes)
{
	struct wodan_open_opts o = { .cache_bytes = BS * 8,
				     .max_fanout = R->fanout };
	if (R->journal) {
		/* a small soft ceiling (and journal limit: half of it) makes
		 * checkpoints come often; without auto flush every flush is
		 * one the model records */
		o.flags = WODAN_OPEN_NO_AUTOFLUSH;
		o.dirty_bytes = BS * (16 + tu_below(&R->rng, 48));
	}
	wodan_t *w = NULL;
	d->recording = 1;
	int r = wodan_open(&d->be, &o, &w);
	if (r)
		fail_msg("open: %s (seed %llu)", wodan_strerror(r),
			 (unsigned long long)seed);
	struct wodan_info info;
	wodan_get_info(w, &info);
	if (d->nlog) /* a journal image: the open began an epoch (a root) */
		note_flush(R, w, d, info.generation, 0);
	uint32_t maxv = info.max_value_bytes;
	/* live data budget: a fraction of the device */
	uint64_t budget = R->tight ? R->lsize * BS / 2 : R->lsize * BS / 7;
	uint8_t *val = malloc(65536);
	/* go on until the allocator went round the device at least once
	 * (more blocks written than the device has, and a root placed
	 * before its predecessor) and the tree reached depth 2 */
	while (R->nfl - 1 < max_flushes &&
	       (R->nfl - 1 < min_flushes || R->wraps < 1 ||
		d->nlog < R->lsize + R->lsize / 4 || R->max_depth < 2 ||
		(R->tight && R->oos + R->needs_flush < 4))) {
		uint32_t nops = tu_below(&R->rng, 4) == 0
					? 1 + (uint32_t)tu_below(&R->rng, 3)
					: 5 + (uint32_t)tu_below(&R->rng, 60);
		for (uint32_t op = 0; op < nops; op++) {
			uint32_t ki = (uint32_t)tu_below(&R->rng, R->p.n);
			uint64_t live_bytes = 0;
			for (uint32_t i = 0; i < R->p.n; i++)
				if (R->cur[i].ver)
					live_bytes += KS + 2 + R->cur[i].len;
			unsigned pdel = live_bytes > budget ? 70u : 20u;
			if (R->tight)
				pdel = R->oos ? 45u : 10u;
			int del = tu_below(&R->rng, 100) < pdel;
			R->ops++;
			for (int t = 0;; t++) {
				uint32_t len = 0, ver = 0;
				if (del) {
					r = wodan_delete(w, kv_key(&R->p, ki),
							 KS);
				} else {
					len = pick_len(R, maxv);
					ver = ++R->next_ver;
					kv_val(&R->p, ki, ver, len, val);
					r = wodan_insert(w, kv_key(&R->p, ki),
							 KS, val, len);
				}
				if (r == WODAN_E_NEEDS_FLUSH && t < 20) {
					R->needs_flush++;
					do_flush(R, w, d);
					continue;
				}
				if (r == WODAN_E_OUT_OF_SPACE) {
					R->oos++;
					break; /* nothing changed */
				}
				if (r)
					fail_msg("%s: %s: %s (seed %llu)",
						 del ? "delete" : "insert",
						 wodan_strerror(r),
						 wodan_last_error()->message,
						 (unsigned long long)seed);
				if (del) {
					R->cur[ki].ver = 0;
					R->cur[ki].len = 0;
					R->deletes++;
				} else {
					R->cur[ki].ver = ver;
					R->cur[ki].len = len;
					R->inserts++;
				}
				break;
			}
		}
		do_flush(R, w, d);
	}
	d->recording = 0;
	/* sanity: the handle itself holds the last flushed state */
	char why[400];
	if (state_equal(w, &R->p, R->fl[R->nfl - 1].snap, why, sizeof why))
		fail_msg("live handle differs from its model: %s (seed %llu)",
			 why, (unsigned long long)seed);
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	printf("# workload: %llu ops (%llu inserts, %llu deletes, %llu out of "
	       "space, %llu needs-flush), %zu flushes, %zu writes, %u "
	       "barriers, depth max %u, root wraps %u, %llu splits, %llu "
	       "spills, %llu live keys, %llu journal commits, %llu "
	       "checkpoints\n",
	       (unsigned long long)R->ops, (unsigned long long)R->inserts,
	       (unsigned long long)R->deletes, (unsigned long long)R->oos,
	       (unsigned long long)R->needs_flush, R->nfl - 1, d->nlog, d->nbar,
	       R->max_depth, R->wraps, (unsigned long long)st.splits,
	       (unsigned long long)st.spills,
	       (unsigned long long)snap_live(&R->p, R->cur),
	       (unsigned long long)st.journal_commits,
	       (unsigned long long)st.checkpoints);
	fflush(stdout);
	if (R->journal)
		assert_true(st.journal_commits > 0 && st.checkpoints > 2);
	wodan_abandon(w);
	free(val);
}

/* ------------------------------------------------------------------ replay */

enum variant { V_PREFIX, V_TORN, V_SUBSET, V_N };
static const char *const vname[V_N] = { "prefix", "torn", "subset" };

struct stats {
	uint64_t tested[V_N];
	uint64_t found_old[V_N], found_new[V_N];
	uint64_t oos_after;  /* further insert refused: device full */
	uint64_t needs_flush_after; /* further insert needed a flush first */
	uint64_t failures;
};

static void failure(struct stats *S, size_t P, int v, const char *fmt, ...)
{
	S->failures++;
	if (S->failures > 25)
		return;
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("# FAIL cut %zu variant %s: %s (seed %llu)\n", P, vname[v], msg,
	       (unsigned long long)seed);
	fflush(stdout);
}

/* Mount the image in img (size bytes) and run every assertion; img is
 * modified by the final insert+flush.  full: also check the image after
 * that insert (costly; done for a sample of the cut points). */
static void verify(struct run *R, struct stats *S, uint8_t *img,
		   uint64_t size, size_t P, int v, size_t k, int new_root_in,
		   int full)
{
	struct memdev d;
	memdev_init(&d, img, size, "powercut-ram");
	S->tested[v]++;
	size_t exp = new_root_in ? k + 1 : k;
	const struct flushrec *f = &R->fl[exp];
	char why[400];

	wodan_t *w = NULL;
	struct wodan_open_opts o = { 0 }; /* default cache: one read per node */
	/* read-only first: a writable open of a journal image begins an
	 * epoch (writes a root) */
	struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
	int r = wodan_open(&d.be, &ro, &w);
	if (r) {
		failure(S, P, v, "mount failed: %s: %s (durable flush %zu, "
			"in-flight root %s)", wodan_strerror(r),
			wodan_last_error()->message, k,
			new_root_in ? "written" : "not written");
		return;
	}
	struct wodan_info info;
	wodan_get_info(w, &info);
	int eq_exp = state_equal(w, &R->p, f->snap, why, sizeof why) == 0;
	if (!eq_exp || info.generation != f->gen) {
		/* which state did we get, if any allowed one? */
		int eq_old = state_equal(w, &R->p, R->fl[k].snap, NULL, 0) == 0;
		int eq_new = k + 1 < R->nfl &&
			     state_equal(w, &R->p, R->fl[k + 1].snap, NULL, 0) == 0;
		if (!eq_old && !eq_new)
			failure(S, P, v, "contents are neither flush %zu nor "
				"%zu: vs expected flush %zu: %s; mounted gen "
				"%llu root %llu (flush %zu gen %llu root %llu)",
				k, k + 1, exp, why,
				(unsigned long long)info.generation,
				(unsigned long long)info.root_block, exp,
				(unsigned long long)f->gen,
				(unsigned long long)f->root);
		else
			failure(S, P, v, "mounted %s state (gen %llu root "
				"%llu) but expected flush %zu (gen %llu root "
				"%llu, in-flight root %s)",
				eq_new ? "in-flight" : "older",
				(unsigned long long)info.generation,
				(unsigned long long)info.root_block, exp,
				(unsigned long long)f->gen,
				(unsigned long long)f->root,
				new_root_in ? "fully written" : "absent/torn");
		wodan_abandon(w);
		return;
	}
	if (new_root_in)
		S->found_new[v]++;
	else
		S->found_old[v]++;
	wodan_abandon(w);

	struct wodan_check_report rep;
	r = wodan_check(&d.be, 0, &rep, NULL, NULL);
	if (r != 0) {
		failure(S, P, v, "check returned %d: %u problems, first: %s", r,
			rep.n_problems,
			rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return;
	}
	/* (on a journal image the check replays the journal, as a mount
	 * does: the same live keys and generation) */
	int disagree = cut_report_agrees(&rep, &R->p, f->snap, f->gen, why,
					 sizeof why);
	wodan_check_report_free(&rep);
	if (disagree) {
		failure(S, P, v, "%s", why);
		return;
	}

	/* life goes on: one more insert, flush, close, reopen (the nearly
	 * full runs may leave no room for one more key: then nothing may
	 * change) */
	uint64_t s2 = seed ^ (P * 0x2545f4914f6cdd1dull) ^ (uint64_t)v;
	struct cut_life L = { 0 };
	L.k = (uint32_t)tu_below(&s2, R->p.n);
	L.len = 1 + (uint32_t)tu_below(&s2, 300);
	L.ver = 0x80000000u | (uint32_t)(P * V_N + (size_t)v);
	L.flush_retries = 20;
	L.allow_full = R->tight;
	L.check_after = full;
	r = cut_life_goes_on(&d.be, &o, &R->p, f->snap, &L, why, sizeof why);
	S->needs_flush_after += L.needs_flush;
	S->oos_after += (uint64_t)L.full;
	if (r)
		failure(S, P, v, "%s", why);
}

static void apply(uint8_t *img, const struct md_op *x, uint64_t len)
{
	memdev_apply(img, x, len);
}

/* Largest flush index k whose final barrier was issued at or before epoch
 * e. */
static size_t durable_flush(const struct run *R, uint32_t e)
{
	size_t k = 0;
	while (k + 1 < R->nfl && R->fl[k + 1].bar_end <= e)
		k++;
	return k;
}

static uint64_t replay(struct run *R, struct memdev *d, uint64_t max_cuts)
{
	size_t W = d->nlog;
	uint64_t size = d->be.size_bytes;
	uint8_t *cur = malloc(size), *dur = malloc(size), *scratch = malloc(size);
	memcpy(cur, R->base, size);
	memcpy(dur, R->base, size);
	size_t dur_n = 0; /* dur = base + writes [0, dur_n) */
	/* choose cut points: all, or all those inside the last flushes plus a
	 * random sample of the rest */
	uint8_t *want = calloc(W + 1, 1);
	size_t tail_from = R->nfl > 6 ? R->fl[R->nfl - 7].w_end : 0;
	uint64_t chosen = 0;
	if (W + 1 <= max_cuts) {
		memset(want, 1, W + 1);
		chosen = W + 1;
	} else {
		for (size_t P = tail_from; P <= W; P++, chosen++)
			want[P] = 1;
		want[0] = 1;
		chosen++;
		uint64_t guard = 0;
		while (chosen < max_cuts && guard++ < 100 * max_cuts) {
			size_t P = (size_t)tu_below(&R->rng, W + 1);
			if (!want[P]) {
				want[P] = 1;
				chosen++;
			}
		}
	}
	struct stats S = { 0 };
	uint64_t rng = seed ^ 0x5eedcafeull;
	for (size_t P = 0; P <= W; P++) {
		if (P > 0)
			apply(cur, &d->log[P - 1], UINT32_MAX);
		/* the cut falls right after write P-1 was issued, before any
		 * barrier that followed it: writes of epochs < e are durable,
		 * those of epoch e may be lost.  (Barriers after write P-1
		 * change nothing on the device; the strict expectations
		 * below depend only on which writes landed.) */
		uint32_t e = P > 0 ? d->log[P - 1].epoch : 0;
		/* durable: [0, first) with first the first write of epoch e */
		size_t first = P;
		while (first > 0 && d->log[first - 1].epoch == e)
			first--;
		while (dur_n < first)
			apply(dur, &d->log[dur_n++], UINT32_MAX);
		if (!want[P])
			continue;
		size_t k = durable_flush(R, e);
		int full = P % 4 == 0 || P >= tail_from;
		size_t root_idx = k + 1 < R->nfl ? R->fl[k + 1].w_end - 1
						 : (size_t)-1;
		size_t crit = k + 1 < R->nfl ? R->fl[k + 1].crit
					     : (size_t)-1;
		/* 1. plain prefix */
		memcpy(scratch, cur, size);
		verify(R, &S, scratch, size, P, V_PREFIX, k,
		       root_idx != (size_t)-1 && root_idx < P, full);
		/* 2. torn write at the cut */
		if (P < W) {
			memcpy(scratch, cur, size);
			uint64_t tl = tu_below(&rng, 2) ? 512 : d->log[P].len / 2;
			apply(scratch, &d->log[P], tl);
			verify(R, &S, scratch, size, P, V_TORN, k,
			       root_idx != (size_t)-1 && root_idx < P, full);
		}
		/* 3. a random subset of the unbarriered writes */
		if (P - first >= 1) {
			memcpy(scratch, dur, size);
			/* found iff every critical write landed (the root;
			 * all records of a journal commit) */
			int root_in = root_idx != (size_t)-1 && root_idx < P;
			for (size_t j = first; j < P; j++) {
				if (tu_below(&rng, 2))
					apply(scratch, &d->log[j], UINT32_MAX);
				else if (j >= crit && j <= root_idx)
					root_in = 0;
			}
			verify(R, &S, scratch, size, P, V_SUBSET, k, root_in, full);
		}
	}
	printf("# replay: %zu writes, %llu cut points of %zu: prefix %llu "
	       "(old %llu / new %llu), torn %llu (old %llu / new %llu), "
	       "subset %llu (old %llu / new %llu); further inserts: %llu "
	       "refused (out of space), %llu needed a flush first; %llu "
	       "failures\n",
	       W, (unsigned long long)chosen, W + 1,
	       (unsigned long long)S.tested[V_PREFIX],
	       (unsigned long long)S.found_old[V_PREFIX],
	       (unsigned long long)S.found_new[V_PREFIX],
	       (unsigned long long)S.tested[V_TORN],
	       (unsigned long long)S.found_old[V_TORN],
	       (unsigned long long)S.found_new[V_TORN],
	       (unsigned long long)S.tested[V_SUBSET],
	       (unsigned long long)S.found_old[V_SUBSET],
	       (unsigned long long)S.found_new[V_SUBSET],
	       (unsigned long long)S.oos_after,
	       (unsigned long long)S.needs_flush_after,
	       (unsigned long long)S.failures);
	fflush(stdout);
	free(want);
	free(cur);
	free(dur);
	free(scratch);
	return S.failures;
}

static void one_run(uint64_t run_seed, uint64_t max_cuts, int tight,
		    int journal)
{
	struct run R = { 0 };
	R.rng = run_seed;
	R.journal = journal;
	static const uint32_t fanouts[] = { 3, 4, 5, 8, 0 };
	R.fanout = fanouts[tu_below(&R.rng, 5)];
	/* odd runs: a small, nearly full device (blocks are reused by the
	 * very next flush; NEEDS_FLUSH and OUT_OF_SPACE happen) */
	R.tight = tight;
	R.lsize = tight ? 64 + tu_below(&R.rng, 65)    /* 64..128 */
			: 64 + tu_below(&R.rng, 449);  /* 64..512 */
	uint32_t nkeys = tight ? (uint32_t)R.lsize * 10
			       : 150 + (uint32_t)tu_below(&R.rng, R.lsize * 2);
	keys_init(&R, nkeys);
	mkfs_rng = tu_splitmix(&R.rng);
	uint64_t size = R.lsize * BS;
	uint8_t *mem = calloc(1, size);
	struct memdev d;
	memdev_init(&d, mem, size, "powercut-recorder");
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS,
				       .tombstones = 1,
				       .journal = journal,
				       .preroots_interval_blocks =
					       tu_below(&R.rng, 2) ? 0 : 16 };
	assert_int_equal(wodan_mkfs(&d.be, &p, NULL), 0);
	R.base = malloc(size);
	memcpy(R.base, mem, size);
	/* flush 0: the mkfs state */
	R.flcap = 64;
	R.fl = calloc(R.flcap, sizeof *R.fl);
	R.nfl = 1;
	R.fl[0].gen = 1;
	R.fl[0].snap = snap_new(&R.p);
	{
		wodan_t *w;
		struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
		assert_int_equal(wodan_open(&d.be, &ro, &w), 0);
		struct wodan_info info;
		wodan_get_info(w, &info);
		R.fl[0].root = info.root_block;
		printf("# run: %s%s: lsize %llu blocks, fanout %u, %u keys, "
		       "first block %llu, preroots %s\n",
		       tight ? "nearly full" : "roomy",
		       journal ? ", journal" : "",
		       (unsigned long long)R.lsize, R.fanout, R.p.n,
		       (unsigned long long)info.first_block_written,
		       p.preroots_interval_blocks ? "every 16" : "default");
		wodan_abandon(w);
	}
	workload(&R, &d, 30, 400);
	assert_true(R.wraps >= 1);
	assert_true(R.max_depth >= 2);
	uint64_t failures = replay(&R, &d, max_cuts);
	for (size_t i = 0; i < R.nfl; i++)
		free(R.fl[i].snap);
	free(R.fl);
	free(R.base);
	kv_pool_free(&R.p);
	free(R.cur);
	memdev_clear_log(&d);
	free(mem);
	if (failures)
		fail_msg("%llu power-cut failures (seed %llu)",
			 (unsigned long long)failures, (unsigned long long)seed);
}

static void test_powercut(void **state)
{
	(void)state;
	uint64_t runs = tu_env_u64("WODAN_POWERCUT_RUNS", 4);
	uint64_t max_cuts = tu_env_u64("WODAN_POWERCUT_MAX_CUTS", 2500);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < runs; i++)
		one_run(seed + i * 0x9e3779b97f4a7c15ull, max_cuts, (int)(i & 1),
			(int)((i >> 1) & 1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %llu runs in %.1f s\n", (unsigned long long)runs,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(void)
{
	seed = tu_seed("test_powercut");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_powercut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
