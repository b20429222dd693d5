/*
 * trim/trim.h -- the trim suite, tests/test_trim (files: main.c, mkfs.c,
 * fstrim.c, live.c, powercut.c) (doc/SPEC.md §11.4, doc/ORIGINAL.md §8
 * and L12).
 *
 * A recording RAM device (tests/support/memdev.h) logs every write,
 * discard and barrier in issue order; it can also make discards or a
 * barrier fail.  Reachability has two oracles independent of
 * the library's space map: block L belongs to the newest durable tree iff
 * zeroing L in a copy of the image makes wodan_check unclean or changes the
 * root it finds (block 0 always belongs); and, cheaper, the blocks reached
 * by following the on-disk child links (doc/SPEC.md §5) from the root a
 * mount finds.  The two are cross-checked.  With them we assert:
 *
 *   mkfs     params.discard gives exactly one discard, of blocks
 *            1..lsize-1, before any write; nothing past the logical size;
 *            no discard op or EOPNOTSUPP is fine, another error fails;
 *   fstrim   discards exactly the complement of the reachable blocks, one
 *            range per maximal run (no two ranges adjacent), counts every
 *            run including one that reaches the end of the device (L12),
 *            flushes first, and the trimmed image (RAM discard zeroes)
 *            mounts, checks clean and holds every key;
 *   live     wodan_live_trim discards exactly the blocks freed by durable
 *            flushes since open (or since the last trim) and not reused,
 *            i.e. (union of the trees since then) minus the current tree,
 *            coalesced; a second call discards nothing; blocks kept by a
 *            flush whose final barrier failed are never discarded; a
 *            failed discard keeps the rest for the next call; runs wrap
 *            the allocator round the device so freed blocks are reused
 *            before a trim (and must then not be discarded);
 *   power    for the sequence (insert, flush, live trim, insert, flush,
 *            fstrim, insert, fstrim-with-flush, live trim) every prefix of
 *            the recorded writes and discards (plus a half-done discard,
 *            and the discards since the last barrier lost) mounts, checks
 *            clean, and holds exactly the state of the newest flush whose
 *            root write is in the prefix (the last durable flush, or the one
 *            in flight once its root is on the device).
 *
 * WODAN_SEED replays a run; WODAN_TRIM_RUNS sets the number of random
 * geometries per test (default 3).
 */
#ifndef WODAN_TEST_TRIM_H
#define WODAN_TEST_TRIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>
#include <cmocka.h>
#include "testutil.h"
#include "kvmodel.h"
#include "memdev.h"
#include "oracle.h"

#define BS 4096u
#define KS 8u

/* ------------------------------------------------------- discard ranges */

struct range {
	uint64_t L, n; /* blocks */
};

/* ------------------------------------------------------------------ model */

/* The key pool and the current snapshot (tests/support/kvmodel.h);
 * values: kv_val with the seed. */
struct model {
	uint64_t rng;
	struct kvpool p;
	struct ent *cur;
	uint32_t next_ver;
};

/* ------------------------------------------------------- live trim tests */

struct lt {
	struct memdev *d;
	wodan_t *w;
	struct model m;
	uint64_t lsize;
	uint8_t *U;      /* union of the durable trees since the last trim */
	uint8_t *R;      /* the current durable tree */
	uint64_t trimmed, calls, failed_flushes, flushes;
	uint64_t reused;  /* freed blocks handed out again before a trim */
};

/* ------------------------------------------------------ power cut tests */

struct pstate {
	size_t root_op;     /* index of the root write in the log */
	uint64_t gen;
	struct ent *snap;
};

struct pc {
	struct memdev *d;
	wodan_t *w;
	struct model m;
	uint64_t lsize;
	struct pstate *st;
	size_t nst;
};

enum { V_PREFIX, V_TORN_DISCARD, V_LOST_DISCARDS, NVARIANTS };

extern uint64_t mkfs_rng; /* fixed_random.h, in main.c */
extern uint64_t seed;
struct memdev *rd_new(uint64_t size);
void rd_free(struct memdev *d);
void rd_fill(struct memdev *d, uint8_t byte);
uint8_t *rd_snapshot(struct memdev *d);
struct wodan_backend *ram_with(const uint8_t *img, uint64_t size);
void reachable(const uint8_t *img, uint64_t size, uint64_t lsize,
		      uint8_t *reach, uint64_t *gen);
void reachable_walk(const uint8_t *img, uint64_t size, uint64_t lsize,
			   uint8_t *reach, uint64_t *gen);
struct range *discards_since(const struct memdev *d, size_t from,
				    size_t *n);
uint64_t check_ranges(const struct range *v, size_t n, uint64_t lsize,
			     const uint8_t *forbid, const uint8_t *expect,
			     const char *what);
void model_init(struct model *m, uint64_t rng, uint32_t want);
void model_free(struct model *m);
void expect_contents(wodan_t *w, const struct model *m,
			    const struct ent *s, const char *what);
int model_op(wodan_t *w, struct model *m, uint32_t max_len);
extern struct wodan_open_opts opts;
void mkfs_on(struct memdev *d, uint64_t lsize, int discard);
void expect_clean(struct wodan_backend *be, uint64_t gen,
			 const char *what);
void test_mkfs_discard(void **state);
void test_fstrim_fresh(void **state);
void test_fstrim_random(void **state);
void test_live_trim(void **state);
void test_powercut_trim(void **state);

#endif
