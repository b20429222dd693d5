/*
 * test_journal.c -- the redo journal (incompat 0x10, lib/journal.h) under
 * power cuts, I/O errors and hostile records.  (The prefix / torn / subset
 * replay of every cut point of a journal workload is in test_powercut.c;
 * the model test runs half its images with the journal.)
 *
 *  - cuts: a seeded workload (inserts, overwrites, deletes, large values;
 *    a small soft ceiling so checkpoints come every few commits; no auto
 *    flush) runs on a fault-injection device over a small RAM image until
 *    the power is cut at a random op, resolved at random (lost, kept,
 *    torn, reordered, garbage sectors).  The image left must open
 *    read-only with exactly the state of the last acknowledged flush or of
 *    the flush in flight; wodan_check must pass; a writable open, one more
 *    insert, flush, close and reopen must hold that state plus the key.
 *  - double: the same, then a second workload on the recovered image, cut
 *    again, and checked the same way.
 *  - ioerr: writes and barriers fail with EIO at random (a failed write may
 *    land torn or as garbage); every failed flush is retried until it
 *    succeeds; at the end the power is cut: the image must hold exactly
 *    the last acknowledged state (records of failed attempts must never be
 *    replayed).  Every few steps the handle is instead abandoned right
 *    after a failed flush: the state is then the acknowledged one or the
 *    attempted one.
 *  - hostile: on an image whose journal holds several commits, every
 *    record in turn is rewritten with hostile header fields or item
 *    lengths (CRC re-sealed, so only the contents can stop it) or a bad
 *    CRC; a read-only open must not crash and must show one of the
 *    acknowledged states, never a mixture -- also when a record's block
 *    count is altered (a commit that seems complete early).  A record
 *    retyped as a root (re-sealed) is a forged root: there only "no
 *    crash" is asked.  A record claiming the largest generation must not
 *    make the counter wrap (it ends the replay).
 *  - economy: the same commits write fewer blocks with the journal than
 *    without; a read-only open replays without writing; a checkpoint gives
 *    the journal's blocks back.
 *
 * WODAN_SEED replays; WODAN_JOURNAL_CUTS (default 3000) and
 * WODAN_JOURNAL_IOERR (default 60) size the tiers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <cmocka.h>
#include "testutil.h"
#include "fixed_random.h"
#include "fault_backend.h"
#include "crc.h"
#include "wodan_backend.h"

#define BS 4096u
#define KS 8u
#define NK 400u
#define LSIZE 160u
#define MAXV 600u

static uint64_t seed;

/* deterministic mkfs (fsid, first block): fixed_random.h */

/* ------------------------------------------------------------ the model */

struct ent {
	uint32_t ver; /* 0 = absent */
	uint16_t len;
};

static void key_of(uint32_t i, uint8_t *k)
{
	uint64_t s = 0x1234 + i * 0x9e3779b97f4a7c15ull;
	uint64_t v = tu_splitmix(&s);
	memcpy(k, &v, KS);
}

static void val_of(uint32_t i, uint32_t ver, uint32_t len, uint8_t *out)
{
	uint64_t s = ((uint64_t)i << 32) ^ ver;
	for (uint32_t b = 0; b < len; b++)
		out[b] = (uint8_t)tu_splitmix(&s);
}

struct cmp {
	const struct ent *m;
	uint32_t seen, bad;
};

static int cmp_cb(void *arg, const uint8_t *key, const uint8_t *val,
		  size_t len)
{
	struct cmp *c = arg;
	uint8_t k[KS], v[MAXV];
	/* find the key's index (the pool is small) */
	for (uint32_t i = 0; i < NK; i++) {
		key_of(i, k);
		if (memcmp(k, key, KS))
			continue;
		const struct ent *e = &c->m[i];
		if (!e->ver || e->len != len) {
			c->bad++;
			return 0;
		}
		val_of(i, e->ver, e->len, v);
		if (memcmp(v, val, len))
			c->bad++;
		c->seen++;
		return 0;
	}
	c->bad++;
	return 0;
}

/* 1 when w holds exactly model m. */
static int holds(wodan_t *w, const struct ent *m)
{
	struct cmp c = { m, 0, 0 };
	if (wodan_iterate(w, NULL, NULL, cmp_cb, &c))
		return 0;
	uint32_t live = 0;
	for (uint32_t i = 0; i < NK; i++)
		live += m[i].ver != 0;
	return !c.bad && c.seen == live;
}

/* ------------------------------------------------------------ workload */

struct run {
	uint64_t rng;
	uint32_t next_ver;
	struct ent cur[NK], acked[NK], inflight[NK];
	int have_inflight;
	uint64_t commits, checkpoints;
};

static int do_flush(struct run *R, wodan_t *w)
{
	memcpy(R->inflight, R->cur, sizeof R->cur);
	R->have_inflight = 1;
	int r = wodan_flush(w, NULL);
	if (!r) {
		memcpy(R->acked, R->cur, sizeof R->cur);
		R->have_inflight = 0;
	}
	return r;
}

/* `steps` batches of changes, each ended by a flush.  Returns 0, or the
 * first error (the device died, or an injected EIO when retry is 0). */
static int workload(struct run *R, wodan_t *w, uint32_t steps, int retry)
{
	static uint8_t k[KS], v[MAXV];
	for (uint32_t s = 0; s < steps; s++) {
		uint32_t n = 1 + (uint32_t)tu_below(&R->rng, 40);
		for (uint32_t o = 0; o < n; o++) {
			uint32_t i = (uint32_t)tu_below(&R->rng, NK);
			key_of(i, k);
			int del = tu_below(&R->rng, 5) == 0;
			uint32_t len = tu_below(&R->rng, 10) == 0
					       ? MAXV
					       : 1 + (uint32_t)tu_below(&R->rng, 60);
			uint32_t ver = ++R->next_ver;
			val_of(i, ver, len, v);
			for (int t = 0;; t++) {
				int r = del ? wodan_delete(w, k, KS)
					    : wodan_insert(w, k, KS, v, len);
				if (r == WODAN_E_NEEDS_FLUSH && t < 20) {
					do {
						r = do_flush(R, w);
					} while (r && retry && r != WODAN_E_NEEDS_FLUSH &&
						 r != WODAN_E_OUT_OF_SPACE);
					if (r)
						return r;
					continue;
				}
				if (r)
					return r;
				break;
			}
			R->cur[i].ver = del ? 0 : ver;
			R->cur[i].len = del ? 0 : (uint16_t)len;
		}
		int r;
		do {
			r = do_flush(R, w);
		} while (r && retry && r != WODAN_E_OUT_OF_SPACE);
		if (r)
			return r;
	}
	return 0;
}

static wodan_t *open_on(struct wodan_backend *be, uint64_t *rng, int ro,
			int *err)
{
	struct wodan_open_opts o = { .flags = WODAN_OPEN_NO_AUTOFLUSH,
				     .cache_bytes = 16ull * BS,
				     .dirty_bytes = BS * (12 + tu_below(rng, 40)),
				     .max_fanout = 4 + (uint32_t)tu_below(rng, 5) };
	if (ro)
		o.flags |= WODAN_OPEN_READONLY;
	wodan_t *w = NULL;
	*err = wodan_open(be, &o, &w);
	return *err ? NULL : w;
}

/* A fresh journal image on a RAM device. */
static struct wodan_backend *new_image(uint64_t s)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create((uint64_t)LSIZE * BS, &be),
			 0);
	mkfs_rng = s;
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS,
				       .tombstones = 1,
				       .journal = 1 };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	return be;
}

/* Check the image after a cut: read-only open shows acked or inflight;
 * check passes; life goes on.  Returns 0, or 1 with a message. */
static int verify(struct run *R, struct wodan_backend *be, const char *id,
		  struct ent *found)
{
	int err;
	uint64_t rng = R->rng;
	wodan_t *w = open_on(be, &rng, 1, &err);
	if (!w) {
		printf("# %s: read-only open failed: %s: %s\n", id,
		       wodan_strerror(err), wodan_last_error()->message);
		return 1;
	}
	int a = holds(w, R->acked);
	int b = R->have_inflight && holds(w, R->inflight);
	wodan_abandon(w);
	if (!a && !b) {
		printf("# %s: contents are neither the acknowledged state nor "
		       "the one in flight\n", id);
		return 1;
	}
	memcpy(found, a ? R->acked : R->inflight, sizeof R->acked);
	struct wodan_check_report rep;
	int r = wodan_check(be, 0, &rep, NULL, NULL);
	if (r != 0 || rep.used_blocks + rep.free_blocks !=
			      rep.logical_size_blocks) {
		printf("# %s: check returned %d (%u problems: %s)\n", id, r,
		       rep.n_problems,
		       rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return 1;
	}
	wodan_check_report_free(&rep);
	/* life goes on */
	w = open_on(be, &rng, 0, &err);
	if (!w) {
		printf("# %s: writable open failed: %s: %s\n", id,
		       wodan_strerror(err), wodan_last_error()->message);
		return 1;
	}
	uint8_t k[KS], v[64];
	uint32_t i = (uint32_t)tu_below(&rng, NK), ver = 0xF0000000u;
	key_of(i, k);
	val_of(i, ver, 64, v);
	r = wodan_insert(w, k, KS, v, 64);
	for (int t = 0; r == WODAN_E_NEEDS_FLUSH && t < 20; t++) {
		r = wodan_flush(w, NULL);
		if (!r)
			r = wodan_insert(w, k, KS, v, 64);
	}
	if (!r)
		r = wodan_flush(w, NULL);
	int rc = wodan_close(w);
	if (r || rc) {
		printf("# %s: insert/flush/close after recovery: %s / %s: %s\n",
		       id, wodan_strerror(r), wodan_strerror(rc),
		       wodan_last_error()->message);
		return 1;
	}
	found[i].ver = ver;
	found[i].len = 64;
	w = open_on(be, &rng, 1, &err);
	if (!w || !holds(w, found)) {
		printf("# %s: after insert+flush+close+reopen the state is "
		       "wrong (%s)\n", id, w ? "contents" : wodan_strerror(err));
		if (w)
			wodan_abandon(w);
		return 1;
	}
	wodan_abandon(w);
	return 0;
}

/* Copy a RAM image into a new RAM device. */
static struct wodan_backend *clone(struct wodan_backend *src)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(src->size_bytes, &be), 0);
	uint8_t *buf = malloc(src->size_bytes);
	assert_int_equal(src->read(src, 0, buf, src->size_bytes), 0);
	assert_int_equal(be->write(be, 0, buf, src->size_bytes), 0);
	free(buf);
	return be;
}

/* Run a workload on `lower` through a fault device cut at op `cut`; the
 * run's models say what was acknowledged. */
static void run_cut(struct run *R, struct wodan_backend *lower, uint64_t cut,
		    uint64_t fseed, uint32_t steps)
{
	struct fault_params fp;
	fault_params_init(&fp, fseed);
	fp.cut_at = cut;
	fp.cut_mode = (enum fault_cut_mode)(fseed % FAULT_CUT_NMODES);
	struct wodan_backend *f;
	assert_int_equal(fault_backend_wrap(lower, &fp, &f), 0);
	int err;
	memcpy(R->inflight, R->acked, sizeof R->acked);
	R->have_inflight = 1; /* the open's epoch root: same contents */
	wodan_t *w = open_on(f, &R->rng, 0, &err);
	if (w) {
		R->have_inflight = 0;
		workload(R, w, steps, 0);
		wodan_abandon(w);
	}
	if (!fault_backend_dead(f))
		fault_backend_cut_now(f, fp.cut_mode);
	wodan_backend_close(f);
}

static void test_cuts(void **state)
{
	(void)state;
	uint64_t n = tu_env_u64("WODAN_JOURNAL_CUTS", 3000), fails = 0;
	uint64_t base_seed = seed ^ 0xC075;
	/* the base image: some history, journal records pending */
	struct run B = { .rng = base_seed };
	struct wodan_backend *base = new_image(base_seed);
	int err;
	wodan_t *w = open_on(base, &B.rng, 0, &err);
	assert_non_null(w);
	assert_int_equal(workload(&B, w, 30, 0), 0);
	wodan_abandon(w);
	/* count the ops of the workload to cut */
	struct run D = B;
	D.rng = base_seed ^ 1;
	struct wodan_backend *probe = clone(base);
	struct fault_params fp;
	fault_params_init(&fp, 1);
	struct wodan_backend *f;
	assert_int_equal(fault_backend_wrap(probe, &fp, &f), 0);
	w = open_on(f, &D.rng, 0, &err);
	assert_non_null(w);
	assert_int_equal(workload(&D, w, 60, 0), 0);
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	wodan_abandon(w);
	uint64_t nops = fault_backend_nops(f);
	wodan_backend_close(f);
	wodan_backend_close(probe);
	printf("# cuts: workload of %llu ops (%llu journal commits, %llu "
	       "checkpoints)\n", (unsigned long long)nops,
	       (unsigned long long)st.journal_commits,
	       (unsigned long long)st.checkpoints);
	assert_true(st.journal_commits > 5 && st.checkpoints > 2);
	uint64_t rng = seed ^ 0xC1;
	for (uint64_t c = 0; c < n; c++) {
		struct run R = B;
		R.rng = base_seed ^ 1;
		struct wodan_backend *img = clone(base);
		uint64_t cut = tu_below(&rng, nops + 1);
		uint64_t fseed = tu_splitmix(&rng);
		run_cut(&R, img, cut, fseed, 60);
		char id[96];
		snprintf(id, sizeof id, "cut %llu (op %llu, fault seed %llu)",
			 (unsigned long long)c, (unsigned long long)cut,
			 (unsigned long long)fseed);
		struct ent found[NK];
		fails += verify(&R, img, id, found);
		wodan_backend_close(img);
	}
	wodan_backend_close(base);
	printf("# cuts: %llu cut points, %llu failures (seed %llu)\n",
	       (unsigned long long)n, (unsigned long long)fails,
	       (unsigned long long)seed);
	assert_int_equal(fails, 0);
}

static void test_double(void **state)
{
	(void)state;
	uint64_t n = tu_env_u64("WODAN_JOURNAL_CUTS", 3000) / 3, fails = 0;
	uint64_t rng = seed ^ 0xD0;
	for (uint64_t c = 0; c < n; c++) {
		uint64_t s = tu_splitmix(&rng);
		struct run R = { .rng = s };
		struct wodan_backend *img = new_image(s);
		run_cut(&R, img, tu_below(&rng, 300), tu_splitmix(&rng), 12);
		struct ent found[NK];
		char id[96];
		snprintf(id, sizeof id, "double %llu first cut (seed %llu)",
			 (unsigned long long)c, (unsigned long long)s);
		if (verify(&R, img, id, found)) {
			fails++;
			wodan_backend_close(img);
			continue;
		}
		/* the recovered state (plus verify's key) is acknowledged */
		memcpy(R.acked, found, sizeof found);
		memcpy(R.cur, found, sizeof found);
		run_cut(&R, img, tu_below(&rng, 300), tu_splitmix(&rng), 12);
		snprintf(id, sizeof id, "double %llu second cut (seed %llu)",
			 (unsigned long long)c, (unsigned long long)s);
		fails += verify(&R, img, id, found);
		wodan_backend_close(img);
	}
	printf("# double: %llu double faults, %llu failures\n",
	       (unsigned long long)n, (unsigned long long)fails);
	assert_int_equal(fails, 0);
}

static void test_ioerr(void **state)
{
	(void)state;
	uint64_t n = tu_env_u64("WODAN_JOURNAL_IOERR", 60), fails = 0;
	uint64_t rng = seed ^ 0x10E, eio = 0;
	for (uint64_t c = 0; c < n; c++) {
		uint64_t s = tu_splitmix(&rng);
		struct run R = { .rng = s };
		struct wodan_backend *img = new_image(s);
		struct fault_params fp;
		fault_params_init(&fp, s);
		fp.write_eio_ppm = 30000;
		fp.barrier_eio_ppm = 30000;
		struct wodan_backend *f;
		assert_int_equal(fault_backend_wrap(img, &fp, &f), 0);
		int err;
		wodan_t *w = NULL;
		for (int t = 0; !w && t < 100; t++)
			w = open_on(f, &R.rng, 0, &err);
		assert_non_null(w);
		int abandon_early = c % 4 == 3;
		int r = workload(&R, w, 40, !abandon_early);
		struct fault_counters fc;
		fault_backend_counters(f, &fc);
		eio += fc.write_eio + fc.barrier_eio;
		if (r && !abandon_early)
			fail_msg("workload with retries failed: %s: %s (seed "
				 "%llu)", wodan_strerror(r),
				 wodan_last_error()->message,
				 (unsigned long long)seed);
		wodan_abandon(w);
		fault_backend_cut_now(f, FAULT_CUT_RANDOM);
		wodan_backend_close(f);
		if (!abandon_early)
			R.have_inflight = 0; /* exactly the acked state */
		char id[96];
		snprintf(id, sizeof id, "ioerr %llu (seed %llu)",
			 (unsigned long long)c, (unsigned long long)s);
		struct ent found[NK];
		fails += verify(&R, img, id, found);
		wodan_backend_close(img);
	}
	printf("# ioerr: %llu runs, %llu injected EIO, %llu failures\n",
	       (unsigned long long)n, (unsigned long long)eio,
	       (unsigned long long)fails);
	assert_true(eio > n);
	assert_int_equal(fails, 0);
}

/* ------------------------------------------------------------ hostile */

static void test_hostile(void **state)
{
	(void)state;
	uint64_t s = seed ^ 0x4057;
	struct run R = { .rng = s };
	struct wodan_backend *img = new_image(s);
	int err;
	struct wodan_open_opts o = { .flags = WODAN_OPEN_NO_AUTOFLUSH };
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(img, &o, &w), 0);
	/* a few commits, kept in the journal (no checkpoint: big budget) */
	struct ent states[8][NK];
	memcpy(states[0], R.acked, sizeof R.acked);
	for (int c = 1; c < 8; c++) {
		assert_int_equal(workload(&R, w, 1, 0), 0);
		memcpy(states[c], R.acked, sizeof R.acked);
	}
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	assert_int_equal(st.journal_commits, 7);
	wodan_abandon(w);
	/* find the journal blocks: type 3 */
	uint8_t *blk = malloc(BS), *orig = malloc(BS);
	uint64_t tried = 0, bad = 0;
	for (uint64_t L = 1; L < LSIZE; L++) {
		assert_int_equal(img->read(img, L * BS, orig, BS), 0);
		if (orig[0] != 3)
			continue;
		for (int m = 0; m < 13; m++) {
			memcpy(blk, orig, BS);
			uint32_t nitems = (uint32_t)blk[41] | blk[42] << 8;
			switch (m) {
			case 0: blk[41] = blk[42] = blk[43] = blk[44] = 0xff; break;
			case 1: blk[41] = (uint8_t)(nitems + 1); break;
			case 2: blk[45 + KS] = 0xff; blk[46 + KS] = 0xff; break;
			case 3: blk[33] ^= 1; break;      /* idx */
			case 4: blk[37] ^= 3; break;      /* count */
			case 5: blk[37] = blk[38] = blk[39] = blk[40] = 0; break;
			case 6: blk[25] ^= 1; break;      /* root_gen */
			case 7: blk[1] ^= 2; break;       /* gen */
			case 8: blk[9] ^= 0x80; break;    /* fsid */
			case 9: blk[0] = 1; break;        /* looks like a root */
			case 10: blk[BS - 9] ^= 4; break; /* payload, CRC kept */
			case 12: memset(blk + 1, 0xff, 8); break; /* gen max */
			default: blk[200] ^= 0x10; break; /* bad CRC */
			}
			if (m == 10) {
				/* a flipped payload bit with the old CRC */
			} else if (m != 11) {
				/* CRC-32C trailer re-sealed: only the contents
				 * can stop this record */
				wd_crc_seal(blk, BS);
			}
			assert_int_equal(img->write(img, L * BS, blk, BS), 0);
			struct wodan_open_opts ro = {
				.flags = WODAN_OPEN_READONLY };
			w = NULL;
			err = wodan_open(img, &ro, &w);
			tried++;
			if (!err && m == 9) {
				/* a forged root (CRC re-sealed) may win the
				 * root search: only "no crash" is asked */
				wodan_abandon(w);
			} else if (!err) {
				int ok = 0;
				for (int c = 0; c < 8 && !ok; c++)
					ok = holds(w, states[c]);
				if (!ok) {
					printf("# hostile: block %llu mutation "
					       "%d: a state never acknowledged\n",
					       (unsigned long long)L, m);
					bad++;
				}
				wodan_abandon(w);
			} else if (m != 9) {
				printf("# hostile: block %llu mutation %d: open "
				       "failed: %s\n", (unsigned long long)L, m,
				       wodan_last_error()->message);
				bad++;
			}
			assert_int_equal(img->write(img, L * BS, orig, BS), 0);
		}
	}
	printf("# hostile: %llu mutated opens, %llu failures\n",
	       (unsigned long long)tried, (unsigned long long)bad);
	assert_true(tried >= 13 * 7);
	assert_int_equal(bad, 0);
	free(blk);
	free(orig);
	wodan_backend_close(img);
}

/* ------------------------------------------------------------ economy */

static uint64_t blocks_for(int journal, uint64_t s, uint64_t *free_after)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(1024ull * BS, &be), 0);
	mkfs_rng = s;
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS,
				       .tombstones = 1,
				       .journal = journal };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	struct wodan_stats s0, s1;
	wodan_get_stats(w, &s0);
	struct run R = { .rng = s };
	assert_int_equal(workload(&R, w, 200, 0), 0);
	wodan_get_stats(w, &s1);
	struct wodan_info in;
	wodan_get_info(w, &in);
	if (journal) {
		assert_true(s1.journal_commits > 150);
		/* wodan_checkpoint writes the tree and frees the journal */
		struct wodan_info i0, i1;
		wodan_get_info(w, &i0);
		uint64_t g0 = i0.generation, g1 = 0;
		assert_true(s1.checkpoints < s1.journal_commits);
		assert_int_equal(wodan_checkpoint(w, &g1), 0);
		wodan_get_info(w, &i1);
		struct wodan_stats s2;
		wodan_get_stats(w, &s2);
		assert_int_equal(s2.checkpoints, s1.checkpoints + 1);
		assert_true(g1 > g0 && i1.generation == g1);
		assert_true(i1.root_block != i0.root_block);
		/* close checkpoints too: the journal is empty now, so a
		 * read-only open replays nothing */
		uint64_t before = in.free_blocks;
		assert_int_equal(wodan_close(w), 0);
		struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
		assert_int_equal(wodan_open(be, &ro, &w), 0);
		wodan_get_info(w, &in);
		assert_true(in.free_blocks > before); /* journal blocks back */
		struct wodan_stats s3;
		wodan_get_stats(w, &s3);
		assert_int_equal(s3.journal_replayed_commits, 0);
		assert_true(holds(w, R.acked));
		wodan_abandon(w);
	} else {
		assert_int_equal(wodan_close(w), 0);
	}
	*free_after = in.free_blocks;
	wodan_backend_close(be);
	return s1.blocks_written - s0.blocks_written;
}

static void test_economy(void **state)
{
	(void)state;
	uint64_t fa, fb;
	uint64_t plain = blocks_for(0, seed, &fa);
	uint64_t jour = blocks_for(1, seed, &fb);
	printf("# economy: 200 commits wrote %llu blocks without the journal, "
	       "%llu with it\n", (unsigned long long)plain,
	       (unsigned long long)jour);
	assert_true(jour * 2 < plain);

	/* a read-only open replays without writing */
	struct run R = { .rng = seed ^ 0xEC };
	struct wodan_backend *img = new_image(seed);
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(img, NULL, &w), 0);
	assert_int_equal(workload(&R, w, 5, 0), 0);
	wodan_abandon(w);
	struct fault_params fp;
	fault_params_init(&fp, 1);
	struct wodan_backend *f;
	assert_int_equal(fault_backend_wrap(img, &fp, &f), 0);
	struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
	assert_int_equal(wodan_open(f, &ro, &w), 0);
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	assert_int_equal(st.journal_replayed_commits, 5);
	assert_true(holds(w, R.acked));
	wodan_abandon(w);
	assert_int_equal(fault_backend_nops(f), 0);
	wodan_backend_close(f);
	wodan_backend_close(img);
}

int main(void)
{
	seed = tu_seed("test_journal");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_economy),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_ioerr),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
