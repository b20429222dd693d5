/*
 * crash/crash.h -- the crash suite (tests/crash/) (doc/SPEC.md §11.2: power cuts, I/O faults).
 *
 * Every cut runs the library for real on a fault-injection device
 * (tests/support/fault_backend.c) over a RAM image: the step's operations are
 * executed from a mount of the scenario's base image until the device "loses
 * power" at the chosen op (write, discard or barrier); the device then
 * resolves its volatile cache (writes since the last barrier lost, kept,
 * reordered, torn at 512-byte sectors, or garbage) and the image that is
 * left is checked:
 *
 *   - it mounts (mkfs: it mounts iff the superblock reached the device);
 *   - its whole contents (wodan_iterate) equal exactly the model of the
 *     last durable flush, or of the flush in flight -- and which one is
 *     decided by the device: the in-flight flush's state iff its root write
 *     landed whole (so no acknowledged key is ever lost, and a mixture never
 *     passes); the mounted generation is that flush's;
 *   - wodan_check returns 0 with used + free == logical size and the right
 *     number of live keys;
 *   - one more insert, flush, close and reopen work and the image then
 *     holds that state plus the key.
 *
 * Tiers (each prints its number of cut points and checks):
 *   exhaustive  scripted scenarios, 3 variants each (geometry, fanout,
 *               cache size), every op of the step a cut point, each resolved
 *               4-5 ways (lose, keep, torn, random, reorder): mkfs (zeroed
 *               device; garbage device with discard), first insert + flush,
 *               first spill, leaf split, root split (depth 0->1 and 1->2),
 *               wrap of the circular log, tombstone reaching a leaf (each:
 *               the batch showing the event, found by search, plus the next
 *               batch), restore (sorted with NO_AUTOFLUSH + NEEDS_FLUSH, and
 *               random with auto-flush), fstrim and live trim, rollback
 *               recovery (open with WODAN_OPEN_ROLLBACK, which overwrites the
 *               damaged newer roots, then insert + flush);
 *   random      >= 10,000 cuts at random ops of random workloads (small
 *               devices that wrap, depth >= 2, deletes, overwrites, large
 *               values, fstrim, live trim, nearly full devices, auto-flush)
 *               and of the scripted steps, resolved with reordering, torn
 *               sectors and garbage sectors;
 *   double      >= 1,000 double faults: a random cut, mount (state checked),
 *               then inserts/deletes + flush on the recovered image cut
 *               again, then the full check;
 *   ioerr       every write/barrier of the scripted steps failing once with
 *               EIO (a failed write lands as nothing, torn or garbage): the
 *               step retries, and the final image holds exactly the model;
 *               random write/barrier EIO over workload steps; read EIO and
 *               transient bit flips under lookups and iterations (never
 *               wrong data); one transient flip of the newest root while
 *               mount searches for it.
 *
 * Library bugs this suite found: B1 a failed write left a stale root
 * candidate in the ring and the root search missed the acknowledged root;
 * B2 the root search did not re-read a candidate with a bad CRC; B3 failed
 * flush attempts held their blocks until a flush succeeded, so a small
 * device ended in OUT_OF_SPACE for good.  B1-B3 are fixed (lib/flush.c,
 * lib/mount.c) and count as failures.  B4: a torn rewrite of the block
 * holding the torn root of a crashed flush could complete that root (double
 * faults, about 1 in 24,000); fixed (lib/flush.c, wd_flush_prepare: before
 * its first write a writable handle zeroes what the interrupted writer left
 * torn and continues generations above it), built exactly by
 * test_b4_torn_rewrite, and
 * recognised in the double tier by its signature (the mount finds the first
 * cut's root at its block), which counts as a failure like any other.
 *
 * Replay: every failure prints an id -- "crash:SEED:SCENARIO:CUT:MODE:RSEED"
 * (one cut), "dcrash:SEED:SCENARIO:CUT:RSEED:STEP2SEED:CUT2:RSEED2" (double
 * fault), "ioerr:SEED:SCENARIO:OP" or "ioerr:SEED:SCENARIO:rates:PSEED" (I/O
 * errors) -- and WODAN_CRASH_REPLAY=<id> runs exactly that one, verbosely
 * (op log with the fate of every write).
 * WODAN_SEED sets the seed (printed).  WODAN_CRASH_RANDOM,
 * WODAN_CRASH_DOUBLE and WODAN_CRASH_IOERR set the tier sizes (defaults
 * 20000, 2000, 300); WODAN_CRASH_SOAK=N runs only N cuts of the random and
 * double tiers (`make soak`), with fresh workloads every 20,000 cuts, and
 * prints the count and the replay id of every failure; WODAN_CRASH_TEST=NAME
 * runs only the tests matching NAME.
 *
 * Files: main.c (entry, globals), step.c (running a step on the fault
 * device, its trace), verify.c (what a cut must leave and its checks),
 * scenarios.c (the scripted scenarios, a table), workload.c (random
 * workloads), tiers.c (exhaustive, random, double), ioerr.c (I/O errors),
 * replay.c (soak, replay by id), regress.c (B4 built exactly, huge root
 * generations).
 */
#ifndef WODAN_TEST_CRASH_H
#define WODAN_TEST_CRASH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include "testutil.h"
#include "fault_backend.h"
#include "oracle.h"
#include "memdev.h"
#include "kvmodel.h"
#include "cutcheck.h"

#define BS 4096u
#define KS 8u
#define NPOOL 1024u

/* the seed (printed), verbosity (replay), failures printed at most */
extern uint64_t seed;
extern int verbose;
extern uint64_t max_print;
/* the torn root the last first cut of a double fault left (bug B4), and
 * how often the double tier saw B4 */
extern uint64_t last_ghost_root, last_ghost_gen, b4_seen;
/* mkfs's getrandom stream (fixed_random.h, in main.c) */
extern uint64_t mkfs_rng;
/* the key pool: NPOOL indexed keys of KS bytes */
extern struct kvpool pool;
/* replay ids of the failures (soak summary) */
extern char fail_ids[64][200];
extern unsigned nfail_ids;

static inline void mkkey(uint32_t i, uint8_t *k)
{
	memcpy(k, kv_key(&pool, i), KS);
}

static inline void gen_val(uint32_t k, uint32_t ver, uint32_t len,
			   uint8_t *out)
{
	kv_val(&pool, k, ver, len, out);
}

enum { OP_INS, OP_DEL, OP_FLUSH, OP_FSTRIM, OP_LTRIM, OP_MKFS };

struct op {
	uint8_t t;
	uint32_t k, ver, len;
};

struct opv {
	struct op *v;
	size_t n, cap;
};

static inline void opv_push(struct opv *o, uint8_t t, uint32_t k, uint32_t ver,
		     uint32_t len)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->v = realloc(o->v, o->cap * sizeof *o->v);
		assert_non_null(o->v);
	}
	o->v[o->n++] = (struct op){ t, k, ver, len };
}

static inline void opv_cat(struct opv *o, const struct opv *a)
{
	for (size_t i = 0; i < a->n; i++)
		opv_push(o, a->v[i].t, a->v[i].k, a->v[i].ver, a->v[i].len);
}

/* A step: the base image and model, and the ops run from a mount of it. */
struct scen {
	char name[48];
	uint64_t lsize;
	struct wodan_open_opts oo;   /* open options of the step */
	unsigned vflags;             /* extra open flags when verifying */
	uint64_t damaged_block;      /* rollback: block damaged in the base */
	/* second step of a double fault: the root the first cut left torn
	 * on the device (the signature of bug B4) */
	uint64_t ghost_root, ghost_gen;
	struct wodan_mkfs_params mp;
	uint64_t mkfs_seed;
	const uint8_t *base;         /* image before the step */
	const struct ent *base_snap; /* NULL: not formatted */
	uint64_t base_gen;
	struct opv ops;
};

struct flushrec {
	uint64_t op_begin, root_op, bar_op, gen;
	struct ent *snap;
};

struct trace {
	struct flushrec *fl;
	size_t nfl, cap;
	uint64_t nops;       /* fault ops issued */
	uint8_t *optype;     /* per op: 0 write 1 sector, 1 write several,
			      * 2 discard, 3 barrier */
	int err;
	size_t err_at;       /* script index of the failed op */
	struct ent *model;   /* after the last op, or when it failed */
	struct wodan_info info;
	struct wodan_stats st;
	uint64_t oos;
};

struct expect {
	const struct ent *snap; /* NULL: must not mount (never formatted) */
	uint64_t gen;
	const char *what;
};

struct tally {
	uint64_t points, checks, old, newer, unformatted, failures;
	uint64_t t0;
};

enum kind {
	K_MKFS_ZERO, K_MKFS_GARBAGE, K_FIRST_FLUSH, K_FIRST_SPILL, K_LEAF_SPLIT,
	K_ROOT_SPLIT, K_ROOT_SPLIT2, K_WRAP, K_TOMBSTONE, K_RESTORE_SORTED,
	K_RESTORE_AUTO, K_FSTRIM, K_ROLLBACK, K_NKINDS
};

struct built {
	struct scen sc;
	uint8_t *base;
	struct ent *base_snap;
	struct trace ref;
};


struct workload {
	char tag[16];
	uint64_t lsize;
	struct wodan_open_opts oo;
	struct wodan_mkfs_params mp;
	size_t nb;
	uint8_t **img;        /* image before batch b */
	struct ent **snap;    /* model before batch b */
	uint64_t *gen;
	struct opv *batch;
	struct trace *ref[3]; /* lazily: reference of batches b..b+n */
	uint32_t depth, wraps;
	uint64_t writes;
};

#define NWORK 3
#define NVAR 3

extern const char *const kind_name[K_NKINDS];
extern struct built scripted[K_NKINDS * NVAR];
extern struct workload works[NWORK];
extern const char mode_ch[FAULT_CUT_NMODES];

void trace_free(struct trace *t);
void record_flush(struct trace *tr, struct wodan_backend *fb,
			 uint64_t ob, uint64_t gen, uint64_t root_off);
void note_flush(wodan_t *w, struct wodan_backend *fb, uint64_t ob,
		       struct trace *tr, uint64_t *seen);
void run_step(const struct scen *sc, struct wodan_backend *fb,
		     struct trace *tr, int io_retry);
struct wodan_backend *run_on(const struct scen *sc, uint8_t *img,
				    struct memdev *md,
				    const struct fault_params *p,
				    struct trace *tr, int io_retry);
void reference(const struct scen *sc, struct trace *R);
void print_fail(struct tally *T, const char *id, const char *fmt, ...);
int verify(const struct scen *sc, uint8_t *img, const struct expect *want,
		  const struct expect *other, uint64_t vseed, int full,
		  struct tally *T, const char *id);
void expect_for_cut(const struct scen *sc, const struct trace *R,
			   const struct trace *T, struct wodan_backend *fb,
			   uint64_t e, struct expect *want,
			   struct expect *other, int *has_other);
void dump_ops(struct wodan_backend *fb, const struct trace *tr);
int one_cut(const struct scen *sc, const struct trace *R, uint64_t e,
		   int mode, uint64_t rs, int full, struct tally *T,
		   uint8_t *img, struct ent **out_snap, uint64_t *out_gen,
		   const char *id_prefix);
void build_scripted(enum kind kd, int var, uint64_t sseed,
			   struct built *B);
void workload_free(struct workload *W);
void scen_of(const struct workload *W, size_t b, size_t n,
		    struct scen *sc);
void build_workload(uint64_t wseed, const char *tag,
			   struct workload *W);
const struct trace *workload_ref(struct workload *W, size_t b,
					size_t n, struct scen *sc);
void ensure_scripted(void);
void ensure_works(void);
void tally_print(const char *tier, const struct tally *T);
void test_exhaustive(void **state);
int random_cut(uint64_t *rng, struct workload *ws, int nws,
		      struct tally *T, uint8_t *img, int dbl, uint64_t *d2);
void test_random(void **state);
void test_double(void **state);
int ioerr_run(const struct scen *sc, const struct fault_params *p,
		     struct tally *T, const char *id, uint8_t *img);
void test_ioerr(void **state);
int soak(uint64_t n);
int replay(const char *id);
void test_b4_torn_rewrite(void **state);
void test_check_huge_root_generation(void **state);

int mode_of(char c);
void second_step(const struct scen *sc, const uint8_t *img,
		 const struct ent *snap1, uint64_t gen1, uint64_t r2,
		 struct scen *s2, uint8_t **base2);
uint64_t max_lsize(void);

#endif
