/*
 * test_crash.c -- the crash suite (doc/SPEC.md §11.2: power cuts, I/O faults).
 *
 * Every cut runs the library for real on a fault-injection device
 * (tests/fault_backend.c) over a RAM image: the step's operations are
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
 * prints the count and the replay id of every failure.
 */
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
#include "fixed_random.h"
#include "fault_backend.h"
#include "crc.h" /* wd_crc_seal: crafted images */

#define BS 4096u
#define KS 8u
#define NPOOL 1024u

static uint64_t seed;
static int verbose;
static uint64_t last_ghost_root, last_ghost_gen, b4_seen;
static uint64_t max_print = 20;

/* deterministic mkfs (fsid, first block): fixed_random.h */

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull);
	tu_splitmix(&s);
	return tu_splitmix(&s);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* --------------------------------------------------------- RAM device */

struct memdev {
	struct wodan_backend be;
	uint8_t *mem;
};

static int md_read(struct wodan_backend *be, uint64_t off, void *buf,
		   size_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memcpy(buf, ((struct memdev *)be)->mem + off, len);
	return 0;
}

static int md_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memcpy(((struct memdev *)be)->mem + off, buf, len);
	return 0;
}

static int md_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memset(((struct memdev *)be)->mem + off, 0, len);
	return 0;
}

static void md_init(struct memdev *d, uint8_t *mem, uint64_t size)
{
	memset(d, 0, sizeof *d);
	d->be.abi_version = WODAN_BACKEND_ABI_VERSION;
	d->be.name = "crash-ram";
	d->be.ctx = d;
	d->be.size_bytes = size;
	d->be.io_size_bytes = 512;
	d->be.phys_sector_bytes = 512;
	d->be.read = md_read;
	d->be.write = md_write;
	d->be.discard = md_discard;
	d->be.barrier = NULL;
	d->mem = mem;
}

/* ------------------------------------------------ keys, values, models */

/* Pool key i: ascending in i; 0 is the all-zero key, NPOOL-1 all-0xFF. */
static void mkkey(uint32_t i, uint8_t *k)
{
	uint64_t x;
	if (i == 0)
		x = 0;
	else if (i == NPOOL - 1)
		x = UINT64_MAX;
	else
		x = ((uint64_t)i << 32) | (uint32_t)mix(i, 77);
	for (int b = 0; b < 8; b++)
		k[b] = (uint8_t)(x >> (56 - 8 * b));
}

static void gen_val(uint32_t k, uint32_t ver, uint32_t len, uint8_t *out)
{
	uint64_t s = ((uint64_t)k * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)ver << 32) ^ 0xc0ffee;
	for (uint32_t b = 0; b < len; b += 8) {
		uint64_t x = tu_splitmix(&s);
		uint32_t n = len - b < 8 ? len - b : 8;
		memcpy(out + b, &x, n);
	}
}

struct ent {
	uint32_t ver; /* 0: absent */
	uint32_t len;
};

static struct ent *snap_new(void)
{
	struct ent *s = calloc(NPOOL, sizeof *s);
	assert_non_null(s);
	return s;
}

static struct ent *snap_dup(const struct ent *e)
{
	struct ent *s = malloc(NPOOL * sizeof *s);
	assert_non_null(s);
	memcpy(s, e, NPOOL * sizeof *s);
	return s;
}

static uint64_t snap_live(const struct ent *e)
{
	uint64_t c = 0;
	for (uint32_t i = 0; i < NPOOL; i++)
		c += e[i].ver != 0;
	return c;
}

struct cmpctx {
	const struct ent *s;
	uint32_t next;
	int bad;
	char why[240];
	uint8_t vbuf[4096];
};

static int cmp_cb(void *arg, const uint8_t *key, const uint8_t *val,
		  size_t len)
{
	struct cmpctx *c = arg;
	uint64_t x = 0;
	for (int b = 0; b < 8; b++)
		x = (x << 8) | key[b];
	uint32_t i = x == UINT64_MAX ? NPOOL - 1 : (uint32_t)(x >> 32);
	uint8_t k[KS];
	if (i < NPOOL)
		mkkey(i, k);
	if (i >= NPOOL || memcmp(k, key, KS)) {
		snprintf(c->why, sizeof c->why, "foreign key %016llx",
			 (unsigned long long)x);
		c->bad = 1;
		return 1;
	}
	if (i < c->next) {
		snprintf(c->why, sizeof c->why, "key %u out of order", i);
		c->bad = 1;
		return 1;
	}
	for (uint32_t j = c->next; j < i; j++)
		if (c->s[j].ver) {
			snprintf(c->why, sizeof c->why, "key %u missing", j);
			c->bad = 1;
			return 1;
		}
	const struct ent *e = &c->s[i];
	if (!e->ver) {
		snprintf(c->why, sizeof c->why, "key %u present, model has "
			 "none (deleted or never written)", i);
		c->bad = 1;
		return 1;
	}
	if (len != e->len) {
		snprintf(c->why, sizeof c->why, "key %u: value length %zu, "
			 "model %u", i, len, e->len);
		c->bad = 1;
		return 1;
	}
	gen_val(i, e->ver, e->len, c->vbuf);
	if (memcmp(val, c->vbuf, len)) {
		snprintf(c->why, sizeof c->why, "key %u: value bytes differ", i);
		c->bad = 1;
		return 1;
	}
	c->next = i + 1;
	return 0;
}

/* 0 when the whole contents of w equal s, else 1 with a reason. */
static int state_equal(wodan_t *w, const struct ent *s, char *why,
		       size_t wl)
{
	static struct cmpctx c;
	c.s = s;
	c.next = 0;
	c.bad = 0;
	c.why[0] = 0;
	int r = wodan_iterate(w, NULL, NULL, cmp_cb, &c);
	if (!c.bad && r) {
		snprintf(c.why, sizeof c.why, "iterate: %.40s: %.180s",
			 wodan_strerror(r), wodan_last_error()->message);
		c.bad = 1;
	}
	for (uint32_t j = c.next; !c.bad && j < NPOOL; j++)
		if (s[j].ver) {
			snprintf(c.why, sizeof c.why, "key %u missing", j);
			c.bad = 1;
		}
	if (why)
		snprintf(why, wl, "%s", c.why);
	return c.bad;
}

/* -------------------------------------------------------------- scripts */

enum { OP_INS, OP_DEL, OP_FLUSH, OP_FSTRIM, OP_LTRIM, OP_MKFS };

struct op {
	uint8_t t;
	uint32_t k, ver, len;
};

struct opv {
	struct op *v;
	size_t n, cap;
};

static void opv_push(struct opv *o, uint8_t t, uint32_t k, uint32_t ver,
		     uint32_t len)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->v = realloc(o->v, o->cap * sizeof *o->v);
		assert_non_null(o->v);
	}
	o->v[o->n++] = (struct op){ t, k, ver, len };
}

static void opv_cat(struct opv *o, const struct opv *a)
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

static void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nfl; i++)
		free(t->fl[i].snap);
	free(t->fl);
	free(t->optype);
	free(t->model);
	memset(t, 0, sizeof *t);
}

static void record_flush(struct trace *tr, struct wodan_backend *fb,
			 uint64_t ob, uint64_t gen, uint64_t root_off)
{
	if (tr->nfl == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 16;
		tr->fl = realloc(tr->fl, tr->cap * sizeof *tr->fl);
		assert_non_null(tr->fl);
	}
	struct flushrec *f = &tr->fl[tr->nfl++];
	uint64_t n = fault_backend_nops(fb);
	f->op_begin = ob;
	f->gen = gen;
	f->root_op = UINT64_MAX;
	f->bar_op = UINT64_MAX;
	for (uint64_t i = n; i-- > ob;) {
		const struct fault_op *o = fault_backend_op(fb, i);
		if (o->type == FAULT_OP_WRITE && o->off_bytes == root_off &&
		    !o->failed) {
			f->root_op = i;
			break;
		}
	}
	for (uint64_t i = f->root_op + 1; f->root_op != UINT64_MAX && i < n;
	     i++) {
		const struct fault_op *o = fault_backend_op(fb, i);
		if (o->type == FAULT_OP_BARRIER && !o->failed) {
			f->bar_op = i;
			break;
		}
	}
	f->snap = snap_dup(tr->model);
}

/* After a library call: record a flush if one completed in it. */
static void note_flush(wodan_t *w, struct wodan_backend *fb, uint64_t ob,
		       struct trace *tr, uint64_t *seen)
{
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	if (st.flushes == *seen)
		return;
	*seen = st.flushes;
	struct wodan_info in;
	wodan_get_info(w, &in);
	record_flush(tr, fb, ob, in.generation, in.root_block * BS);
}

/* debugging aid: a build with -DSTEP_HOOK=fn can look inside the handle
 * after every library call of a step */
#ifndef STEP_HOOK
#define STEP_HOOK(w, i, r) ((void)0)
#endif

static int is_io_err(int r)
{
	return r == WODAN_E_IO_READ || r == WODAN_E_IO_WRITE ||
	       r == WODAN_E_IO_BARRIER || r == WODAN_E_IO_DISCARD ||
	       r == WODAN_E_BAD_CRC;
}

/*
 * Run sc's step on fb (which wraps a copy of sc->base).  Stops at the first
 * error (a cut kills the device), except: NEEDS_FLUSH -> flush and retry;
 * OUT_OF_SPACE -> the op is skipped (nothing changed); an I/O error is
 * retried up to io_retry times per op.
 */
static void run_step(const struct scen *sc, struct wodan_backend *fb,
		     struct trace *tr, int io_retry)
{
	memset(tr, 0, sizeof *tr);
	tr->model = sc->base_snap ? snap_dup(sc->base_snap) : snap_new();
	wodan_t *w = NULL;
	uint64_t seen = 0;
	size_t i = 0;
	int r = 0;
	uint8_t *val = malloc(65536);
	if (sc->ops.n && sc->ops.v[0].t == OP_MKFS) {
		for (int t = 0;; t++) {
			uint64_t ob = fault_backend_nops(fb);
			mkfs_rng = sc->mkfs_seed;
			r = wodan_mkfs(fb, &sc->mp, NULL);
			if (!r) {
				memset(tr->model, 0, NPOOL * sizeof *tr->model);
				record_flush(tr, fb, ob, 1, 0);
				break;
			}
			if (t >= io_retry)
				goto fail;
		}
		i = 1;
	}
	for (int t = 0;; t++) {
		r = wodan_open(fb, &sc->oo, &w);
		if (!r || !is_io_err(r) || t >= io_retry)
			break;
	}
	if (r)
		goto fail;
	for (; i < sc->ops.n; i++) {
		const struct op *o = &sc->ops.v[i];
		uint8_t key[KS];
		mkkey(o->k, key);
		if (o->t == OP_INS)
			gen_val(o->k, o->ver, o->len, val);
		for (int t = 0;; t++) {
			uint64_t ob = fault_backend_nops(fb);
			switch (o->t) {
			case OP_INS:
				r = wodan_insert(w, key, KS, val, o->len);
				break;
			case OP_DEL:
				r = wodan_delete(w, key, KS);
				break;
			case OP_FLUSH:
				r = wodan_flush(w, NULL);
				break;
			case OP_FSTRIM:
				r = wodan_fstrim(w, NULL);
				break;
			case OP_LTRIM:
				r = wodan_live_trim(w, NULL);
				if (r == WODAN_E_NOT_SUPPORTED)
					r = 0;
				break;
			default:
				r = WODAN_E_INVAL;
			}
			note_flush(w, fb, ob, tr, &seen);
			STEP_HOOK(w, i, r);
			if (r == WODAN_E_NEEDS_FLUSH && t < 6 + io_retry) {
				ob = fault_backend_nops(fb);
				int r2 = wodan_flush(w, NULL);
				note_flush(w, fb, ob, tr, &seen);
				if (!r2 || (t < io_retry && is_io_err(r2)))
					continue;
				r = r2;
			}
			if (r && is_io_err(r) && t < io_retry)
				continue;
			break;
		}
		if (r == WODAN_E_OUT_OF_SPACE && (o->t == OP_INS ||
						  o->t == OP_DEL)) {
			tr->oos++;
			r = 0;
			continue;
		}
		if (r) {
			tr->err_at = i;
			goto fail;
		}
		if (o->t == OP_INS) {
			tr->model[o->k].ver = o->ver;
			tr->model[o->k].len = o->len;
		} else if (o->t == OP_DEL) {
			tr->model[o->k].ver = 0;
			tr->model[o->k].len = 0;
		}
	}
	wodan_get_info(w, &tr->info);
	wodan_get_stats(w, &tr->st);
	r = 0;
fail:
	tr->err = r;
	if (w && r)
		wodan_get_info(w, &tr->info);
	wodan_abandon(w);
	free(val);
	tr->nops = fault_backend_nops(fb);
	tr->optype = malloc(tr->nops + 1);
	for (uint64_t k = 0; k < tr->nops; k++) {
		const struct fault_op *o = fault_backend_op(fb, k);
		tr->optype[k] = o->type == FAULT_OP_BARRIER ? 3
				: o->type == FAULT_OP_DISCARD ? 2
				: o->nsectors > 1 ? 1 : 0;
	}
}

/* Run the step on a copy of the base (in img) through a fault device with
 * parameters p; fb stays open for the caller (close it). */
static struct wodan_backend *run_on(const struct scen *sc, uint8_t *img,
				    struct memdev *md,
				    const struct fault_params *p,
				    struct trace *tr, int io_retry)
{
	uint64_t size = sc->lsize * BS;
	memcpy(img, sc->base, size);
	md_init(md, img, size);
	struct wodan_backend *fb;
	assert_int_equal(fault_backend_wrap(&md->be, p, &fb), 0);
	run_step(sc, fb, tr, io_retry);
	return fb;
}

/* ------------------------------------------------------------- verify */

struct expect {
	const struct ent *snap; /* NULL: must not mount (never formatted) */
	uint64_t gen;
	const char *what;
};

struct tally {
	uint64_t points, checks, old, newer, unformatted, failures;
	uint64_t t0;
};

/* replay ids of the failures (soak summary) */
static char fail_ids[64][200];
static unsigned nfail_ids;

static void print_fail(struct tally *T, const char *id, const char *fmt, ...)
{
	T->failures++;
	if (nfail_ids < 64)
		snprintf(fail_ids[nfail_ids++], sizeof fail_ids[0], "%s", id);
	if (T->failures > max_print && !verbose)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("# FAIL %s: %s\n", id, msg);
	fflush(stdout);
}

/*
 * Check the image img of scenario sc after a cut.  want: the state that
 * must be found; other: the other candidate (for the message), may be NULL.
 * fresh_k/fresh_ver: the key written by the "life goes on" insert.
 * Returns 0 or 1 (failure printed with id).
 */
static int verify(const struct scen *sc, uint8_t *img, const struct expect *want,
		  const struct expect *other, uint64_t vseed, int full,
		  struct tally *T, const char *id)
{
	struct memdev d;
	uint64_t size = sc->lsize * BS;
	md_init(&d, img, size);
	T->checks++;
	struct wodan_open_opts o = { .flags = sc->vflags,
				     .cache_bytes = 16 * BS };
	wodan_t *w = NULL;
	char why[300];
	int r = wodan_open(&d.be, &o, &w);
	if (!want->snap) {
		if (!r) {
			wodan_abandon(w);
			print_fail(T, id, "mounted although the superblock write "
				   "did not land (%s)", want->what);
			return 1;
		}
		T->unformatted++;
		return 0;
	}
	if (r) {
		print_fail(T, id, "mount failed: %s: %s (block %llu); expected "
			   "%s gen %llu", wodan_strerror(r),
			   wodan_last_error()->message,
			   (unsigned long long)wodan_last_error()->block,
			   want->what, (unsigned long long)want->gen);
		return 1;
	}
	struct wodan_info info;
	wodan_get_info(w, &info);
	int bad = state_equal(w, want->snap, why, sizeof why);
	if ((bad || info.generation != want->gen) &&
	    sc->ghost_root && info.root_block == sc->ghost_root &&
	    info.generation == sc->ghost_gen) {
		/*
		 * Bug B4 (fixed, lib/flush.c wd_flush_prepare): the first cut
		 * left the root of its flush torn at block X; after the
		 * mount, the next flush put its root at X again with the same
		 * generation; the second cut tore that write too, and the
		 * sectors of the two writes together formed the first root
		 * again: a state that was never acknowledged came back, and
		 * its tree may reference blocks reused since.
		 */
		b4_seen++;
		print_fail(T, id, "B4: a torn rewrite of block %llu completed "
			   "the torn root (gen %llu) of the first cut",
			   (unsigned long long)sc->ghost_root,
			   (unsigned long long)sc->ghost_gen);
		wodan_abandon(w);
		return 1;
	}
	if (bad || info.generation != want->gen) {
		int eq_other = other && other->snap &&
			       !state_equal(w, other->snap, NULL, 0);
		print_fail(T, id, "%s: mounted gen %llu root %llu, expected %s "
			   "gen %llu (%s)%s%s",
			   bad ? (eq_other ? "wrong candidate" : "state is no "
				  "candidate (mixture or loss)")
			       : "wrong generation",
			   (unsigned long long)info.generation,
			   (unsigned long long)info.root_block, want->what,
			   (unsigned long long)want->gen, bad ? why : "same "
			   "contents", eq_other ? "; contents equal the " : "",
			   eq_other ? other->what : "");
		wodan_abandon(w);
		return 1;
	}
	wodan_abandon(w);
	struct wodan_check_report rep;
	r = wodan_check(&d.be, 0, &rep, NULL, NULL);
	int check_ok = r == 0;
	if (r == 1 && sc->damaged_block && rep.n_problems &&
	    rep.n_intact_older && rep.intact_older_generations[0] == want->gen) {
		/* rollback scenario: the damaged newer root may still be on
		 * the device (its overwrite did not land): check reports it
		 * and names our state as the newest intact one */
		check_ok = 1;
		for (uint32_t i = 0; i < rep.n_problems; i++)
			if (rep.problems[i].block != sc->damaged_block)
				check_ok = 0;
	} else if (r == 0 &&
		   (rep.used_blocks + rep.free_blocks != rep.logical_size_blocks ||
		    rep.live_keys != snap_live(want->snap) ||
		    rep.generation != want->gen)) {
		print_fail(T, id, "check: used %llu + free %llu vs %llu blocks, "
			   "%llu live keys (model %llu), gen %llu (want %llu)",
			   (unsigned long long)rep.used_blocks,
			   (unsigned long long)rep.free_blocks,
			   (unsigned long long)rep.logical_size_blocks,
			   (unsigned long long)rep.live_keys,
			   (unsigned long long)snap_live(want->snap),
			   (unsigned long long)rep.generation,
			   (unsigned long long)want->gen);
		wodan_check_report_free(&rep);
		return 1;
	}
	if (!check_ok) {
		print_fail(T, id, "check returned %d: %u problems, first: block "
			   "%llu: %s", r, rep.n_problems,
			   rep.n_problems ? (unsigned long long)rep.problems[0].block
					  : 0ull,
			   rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return 1;
	}
	wodan_check_report_free(&rep);

	/* life goes on: insert, flush, close, reopen */
	uint32_t k = (uint32_t)tu_below(&vseed, NPOOL);
	uint32_t len = 1 + (uint32_t)tu_below(&vseed, 200);
	uint32_t ver = 0xf0000000u | (uint32_t)tu_below(&vseed, 1u << 27);
	uint8_t key[KS], val[256];
	mkkey(k, key);
	gen_val(k, ver, len, val);
	r = wodan_open(&d.be, &o, &w);
	if (r) {
		print_fail(T, id, "second mount failed: %s: %s",
			   wodan_strerror(r), wodan_last_error()->message);
		return 1;
	}
	int full_dev = 0;
	r = wodan_insert(w, key, KS, val, len);
	if (r == WODAN_E_NEEDS_FLUSH) {
		r = wodan_flush(w, NULL);
		if (!r)
			r = wodan_insert(w, key, KS, val, len);
	}
	if (r == WODAN_E_OUT_OF_SPACE) {
		full_dev = 1;
		r = 0;
	}
	if (!r)
		r = wodan_flush(w, NULL);
	int rc = wodan_close(w);
	if (r || rc) {
		print_fail(T, id, "insert/flush/close after the cut: %s / %s: %s",
			   wodan_strerror(r), wodan_strerror(rc),
			   wodan_last_error()->message);
		return 1;
	}
	r = wodan_open(&d.be, &o, &w);
	if (r) {
		print_fail(T, id, "reopen after the insert failed: %s: %s",
			   wodan_strerror(r), wodan_last_error()->message);
		return 1;
	}
	struct ent *s = snap_dup(want->snap);
	if (!full_dev) {
		s[k].ver = ver;
		s[k].len = len;
	}
	bad = state_equal(w, s, why, sizeof why);
	free(s);
	wodan_abandon(w);
	if (bad) {
		print_fail(T, id, "after insert+flush+reopen: %s", why);
		return 1;
	}
	if (full) {
		r = wodan_check(&d.be, 0, &rep, NULL, NULL);
		if (r) {
			print_fail(T, id, "check after insert+flush returned %d: "
				   "%s", r, rep.n_problems ? rep.problems[0].what
							   : "-");
			wodan_check_report_free(&rep);
			return 1;
		}
		wodan_check_report_free(&rep);
	}
	return 0;
}

/*
 * Work out what the image must hold after a cut at op e: A = the newest
 * flush whose final barrier completed before e (or the base), B = the flush
 * in flight at e (if it had started): B iff its root write landed whole.
 */
static void expect_for_cut(const struct scen *sc, const struct trace *R,
			   const struct trace *T, struct wodan_backend *fb,
			   uint64_t e, struct expect *want,
			   struct expect *other, int *has_other)
{
	size_t k = 0;
	while (k < R->nfl && R->fl[k].bar_op < e)
		k++;
	struct expect A;
	if (k == 0) {
		A.snap = sc->base_snap;
		A.gen = sc->base_gen;
		A.what = sc->base_snap ? "the base state" : "unformatted";
	} else {
		assert_true(T->nfl >= k);
		A.snap = T->fl[k - 1].snap;
		A.gen = T->fl[k - 1].gen;
		A.what = "the last durable flush";
	}
	*has_other = 0;
	*want = A;
	if (k < R->nfl && R->fl[k].op_begin <= e) {
		struct expect B = { T->model, R->fl[k].gen, "the flush in flight" };
		uint64_t ro = R->fl[k].root_op;
		int root_in = 0;
		if (ro <= e) {
			const struct fault_op *o = fault_backend_op(fb, ro);
			if (o && o->state == FAULT_ST_CUT)
				root_in = o->intact_sectors == o->nsectors;
			else if (o && o->state == FAULT_ST_DURABLE)
				root_in = 1;
		}
		*has_other = 1;
		*want = root_in ? B : A;
		*other = root_in ? A : B;
		if (ro <= e && T->err == 0)
			fail_msg("internal: in-flight flush but the run did not "
				 "fail (%s, cut %llu)", sc->name,
				 (unsigned long long)e);
	}
}

static void dump_ops(struct wodan_backend *fb, const struct trace *tr)
{
	for (size_t i = 0; i < tr->nfl; i++)
		printf("#   flush %zu: ops %llu.., root write op %llu, final "
		       "barrier op %llu, gen %llu\n", i,
		       (unsigned long long)tr->fl[i].op_begin,
		       (unsigned long long)tr->fl[i].root_op,
		       (unsigned long long)tr->fl[i].bar_op,
		       (unsigned long long)tr->fl[i].gen);
	for (uint64_t i = 0; i < tr->nops; i++) {
		const struct fault_op *o = fault_backend_op(fb, i);
		printf("#   op %llu: %s block %llu len %llu epoch %llu "
		       "state %d%s%s intact %u/%u garbage %u\n",
		       (unsigned long long)i,
		       o->type == FAULT_OP_WRITE ? "write"
		       : o->type == FAULT_OP_DISCARD ? "discard"
						     : "barrier",
		       (unsigned long long)o->off_bytes / BS,
		       (unsigned long long)o->len_bytes,
		       (unsigned long long)o->epoch, o->state,
		       o->in_flight ? " in-flight" : "",
		       o->failed ? " failed" : "", o->intact_sectors,
		       o->nsectors, o->garbage_sectors);
	}
	fflush(stdout);
}

static const char mode_ch[FAULT_CUT_NMODES] = { 'L', 'K', 'T', 'R', 'O' };

static int mode_of(char c)
{
	for (int i = 0; i < FAULT_CUT_NMODES; i++)
		if (mode_ch[i] == c)
			return i;
	return -1;
}

/*
 * One cut of scenario sc (reference trace R) at op e, resolved with mode
 * and resolution seed rs.  When out_img/out_want are given (double
 * faults), only the mount + state check is done and the image and the
 * expected state are handed back (out_want->snap owned by the caller).
 */
static int one_cut(const struct scen *sc, const struct trace *R, uint64_t e,
		   int mode, uint64_t rs, int full, struct tally *T,
		   uint8_t *img, struct ent **out_snap, uint64_t *out_gen,
		   const char *id_prefix)
{
	struct fault_params p;
	fault_params_init(&p, rs);
	p.cut_at = e;
	p.cut_mode = (enum fault_cut_mode)mode;
	struct memdev md;
	struct trace tr;
	struct wodan_backend *fb = run_on(sc, img, &md, &p, &tr, 0);
	if (!fault_backend_dead(fb))
		fault_backend_cut_now(fb, (enum fault_cut_mode)mode);
	struct expect want, other;
	int has_other;
	expect_for_cut(sc, R, &tr, fb, e, &want, &other, &has_other);
	char id[200];
	snprintf(id, sizeof id, "%scrash:%llu:%s:%llu:%c:%llu",
		 id_prefix ? id_prefix : "", (unsigned long long)seed,
		 sc->name, (unsigned long long)e, mode_ch[mode],
		 (unsigned long long)rs);
	if (verbose) {
		printf("# %s: %llu ops in the reference run, %zu flushes; cut "
		       "run: %llu ops, error %s after script op %zu; expect %s "
		       "gen %llu\n", id, (unsigned long long)R->nops, R->nfl,
		       (unsigned long long)tr.nops, wodan_strerror(tr.err),
		       tr.err_at, want.what, (unsigned long long)want.gen);
		dump_ops(fb, &tr);
	}
	last_ghost_root = last_ghost_gen = 0;
	if (out_snap) {
		/* the in-flight root, if it was written but did not land */
		size_t k = 0;
		while (k < R->nfl && R->fl[k].bar_op < e)
			k++;
		if (k < R->nfl && R->fl[k].op_begin <= e &&
		    R->fl[k].root_op <= e && R->fl[k].root_op < tr.nops) {
			const struct fault_op *o = fault_backend_op(fb,
								 R->fl[k].root_op);
			if (o->intact_sectors != o->nsectors) {
				last_ghost_root = o->off_bytes / BS;
				last_ghost_gen = R->fl[k].gen;
			}
		}
	}
	wodan_backend_close(fb);
	int f;
	if (out_snap) {
		/* first fault of a double: mount and state only */
		struct memdev d;
		md_init(&d, img, sc->lsize * BS);
		struct wodan_open_opts o = { .flags = sc->vflags };
		wodan_t *w = NULL;
		char why[300];
		T->checks++;
		int r = want.snap ? wodan_open(&d.be, &o, &w) : -1;
		struct wodan_info info = { 0 };
		if (w)
			wodan_get_info(w, &info);
		f = !want.snap || r ||
		    state_equal(w, want.snap, why, sizeof why) ||
		    info.generation != want.gen;
		if (f && want.snap)
			print_fail(T, id, "first cut of a double fault: mount %s, "
				   "gen %llu (want %s gen %llu)",
				   r ? wodan_strerror(r) : why,
				   (unsigned long long)info.generation, want.what,
				   (unsigned long long)want.gen);
		wodan_abandon(w);
		if (!f) {
			*out_snap = snap_dup(want.snap);
			*out_gen = want.gen;
		}
		trace_free(&tr);
		return f ? (want.snap ? 1 : 2) : 0;
	}
	f = verify(sc, img, &want, has_other ? &other : NULL,
		   mix(rs, e), full, T, id);
	if (!f) {
		if (!want.snap)
			;
		else if (has_other && want.snap == tr.model)
			T->newer++;
		else
			T->old++;
	}
	trace_free(&tr);
	return f;
}

/* Reference run of a scenario: no faults. */
static void reference(const struct scen *sc, struct trace *R)
{
	struct fault_params p;
	fault_params_init(&p, 1);
	struct memdev md;
	uint8_t *img = malloc(sc->lsize * BS);
	struct wodan_backend *fb = run_on(sc, img, &md, &p, R, 0);
	if (R->err)
		fail_msg("reference run of %s failed at op %zu: %s: %s",
			 sc->name, R->err_at, wodan_strerror(R->err),
			 wodan_last_error()->message);
	wodan_backend_close(fb);
	free(img);
}

/* ------------------------------------------------- scripted scenarios */

enum kind {
	K_MKFS_ZERO, K_MKFS_GARBAGE, K_FIRST_FLUSH, K_FIRST_SPILL, K_LEAF_SPLIT,
	K_ROOT_SPLIT, K_ROOT_SPLIT2, K_WRAP, K_TOMBSTONE, K_RESTORE_SORTED,
	K_RESTORE_AUTO, K_FSTRIM, K_ROLLBACK, K_NKINDS
};

static const char *const kind_name[K_NKINDS] = {
	"mkfs", "mkfs_garbage", "first_flush", "first_spill", "leaf_split",
	"root_split", "root_split2", "log_wrap", "tombstone_leaf",
	"restore_sorted", "restore_auto", "fstrim", "rollback"
};

struct built {
	struct scen sc;
	uint8_t *base;
	struct ent *base_snap;
	struct trace ref;
};


struct gen_state {
	uint64_t rng;
	uint32_t ver;
	uint32_t next_fresh;   /* next never-used pool key */
	struct ent *model;
};

static uint32_t fresh_key(struct gen_state *g)
{
	/* spread the fresh keys over the pool */
	uint32_t i = g->next_fresh++;
	return (uint32_t)((i * 617u + 1u) % (NPOOL - 2)) + 1;
}

static void batch_for(enum kind kd, struct gen_state *g, uint32_t b,
		      struct opv *o)
{
	switch (kd) {
	case K_FIRST_FLUSH:
		for (int i = 0; i < 5; i++)
			opv_push(o, OP_INS, fresh_key(g), ++g->ver,
				 20 + (uint32_t)tu_below(&g->rng, 80));
		break;
	case K_FIRST_SPILL:
	case K_LEAF_SPLIT:
	case K_ROOT_SPLIT:
	case K_ROOT_SPLIT2:
		for (int i = 0; i < 12; i++) {
			uint32_t k = tu_below(&g->rng, 4) ? fresh_key(g)
				     : 1 + (uint32_t)tu_below(&g->rng, NPOOL - 2);
			opv_push(o, OP_INS, k, ++g->ver,
				 60 + (uint32_t)tu_below(&g->rng, 240));
		}
		break;
	case K_WRAP:
		/* overwrites within a small key set: the tree stays small and
		 * the allocator goes round the device */
		for (int i = 0; i < 10; i++)
			opv_push(o, OP_INS, 1 + (uint32_t)tu_below(&g->rng, 60),
				 ++g->ver, 100 + (uint32_t)tu_below(&g->rng, 300));
		break;
	case K_TOMBSTONE:
		if (b >= 4) {
			/* delete 3 distinct live keys (a deleted key is never
			 * written again: fresh keys only) */
			for (int d = 0, tries = 0; d < 3 && tries < 5000; tries++) {
				uint32_t k = 1 + (uint32_t)tu_below(&g->rng, NPOOL - 2);
				int dup = 0;
				for (size_t j = 0; j < o->n; j++)
					dup |= o->v[j].k == k;
				if (g->model[k].ver && !dup) {
					opv_push(o, OP_DEL, k, 0, 0);
					d++;
				}
			}
		}
		for (int i = 0; i < 20; i++)
			opv_push(o, OP_INS, fresh_key(g), ++g->ver,
				 40 + (uint32_t)tu_below(&g->rng, 120));
		break;
	case K_FSTRIM:
		for (int i = 0; i < 14; i++)
			opv_push(o, OP_INS, 1 + (uint32_t)tu_below(&g->rng, 300),
				 ++g->ver, 60 + (uint32_t)tu_below(&g->rng, 300));
		break;
	case K_ROLLBACK:
		for (int i = 0; i < 25; i++)
			opv_push(o, OP_INS, 1 + (uint32_t)tu_below(&g->rng, 400),
				 ++g->ver, 60 + (uint32_t)tu_below(&g->rng, 200));
		break;
	default:
		break;
	}
	opv_push(o, OP_FLUSH, 0, 0, 0);
}

/* Scenario kinds found by searching: batches are applied (each from a
 * fresh mount) until one shows the event; that batch is the step. */
static void build_scripted(enum kind kd, int var, uint64_t sseed,
			   struct built *B)
{
	memset(B, 0, sizeof *B);
	struct scen *sc = &B->sc;
	snprintf(sc->name, sizeof sc->name, "%s.%d", kind_name[kd], var);
	uint64_t rng = mix(sseed, (uint64_t)kd * 16 + (uint64_t)var + 1);
	/* variant 0: the base geometry; others: other sizes and fanouts */
	sc->lsize = kd == K_WRAP ? 40 : kd == K_FSTRIM ? 96 : 64;
	if (var)
		sc->lsize += 8 * tu_below(&rng, 5);
	sc->oo.cache_bytes = (var == 2 ? 2 : 8) * BS;
	sc->oo.max_fanout = kd == K_ROOT_SPLIT2 || kd == K_TOMBSTONE ? 3 : 4;
	if (var == 1)
		sc->oo.max_fanout = 3 + (uint32_t)tu_below(&rng, 3);
	sc->mp.block_size_bytes = BS;
	sc->mp.key_size_bytes = KS;
	sc->mp.tombstones = 1;
	sc->mp.preroots_interval_blocks = tu_below(&rng, 2) ? 0 : 16;
	sc->mkfs_seed = tu_splitmix(&rng);
	uint64_t size = sc->lsize * BS;
	B->base = calloc(1, size);
	sc->base = B->base;

	if (kd == K_MKFS_ZERO || kd == K_MKFS_GARBAGE) {
		if (kd == K_MKFS_GARBAGE)
			for (uint64_t i = 0; i < size; i += 8) {
				uint64_t x = tu_splitmix(&rng);
				memcpy(B->base + i, &x, 8);
			}
		sc->base_snap = NULL;
		sc->base_gen = 0;
		sc->mp.discard = kd == K_MKFS_GARBAGE;
		opv_push(&sc->ops, OP_MKFS, 0, 0, 0);
		reference(sc, &B->ref);
		return;
	}

	/* format the base */
	{
		struct memdev md;
		md_init(&md, B->base, size);
		mkfs_rng = sc->mkfs_seed;
		assert_int_equal(wodan_mkfs(&md.be, &sc->mp, NULL), 0);
	}
	B->base_snap = snap_new();
	sc->base_snap = B->base_snap;
	sc->base_gen = 1;

	struct gen_state g = { .rng = tu_splitmix(&rng), .ver = 1,
			       .model = snap_new() };
	if (kd == K_RESTORE_SORTED || kd == K_RESTORE_AUTO) {
		uint32_t n = kd == K_RESTORE_SORTED ? 500 : 400;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = kd == K_RESTORE_SORTED
					     ? 1 + i * (NPOOL - 3) / n
					     : 1 + (uint32_t)tu_below(&g.rng, NPOOL - 2);
			opv_push(&sc->ops, OP_INS, k, ++g.ver,
				 30 + (uint32_t)tu_below(&g.rng, 250));
		}
		opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
		if (kd == K_RESTORE_SORTED) {
			sc->oo.flags = WODAN_OPEN_NO_AUTOFLUSH;
			sc->oo.dirty_bytes = 24 * 1024;
		} else {
			sc->oo.dirty_bytes = 40 * 1024;
		}
		free(g.model);
		reference(sc, &B->ref);
		return;
	}

	uint8_t *prev = malloc(size);
	struct wodan_info before = { 0 };
	before.root_block = 0;
	uint64_t tomb_before = 0;
	int found = 0;
	for (uint32_t b = 0; b < 300 && !found; b++) {
		struct opv o = { 0 };
		batch_for(kd, &g, b, &o);
		/* the step candidate: base = current image */
		memcpy(prev, B->base, size);
		struct scen t = *sc;
		t.ops = o;
		t.base = prev;
		t.base_snap = g.model;
		struct trace tr;
		struct fault_params p;
		fault_params_init(&p, 1);
		struct memdev md;
		struct wodan_backend *fb = run_on(&t, B->base, &md, &p, &tr, 0);
		if (tr.err)
			fail_msg("%s: search batch %u failed: %s", sc->name, b,
				 wodan_strerror(tr.err));
		/* did the batch show the event? */
		int ev = 0;
		uint64_t tomb_after = 0;
		switch (kd) {
		case K_FIRST_FLUSH:
			ev = 1;
			break;
		case K_FIRST_SPILL:
			ev = tr.st.spills > 0;
			break;
		case K_LEAF_SPLIT:
			ev = tr.st.splits > 0 && before.depth >= 1 &&
			     tr.info.depth == before.depth;
			break;
		case K_ROOT_SPLIT:
			ev = tr.info.depth > before.depth;
			break;
		case K_ROOT_SPLIT2:
			ev = tr.info.depth > before.depth && before.depth >= 1;
			break;
		case K_WRAP: {
			uint64_t last = 0;
			for (uint64_t i = 0; i < tr.nops; i++) {
				const struct fault_op *x = fault_backend_op(fb, i);
				if (x->type != FAULT_OP_WRITE)
					continue;
				if (last && x->off_bytes / BS < last)
					ev = b >= 2;
				last = x->off_bytes / BS;
			}
			break;
		}
		case K_TOMBSTONE: {
			struct wodan_check_report rep;
			assert_int_equal(wodan_check(&md.be, 0, &rep, NULL, NULL), 0);
			tomb_after = rep.tombstones_stored;
			wodan_check_report_free(&rep);
			size_t ndel = 0;
			for (size_t i = 0; i < o.n; i++)
				ndel += o.v[i].t == OP_DEL;
			ev = before.depth >= 1 && ndel &&
			     tomb_after < tomb_before + ndel;
			break;
		}
		case K_FSTRIM:
			ev = b >= 5 && tr.info.depth >= 1;
			break;
		case K_ROLLBACK:
			ev = b >= 5 && tr.info.depth >= 1;
			break;
		default:
			break;
		}
		tomb_before = tomb_after;
		wodan_backend_close(fb);
		if (ev) {
			found = 1;
			if (kd == K_FSTRIM) {
				/* the step: this batch, then fstrim, live trim,
				 * more inserts, flush */
				memcpy(B->base, prev, size);
				opv_cat(&sc->ops, &o);
				sc->ops.n--; /* drop the batch's flush */
				opv_push(&sc->ops, OP_DEL, o.v[0].k, 0, 0);
				opv_push(&sc->ops, OP_FSTRIM, 0, 0, 0);
				opv_push(&sc->ops, OP_LTRIM, 0, 0, 0);
				for (int i = 0; i < 4; i++)
					opv_push(&sc->ops, OP_INS,
						 1 + (uint32_t)tu_below(&g.rng, 300),
						 ++g.ver, 100);
				opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
				opv_push(&sc->ops, OP_LTRIM, 0, 0, 0);
				opv_push(&sc->ops, OP_FSTRIM, 0, 0, 0);
			} else if (kd == K_ROLLBACK) {
				/* keep the batch in the base; damage a block
				 * that only the newest tree has */
				uint64_t dmg = 0;
				uint8_t blk[BS];
				memcpy(blk, B->base + tr.info.root_block * BS, BS);
				for (uint32_t s = 0; s < 64; s++) {
					uint32_t off = BS - 4 - (s + 1) * (KS + 8);
					uint64_t L = 0;
					for (int x = 7; x >= 0; x--)
						L = (L << 8) | blk[off + KS + x];
					if (L == 0 || L >= sc->lsize)
						break;
					uint64_t cg = 0;
					for (int x = 8; x >= 1; x--)
						cg = (cg << 8) | B->base[L * BS + x];
					if (cg > before.generation) {
						dmg = L;
						break;
					}
				}
				if (!dmg) {
					found = 0;
					free(o.v);
					before = tr.info;
					memcpy(g.model, tr.model, NPOOL * sizeof *tr.model);
					trace_free(&tr);
					continue;
				}
				B->base[dmg * BS + 100] ^= 0x20;
				sc->damaged_block = dmg;
				sc->base_gen = before.generation;
				memcpy(B->base_snap, g.model,
				       NPOOL * sizeof *g.model);
				sc->oo.flags |= WODAN_OPEN_ROLLBACK;
				sc->vflags = WODAN_OPEN_ROLLBACK;
				for (int i = 0; i < 6; i++)
					opv_push(&sc->ops, OP_INS,
						 1 + (uint32_t)tu_below(&g.rng, 400),
						 ++g.ver, 80);
				opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
				opv_push(&sc->ops, OP_INS, 7, ++g.ver, 80);
				opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
			} else {
				/* the step: the batch with the event and the
				 * next one (so a flush after it is cut too) */
				memcpy(B->base, prev, size);
				memcpy(B->base_snap, g.model,
				       NPOOL * sizeof *g.model);
				opv_cat(&sc->ops, &o);
				memcpy(g.model, tr.model, NPOOL * sizeof *tr.model);
				struct opv o2 = { 0 };
				batch_for(kd, &g, b + 1, &o2);
				opv_cat(&sc->ops, &o2);
				free(o2.v);
			}
			if (kd == K_FSTRIM)
				memcpy(B->base_snap, g.model,
				       NPOOL * sizeof *g.model);
			if (kd != K_ROLLBACK)
				sc->base_gen = before.generation ? before.generation
								  : 1;
		} else {
			memcpy(g.model, tr.model, NPOOL * sizeof *tr.model);
			before = tr.info;
		}
		free(o.v);
		trace_free(&tr);
	}
	if (!found)
		fail_msg("scenario %s: event not reached", sc->name);
	free(prev);
	free(g.model);
	reference(sc, &B->ref);
}

/* ------------------------------------------------- random workloads */

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

static void workload_free(struct workload *W)
{
	for (size_t b = 0; b <= W->nb; b++) {
		free(W->img[b]);
		free(W->snap[b]);
	}
	for (size_t b = 0; b < W->nb; b++) {
		free(W->batch[b].v);
		for (int n = 0; n < 3; n++)
			if (W->ref[n] && W->ref[n][b].optype)
				trace_free(&W->ref[n][b]);
	}
	for (int n = 0; n < 3; n++)
		free(W->ref[n]);
	free(W->img);
	free(W->snap);
	free(W->gen);
	free(W->batch);
	memset(W, 0, sizeof *W);
}

static void scen_of(const struct workload *W, size_t b, size_t n,
		    struct scen *sc)
{
	memset(sc, 0, sizeof *sc);
	snprintf(sc->name, sizeof sc->name, "%sb%zun%zu", W->tag, b, n);
	sc->lsize = W->lsize;
	sc->oo = W->oo;
	sc->mp = W->mp;
	sc->base = W->img[b];
	sc->base_snap = W->snap[b];
	sc->base_gen = W->gen[b];
	for (size_t i = b; i < b + n; i++)
		opv_cat(&sc->ops, &W->batch[i]);
}

static void build_workload(uint64_t wseed, const char *tag,
			   struct workload *W)
{
	memset(W, 0, sizeof *W);
	snprintf(W->tag, sizeof W->tag, "%s", tag);
	uint64_t rng = wseed;
	int tight = tu_below(&rng, 3) == 0;
	W->lsize = tight ? 40 + tu_below(&rng, 25) : 48 + tu_below(&rng, 81);
	static const uint32_t fanouts[] = { 3, 4, 5, 8, 0 };
	W->oo.max_fanout = fanouts[tu_below(&rng, 5)];
	W->oo.cache_bytes = (4 + tu_below(&rng, 16)) * BS;
	if (tu_below(&rng, 3) == 0)
		W->oo.dirty_bytes = (16 + tu_below(&rng, 48)) * 1024;
	if (tu_below(&rng, 4) == 0)
		W->oo.flags = WODAN_OPEN_NO_AUTOFLUSH;
	W->mp.block_size_bytes = BS;
	W->mp.key_size_bytes = KS;
	W->mp.tombstones = 1;
	W->mp.preroots_interval_blocks = tu_below(&rng, 2) ? 0 : 16;
	uint64_t size = W->lsize * BS;
	size_t cap = 80;
	W->img = calloc(cap + 1, sizeof *W->img);
	W->snap = calloc(cap + 1, sizeof *W->snap);
	W->gen = calloc(cap + 1, sizeof *W->gen);
	W->batch = calloc(cap, sizeof *W->batch);
	W->img[0] = calloc(1, size);
	{
		struct memdev md;
		md_init(&md, W->img[0], size);
		mkfs_rng = tu_splitmix(&rng);
		assert_int_equal(wodan_mkfs(&md.be, &W->mp, NULL), 0);
	}
	W->snap[0] = snap_new();
	W->gen[0] = 1;
	uint32_t nk = 60 + (uint32_t)tu_below(&rng, tight ? 300 : 900);
	if (nk > NPOOL - 2)
		nk = NPOOL - 2;
	uint32_t ver = 1;
	uint64_t budget = tight ? size / 2 : size / 6;
	uint64_t prev_root = 0;
	size_t b;
	for (b = 0; b < cap; b++) {
		if (b >= 12 && W->wraps >= 1 && W->depth >= 2)
			break;
		struct opv *o = &W->batch[b];
		const struct ent *m = W->snap[b];
		uint64_t live = 0;
		for (uint32_t i = 0; i < NPOOL; i++)
			if (m[i].ver)
				live += KS + 2 + m[i].len;
		uint32_t nops = tu_below(&rng, 4) == 0
					? 1 + (uint32_t)tu_below(&rng, 3)
					: 5 + (uint32_t)tu_below(&rng, 40);
		for (uint32_t i = 0; i < nops; i++) {
			uint32_t k = 1 + (uint32_t)tu_below(&rng, nk);
			if (tu_below(&rng, 50) == 0)
				k = tu_below(&rng, 2) ? 0 : NPOOL - 1;
			unsigned pdel = live > budget ? 60u : 15u;
			if (tu_below(&rng, 100) < pdel) {
				opv_push(o, OP_DEL, k, 0, 0);
				continue;
			}
			uint64_t shape = tu_below(&rng, 100);
			uint32_t len = shape < 3 ? 1000 + (uint32_t)tu_below(&rng, 2000)
				       : shape < 15 ? 200 + (uint32_t)tu_below(&rng, 500)
				       : shape < 18 ? 0
						    : 1 + (uint32_t)tu_below(&rng, 120);
			if (len == 0) {
				opv_push(o, OP_DEL, k, 0, 0); /* empty value */
				continue;
			}
			opv_push(o, OP_INS, k, ++ver, len);
		}
		uint64_t end = tu_below(&rng, 20);
		if (end == 0)
			opv_push(o, OP_FSTRIM, 0, 0, 0);
		else if (end == 1) {
			opv_push(o, OP_FLUSH, 0, 0, 0);
			opv_push(o, OP_LTRIM, 0, 0, 0);
		} else
			opv_push(o, OP_FLUSH, 0, 0, 0);
		/* run it */
		struct scen sc;
		scen_of(W, b, 0, &sc);
		sc.ops = *o;
		W->img[b + 1] = malloc(size);
		struct fault_params p;
		fault_params_init(&p, 1);
		struct memdev md;
		struct trace tr;
		struct wodan_backend *fb = run_on(&sc, W->img[b + 1], &md, &p,
						  &tr, 0);
		if (tr.err)
			fail_msg("workload %s batch %zu: %s: %s", tag, b,
				 wodan_strerror(tr.err),
				 wodan_last_error()->message);
		wodan_backend_close(fb);
		W->writes += tr.nops;
		W->snap[b + 1] = tr.model;
		tr.model = NULL;
		W->gen[b + 1] = tr.info.generation;
		if (tr.info.depth > W->depth)
			W->depth = tr.info.depth;
		if (prev_root && tr.info.root_block < prev_root)
			W->wraps++;
		prev_root = tr.info.root_block;
		trace_free(&tr);
	}
	W->nb = b;
	for (int n = 0; n < 3; n++)
		W->ref[n] = calloc(W->nb, sizeof *W->ref[n]);
}

static const struct trace *workload_ref(struct workload *W, size_t b,
					size_t n, struct scen *sc)
{
	struct trace *R = &W->ref[n - 1][b];
	if (!R->optype) {
		reference(sc, R);
		/* the snapshots are not needed: the cut run has its own */
		for (size_t i = 0; i < R->nfl; i++) {
			free(R->fl[i].snap);
			R->fl[i].snap = NULL;
		}
		free(R->model);
		R->model = NULL;
	}
	return R;
}

/* ---------------------------------------------------------- the tiers */

#define NWORK 3

#define NVAR 3
static struct built scripted[K_NKINDS * NVAR];
static struct workload works[NWORK];
static int scripted_ready, works_ready;

static void ensure_scripted(void)
{
	if (scripted_ready)
		return;
	for (int k = 0; k < K_NKINDS * NVAR; k++)
		build_scripted((enum kind)(k / NVAR), k % NVAR, seed,
			       &scripted[k]);
	scripted_ready = 1;
}

static void ensure_works(void)
{
	if (works_ready)
		return;
	for (int i = 0; i < NWORK; i++) {
		char tag[16];
		snprintf(tag, sizeof tag, "w%d", i);
		build_workload(mix(seed, 1000 + (uint64_t)i), tag, &works[i]);
		printf("# workload %s: lsize %llu, fanout %u, %zu batches, %llu "
		       "ops, depth %u, root wraps %u\n", tag,
		       (unsigned long long)works[i].lsize, works[i].oo.max_fanout,
		       works[i].nb, (unsigned long long)works[i].writes,
		       works[i].depth, works[i].wraps);
	}
	fflush(stdout);
	works_ready = 1;
}

static void tally_print(const char *tier, const struct tally *T)
{
	printf("# %s: %llu cut points, %llu checks (old state %llu, in-flight "
	       "state %llu, unformatted %llu), %llu failures, %.1f s\n", tier,
	       (unsigned long long)T->points, (unsigned long long)T->checks,
	       (unsigned long long)T->old, (unsigned long long)T->newer,
	       (unsigned long long)T->unformatted,
	       (unsigned long long)T->failures,
	       (double)(now_ns() - T->t0) / 1e9);
	fflush(stdout);
}

static void test_exhaustive(void **state)
{
	(void)state;
	ensure_scripted();
	struct tally all = { .t0 = now_ns() };
	for (int k = 0; k < K_NKINDS * NVAR; k++) {
		struct built *B = &scripted[k];
		const struct scen *sc = &B->sc;
		struct tally T = { .t0 = now_ns() };
		uint8_t *img = malloc(sc->lsize * BS);
		uint64_t E = B->ref.nops;
		for (uint64_t e = 0; e <= E; e++) {
			T.points++;
			for (int m = 0; m < FAULT_CUT_NMODES; m++) {
				if (m == FAULT_CUT_TORN &&
				    (e >= E || B->ref.optype[e] != 1))
					continue;
				uint64_t rs = mix(mix(seed, (uint64_t)k), e * 8 + (uint64_t)m);
				one_cut(sc, &B->ref, e, m, rs, (e & 3) == 0, &T,
					img, NULL, NULL, NULL);
			}
		}
		free(img);
		printf("#   %-15s %4llu ops (%zu flushes): ", sc->name,
		       (unsigned long long)E, B->ref.nfl);
		tally_print("cuts", &T);
		all.points += T.points;
		all.checks += T.checks;
		all.old += T.old;
		all.newer += T.newer;
		all.unformatted += T.unformatted;
		all.failures += T.failures;
	}
	tally_print("tier exhaustive", &all);
	if (all.failures)
		fail_msg("%llu failures in the exhaustive tier (seed %llu)",
			 (unsigned long long)all.failures,
			 (unsigned long long)seed);
}

/* Draw one random cut: a workload step (or a scripted scenario). */
static int random_cut(uint64_t *rng, struct workload *ws, int nws,
		      struct tally *T, uint8_t *img, int dbl, uint64_t *d2)
{
	struct scen sc;
	const struct trace *R;
	int own = 0;
	if (tu_below(rng, 5) == 0) {
		int k = (int)tu_below(rng, K_NKINDS * NVAR);
		sc = scripted[k].sc;
		R = &scripted[k].ref;
	} else {
		struct workload *W = &ws[tu_below(rng, (uint64_t)nws)];
		size_t b = (size_t)tu_below(rng, W->nb);
		size_t n = 1 + (size_t)tu_below(rng, 3);
		if (b + n > W->nb)
			n = W->nb - b;
		scen_of(W, b, n, &sc);
		own = 1;
		R = workload_ref(W, b, n, &sc);
	}
	uint64_t E = R->nops;
	uint64_t e = tu_below(rng, E + 1);
	uint64_t x = tu_below(rng, 10);
	int mode = x < 8 ? FAULT_CUT_RANDOM : x == 8 ? FAULT_CUT_REORDER
						       : FAULT_CUT_TORN;
	uint64_t rs = tu_splitmix(rng);
	T->points++;
	int f;
	if (!dbl) {
		f = one_cut(&sc, R, e, mode, rs, tu_below(rng, 4) == 0, T, img,
			    NULL, NULL, NULL);
	} else {
		/* double fault: cut, mount, then an insert + flush on the
		 * recovered image cut again */
		struct ent *snap1 = NULL;
		uint64_t gen1 = 0;
		f = one_cut(&sc, R, e, FAULT_CUT_RANDOM, rs, 0, T, img, &snap1,
			    &gen1, NULL);
		if (f == 2) {
			/* unformatted after a cut in mkfs: nothing to
			 * recover; counts as a single fault */
			f = 0;
		} else if (!f) {
			struct scen s2 = sc;
			memset(&s2.ops, 0, sizeof s2.ops);
			uint8_t *base2 = malloc(sc.lsize * BS);
			memcpy(base2, img, sc.lsize * BS);
			s2.base = base2;
			s2.base_snap = snap1;
			s2.base_gen = gen1;
			s2.ghost_root = last_ghost_root;
			s2.ghost_gen = last_ghost_gen;
			uint64_t r2 = tu_splitmix(rng);
			uint64_t rr = r2;
			uint32_t n = 1 + (uint32_t)tu_below(&rr, 12);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t k = 1 + (uint32_t)tu_below(&rr, NPOOL - 2);
				if (tu_below(&rr, 5) == 0)
					opv_push(&s2.ops, OP_DEL, k, 0, 0);
				else
					opv_push(&s2.ops, OP_INS, k,
						 0x10000000u + (uint32_t)tu_below(&rr, 1u << 27),
						 1 + (uint32_t)tu_below(&rr, 400));
			}
			opv_push(&s2.ops, OP_FLUSH, 0, 0, 0);
			if (tu_below(&rr, 2)) {
				opv_push(&s2.ops, OP_INS, 5, 0x0f000000u, 50);
				opv_push(&s2.ops, OP_FLUSH, 0, 0, 0);
			}
			snprintf(s2.name, sizeof s2.name, "%s", sc.name);
			struct trace R2;
			reference(&s2, &R2);
			uint64_t e2 = tu_below(rng, R2.nops + 1);
			uint64_t rs2 = tu_splitmix(rng);
			T->points++;
			f = one_cut(&s2, &R2, e2, FAULT_CUT_RANDOM, rs2, 1, T,
				    img, NULL, NULL, "second cut of a double: ");
			if (f && (T->failures <= max_print || verbose))
				printf("#   (double fault: first cut crash:%llu:%s:"
				       "%llu:R:%llu, second cut at op %llu of "
				       "%llu; replay id dcrash:%llu:%s:%llu:%llu:"
				       "%llu:%llu:%llu)\n",
				       (unsigned long long)seed, sc.name,
				       (unsigned long long)e,
				       (unsigned long long)rs,
				       (unsigned long long)e2,
				       (unsigned long long)R2.nops,
				       (unsigned long long)seed, sc.name,
				       (unsigned long long)e,
				       (unsigned long long)rs,
				       (unsigned long long)r2,
				       (unsigned long long)e2,
				       (unsigned long long)rs2);
			if (f && nfail_ids)
				snprintf(fail_ids[nfail_ids - 1],
					 sizeof fail_ids[0],
					 "dcrash:%llu:%s:%llu:%llu:%llu:%llu:%llu",
					 (unsigned long long)seed, sc.name,
					 (unsigned long long)e,
					 (unsigned long long)rs,
					 (unsigned long long)r2,
					 (unsigned long long)e2,
					 (unsigned long long)rs2);
			if (d2)
				(*d2)++;
			trace_free(&R2);
			free(s2.ops.v);
			free(base2);
		}
		free(snap1);
	}
	if (own)
		free(sc.ops.v);
	return f;
}

static uint64_t max_lsize(void)
{
	uint64_t m = 128;
	for (int i = 0; i < NWORK; i++)
		if (works[i].lsize > m)
			m = works[i].lsize;
	return m;
}

static void test_random(void **state)
{
	(void)state;
	ensure_scripted();
	ensure_works();
	uint64_t n = tu_env_u64("WODAN_CRASH_RANDOM", 20000);
	struct tally T = { .t0 = now_ns() };
	uint64_t rng = mix(seed, 0x7a4d);
	uint8_t *img = malloc(max_lsize() * BS);
	for (uint64_t i = 0; i < n; i++)
		random_cut(&rng, works, NWORK, &T, img, 0, NULL);
	free(img);
	tally_print("tier random", &T);
	if (T.failures)
		fail_msg("%llu failures in the random tier (seed %llu)",
			 (unsigned long long)T.failures, (unsigned long long)seed);
}

static void test_double(void **state)
{
	(void)state;
	ensure_scripted();
	ensure_works();
	uint64_t n = tu_env_u64("WODAN_CRASH_DOUBLE", 2000);
	struct tally T = { .t0 = now_ns() };
	uint64_t rng = mix(seed, 0xd0b1e);
	uint8_t *img = malloc(max_lsize() * BS);
	uint64_t doubles = 0;
	for (uint64_t i = 0; doubles < n && i < 4 * n; i++)
		random_cut(&rng, works, NWORK, &T, img, 1, &doubles);
	free(img);
	printf("# double faults completed: %llu (%llu hit bug B4)\n",
	       (unsigned long long)doubles, (unsigned long long)b4_seen);
	tally_print("tier double", &T);
	if (T.failures)
		fail_msg("%llu failures in the double-fault tier (seed %llu)",
			 (unsigned long long)T.failures, (unsigned long long)seed);
	assert_true(doubles >= n);
}

/* ----------------------------------------------------------- I/O errors */


/* Run sc with one failing op (or random rates), retrying; then the image
 * must hold exactly the final model. */
static int ioerr_run(const struct scen *sc, const struct fault_params *p,
		     struct tally *T, const char *id, uint8_t *img)
{
	struct memdev md;
	struct trace tr;
	int tries = p->write_eio_ppm || p->barrier_eio_ppm ? 40 : 4;
	struct wodan_backend *fb = run_on(sc, img, &md, p, &tr, tries);
	struct fault_counters c;
	fault_backend_counters(fb, &c);
	if (verbose) {
		printf("# %s: %zu flushes, error %s\n", id, tr.nfl,
		       wodan_strerror(tr.err));
		dump_ops(fb, &tr);
	}
	wodan_backend_close(fb);
	T->points++;
	T->checks++;
	if (tr.err) {
		print_fail(T, id, "op %zu still failing after retries: %s: %s",
			   tr.err_at, wodan_strerror(tr.err),
			   wodan_last_error()->message);
		trace_free(&tr);
		return 1;
	}
	struct expect want = { tr.model, tr.info.generation, "the final state" };
	if (tr.nfl == 0 && !sc->base_snap)
		want.snap = NULL;
	int f = verify(sc, img, &want, NULL, mix(p->seed, 5), 1, T, id);
	trace_free(&tr);
	return f;
}

static void test_ioerr(void **state)
{
	(void)state;
	ensure_scripted();
	ensure_works();
	struct tally T = { .t0 = now_ns() };
	uint8_t *img = malloc(max_lsize() * BS);
	/* every op of every scripted step fails once */
	for (int k = 0; k < K_NKINDS * NVAR; k++) {
		const struct built *B = &scripted[k];
		for (uint64_t e = 0; e < B->ref.nops; e++) {
			struct fault_params p;
			fault_params_init(&p, mix(seed, e));
			p.fail_op = e;
			char id[160];
			snprintf(id, sizeof id, "ioerr:%llu:%.48s:%llu",
				 (unsigned long long)seed, B->sc.name,
				 (unsigned long long)e);
			ioerr_run(&B->sc, &p, &T, id, img);
		}
	}
	uint64_t single = T.points;
	/* random write/barrier failures over whole workload steps */
	uint64_t rng = mix(seed, 0x10e);
	uint64_t nio = tu_env_u64("WODAN_CRASH_IOERR", 300);
	for (uint64_t i = 0; i < nio; i++) {
		struct workload *W = &works[tu_below(&rng, NWORK)];
		size_t b = (size_t)tu_below(&rng, W->nb);
		size_t n = 1 + (size_t)tu_below(&rng, 3);
		if (b + n > W->nb)
			n = W->nb - b;
		struct scen sc;
		scen_of(W, b, n, &sc);
		struct fault_params p;
		fault_params_init(&p, tu_splitmix(&rng));
		p.write_eio_ppm = 20000;
		p.barrier_eio_ppm = 20000;
		char id[160];
		snprintf(id, sizeof id, "ioerr:%llu:%.48s:rates:%llu",
			 (unsigned long long)seed, sc.name,
			 (unsigned long long)p.seed);
		ioerr_run(&sc, &p, &T, id, img);
		free(sc.ops.v);
	}
	/* read errors and transient bit flips: never wrong data */
	uint64_t lookups = 0, lookup_err = 0, iters = 0, iter_err = 0;
	for (int i = 0; i < NWORK; i++) {
		struct workload *W = &works[i];
		for (size_t b = W->nb / 2; b <= W->nb; b += 3) {
			struct memdev md;
			memcpy(img, W->img[b], W->lsize * BS);
			md_init(&md, img, W->lsize * BS);
			struct fault_params p;
			fault_params_init(&p, mix(seed, b * 16 + (uint64_t)i));
			struct wodan_backend *fb;
			assert_int_equal(fault_backend_wrap(&md.be, &p, &fb), 0);
			struct wodan_open_opts o = { .cache_bytes = 2 * BS };
			wodan_t *w;
			assert_int_equal(wodan_open(fb, &o, &w), 0);
			fault_backend_set_rates(fb, 0, 0, 20000, 50000);
			const struct ent *m = W->snap[b];
			uint8_t key[KS], buf[4096], want[4096];
			for (uint32_t k = 0; k < NPOOL; k += 1 + (k & 3)) {
				mkkey(k, key);
				size_t vl = 0;
				int r = wodan_lookup(w, key, KS, buf, sizeof buf, &vl);
				lookups++;
				char id[160];
				snprintf(id, sizeof id, "readerr:%llu:%.16s:b%zu:key%u",
					 (unsigned long long)seed, W->tag, b, k);
				if (r < 0) {
					lookup_err++;
					if (r != WODAN_E_IO_READ && r != WODAN_E_BAD_CRC)
						print_fail(&T, id, "lookup error %s",
							   wodan_strerror(r));
					continue;
				}
				if ((r == 1) != (m[k].ver != 0)) {
					print_fail(&T, id, "lookup says %s, model %s",
						   r ? "present" : "absent",
						   m[k].ver ? "present" : "absent");
					continue;
				}
				if (r == 1) {
					gen_val(k, m[k].ver, m[k].len, want);
					if (vl != m[k].len || memcmp(buf, want, vl))
						print_fail(&T, id, "wrong value");
				}
			}
			for (int it = 0; it < 4; it++) {
				char why[300];
				iters++;
				if (state_equal(w, m, why, sizeof why)) {
					if (strncmp(why, "iterate: ", 9)) {
						char id[160];
						snprintf(id, sizeof id,
							 "readerr:%llu:%.16s:b%zu:iter",
							 (unsigned long long)seed,
							 W->tag, b);
						print_fail(&T, id, "%s", why);
					}
					iter_err++;
				}
			}
			wodan_abandon(w);
			wodan_backend_close(fb);
		}
	}
	/*
	 * Bug B2 (fixed): one transient flipped read of the newest root while
	 * mount searches for it.  doc/SPEC.md §11.1 asks for a re-read before a
	 * block is declared corrupt; wd_find_root's scan() read candidates
	 * raw, so the search could settle on an older root and mount it
	 * silently.  A miss counts as a failure.
	 */
	uint64_t b2_tries = 0, b2_hits = 0;
	for (int i = 0; i < NWORK; i++) {
		struct workload *W = &works[i];
		for (size_t b = 1; b <= W->nb; b++) {
			struct memdev md;
			memcpy(img, W->img[b], W->lsize * BS);
			md_init(&md, img, W->lsize * BS);
			wodan_t *w;
			assert_int_equal(wodan_open(&md.be, NULL, &w), 0);
			struct wodan_info info;
			wodan_get_info(w, &info);
			wodan_abandon(w);
			struct fault_params p;
			fault_params_init(&p, mix(seed, 0xb2 + b));
			p.flip_off = info.root_block * BS;
			p.flip_len = BS;
			p.flip_count = 1;
			struct wodan_backend *fb;
			assert_int_equal(fault_backend_wrap(&md.be, &p, &fb), 0);
			int r = wodan_open(fb, NULL, &w);
			struct wodan_info i2 = { 0 };
			if (!r) {
				wodan_get_info(w, &i2);
				wodan_abandon(w);
			}
			wodan_backend_close(fb);
			b2_tries++;
			if (r == 0 && i2.generation == info.generation)
				continue;
			b2_hits++;
			char id[160];
			snprintf(id, sizeof id, "rootflip:%llu:%.16s:b%zu",
				 (unsigned long long)seed, W->tag, b);
			/* fixed B2 (lib/mount.c re-reads a suspect block) */
			print_fail(&T, id, "one transient flip of the root "
				   "(gen %llu): mount %s gen %llu",
				   (unsigned long long)info.generation,
				   wodan_strerror(r),
				   (unsigned long long)i2.generation);
		}
	}
	printf("# root search with one transient flipped read of the newest "
	       "root: %llu of %llu mounts missed it\n",
	       (unsigned long long)b2_hits, (unsigned long long)b2_tries);
	free(img);
	printf("# ioerr: %llu single failing ops, %llu runs with random "
	       "write/barrier EIO; read faults: %llu "
	       "lookups (%llu errors), %llu iterations (%llu errors), never "
	       "wrong data\n",
	       (unsigned long long)single,
	       (unsigned long long)(T.points - single),
	       (unsigned long long)lookups, (unsigned long long)lookup_err,
	       (unsigned long long)iters, (unsigned long long)iter_err);
	tally_print("tier ioerr", &T);
	if (T.failures)
		fail_msg("%llu failures in the I/O error tier (seed %llu)",
			 (unsigned long long)T.failures, (unsigned long long)seed);
}

/* ------------------------------------------------------- soak, replay */

static int soak(uint64_t n)
{
	ensure_scripted();
	struct tally T = { .t0 = now_ns() };
	uint64_t rng = mix(seed, 0x50a4);
	uint64_t round = 0, done = 0, doubles = 0;
	uint64_t per_round = 20000;
	while (done < n) {
		struct workload ws[NWORK];
		for (int i = 0; i < NWORK; i++) {
			char tag[16];
			snprintf(tag, sizeof tag, "s%llu.%d",
				 (unsigned long long)round, i);
			build_workload(mix(seed, 0x5000000 + round * 16 + (uint64_t)i),
				       tag, &ws[i]);
		}
		uint64_t m = 128;
		for (int i = 0; i < NWORK; i++)
			if (ws[i].lsize > m)
				m = ws[i].lsize;
		uint8_t *img = malloc(m * BS);
		for (uint64_t i = 0; i < per_round && done < n; i++, done++)
			random_cut(&rng, ws, NWORK, &T, img,
				   tu_below(&rng, 8) == 0, &doubles);
		free(img);
		for (int i = 0; i < NWORK; i++)
			workload_free(&ws[i]);
		round++;
		printf("# soak: %llu cuts (%llu cut points incl. %llu double "
		       "faults), %llu failures (%llu of them B4), %.0f s\n",
		       (unsigned long long)done, (unsigned long long)T.points,
		       (unsigned long long)doubles,
		       (unsigned long long)T.failures,
		       (unsigned long long)b4_seen,
		       (double)(now_ns() - T.t0) / 1e9);
		fflush(stdout);
	}
	tally_print("soak", &T);
	printf("# soak: %llu cuts, %llu failures%s\n", (unsigned long long)done,
	       (unsigned long long)T.failures,
	       nfail_ids ? "; replay ids (WODAN_CRASH_REPLAY=...):" : "");
	for (unsigned i = 0; i < nfail_ids; i++)
		printf("#   %s\n", fail_ids[i]);
	return T.failures ? 1 : 0;
}

/* Find a scenario by name: a scripted kind, "wI" (workload I of this
 * seed), "sR.I" (soak round R, workload I), with "bBnN" batches. */
static int find_scen(const char *name, struct scen *sc, const struct trace **R,
		     struct workload *tmpw)
{
	for (int k = 0; k < K_NKINDS; k++)
		for (int v = 0; v < NVAR; v++) {
			char nm[48];
			snprintf(nm, sizeof nm, "%s.%d", kind_name[k], v);
			if (strcmp(name, nm))
				continue;
			struct built *B = &scripted[k * NVAR + v];
			build_scripted((enum kind)k, v, seed, B);
			*sc = B->sc;
			*R = &B->ref;
			return 0;
		}
	unsigned long long round = 0;
	int wi = -1;
	size_t b = 0, n = 0;
	char tag[16];
	if (sscanf(name, "w%d b%zun%zu", &wi, &b, &n) == 3 ||
	    sscanf(name, "w%db%zun%zu", &wi, &b, &n) == 3) {
		snprintf(tag, sizeof tag, "w%d", wi);
		build_workload(mix(seed, 1000 + (uint64_t)wi), tag, tmpw);
	} else if (sscanf(name, "s%llu.%db%zun%zu", &round, &wi, &b, &n) == 4) {
		snprintf(tag, sizeof tag, "s%llu.%d", round, wi);
		build_workload(mix(seed, 0x5000000 + round * 16 + (uint64_t)wi),
			       tag, tmpw);
	} else {
		return -1;
	}
	if (b + n > tmpw->nb || n < 1 || n > 3)
		return -1;
	scen_of(tmpw, b, n, sc);
	*R = workload_ref(tmpw, b, n, sc);
	return 0;
}

static int replay(const char *id)
{
	verbose = 1;
	char kind[16], name[48];
	unsigned long long s, e, rs, r2 = 0, e2 = 0, rs2 = 0, op = 0;
	char mc = 'R';
	struct tally T = { .t0 = now_ns() };
	struct workload W = { 0 };
	struct scen sc;
	const struct trace *R;
	int f = 0;
	if (sscanf(id, "%15[a-z]:%llu:%47[^:]:", kind, &s, name) != 3) {
		printf("# bad replay id %s\n", id);
		return 2;
	}
	seed = s;
	if (find_scen(name, &sc, &R, &W)) {
		printf("# unknown scenario %s\n", name);
		return 2;
	}
	uint8_t *img = malloc(sc.lsize * BS);
	if (!strcmp(kind, "crash") &&
	    sscanf(id, "crash:%llu:%*[^:]:%llu:%c:%llu", &s, &e, &mc, &rs) == 4) {
		f = one_cut(&sc, R, e, mode_of(mc), rs, 1, &T, img, NULL, NULL,
			    NULL);
	} else if (!strcmp(kind, "dcrash") &&
		   sscanf(id, "dcrash:%llu:%*[^:]:%llu:%llu:%llu:%llu:%llu", &s,
			  &e, &rs, &r2, &e2, &rs2) == 6) {
		struct ent *snap1 = NULL;
		uint64_t gen1;
		f = one_cut(&sc, R, e, FAULT_CUT_RANDOM, rs, 0, &T, img, &snap1,
			    &gen1, NULL);
		if (!f) {
			/* rebuild the second step exactly as random_cut */
			struct scen s2 = sc;
			memset(&s2.ops, 0, sizeof s2.ops);
			uint8_t *base2 = malloc(sc.lsize * BS);
			memcpy(base2, img, sc.lsize * BS);
			s2.base = base2;
			s2.base_snap = snap1;
			s2.base_gen = gen1;
			s2.ghost_root = last_ghost_root;
			s2.ghost_gen = last_ghost_gen;
			uint64_t rr = r2;
			uint32_t n = 1 + (uint32_t)tu_below(&rr, 12);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t k = 1 + (uint32_t)tu_below(&rr, NPOOL - 2);
				if (tu_below(&rr, 5) == 0)
					opv_push(&s2.ops, OP_DEL, k, 0, 0);
				else
					opv_push(&s2.ops, OP_INS, k,
						 0x10000000u + (uint32_t)tu_below(&rr, 1u << 27),
						 1 + (uint32_t)tu_below(&rr, 400));
			}
			opv_push(&s2.ops, OP_FLUSH, 0, 0, 0);
			if (tu_below(&rr, 2)) {
				opv_push(&s2.ops, OP_INS, 5, 0x0f000000u, 50);
				opv_push(&s2.ops, OP_FLUSH, 0, 0, 0);
			}
			struct trace R2;
			reference(&s2, &R2);
			f = one_cut(&s2, &R2, e2, FAULT_CUT_RANDOM, rs2, 1, &T,
				    img, NULL, NULL, "[2nd] ");
			trace_free(&R2);
			free(s2.ops.v);
			free(base2);
		}
		free(snap1);
	} else if (!strcmp(kind, "ioerr") &&
		   sscanf(id, "ioerr:%llu:%*[^:]:rates:%llu", &s, &rs) == 2) {
		struct fault_params p;
		fault_params_init(&p, rs);
		p.write_eio_ppm = 20000;
		p.barrier_eio_ppm = 20000;
		f = ioerr_run(&sc, &p, &T, id, img);
	} else if (!strcmp(kind, "ioerr") &&
		   sscanf(id, "ioerr:%llu:%*[^:]:%llu", &s, &op) == 2) {
		struct fault_params p;
		fault_params_init(&p, mix(seed, op));
		p.fail_op = op;
		f = ioerr_run(&sc, &p, &T, id, img);
	} else {
		printf("# bad replay id %s\n", id);
		f = 2;
	}
	printf("# replay %s: %s\n", id, f ? "FAILED" : "ok");
	free(img);
	if (W.img)
		workload_free(&W);
	return f;
}

/* --------------------------------------------- torn rewrite of a torn root */

/*
 * B4, built exactly: two power cuts tear two root writes to the same block,
 * and together the sectors form the first root, which was never
 * acknowledged.  Base: a leaf root R0 with 30 keys.  The first flush adds
 * key A: its root R1 goes to the first free block X after R0 and is torn,
 * so that only the sectors where R1 differs from R2 below land (plus, in
 * the second variant, its header sector).  The mount finds R0.  The next
 * flush adds key B instead: without a crash in between it would write R2 to
 * X with R1's generation, and R2 equals R1 in every other sector.  The
 * second cut tears R2 so that exactly those equal sectors land.  Before the
 * fix the block then held R1 whole: the mount found generation
 * gen(R0) + 1 with key A, a state no flush ever acknowledged.  The rule
 * checked: the mount after the second cut shows R0's keys (or R2's, had
 * it landed), never key A; check is clean; life goes on.
 */
/* For b4_case: a RAM device whose every write first saves what it
 * overwrites into b4_prev (same offsets), so that after a flush b4_prev
 * holds each block as it was right before its last write. */
static uint8_t *b4_prev;

static int b4_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	if (off <= be->size_bytes && len <= be->size_bytes - off)
		memcpy(b4_prev + off, ((struct memdev *)be)->mem + off, len);
	return md_write(be, off, buf, len);
}

static void b4_case(int header_landed)
{
	const uint64_t lsize = 64;
	const size_t size = lsize * BS, SEC = 512, nsec = BS / SEC;
	const uint32_t KA = 1000, KB = 1001, LEN = 40;
	uint8_t *img = calloc(1, size), *tmp = malloc(size), *base = malloc(size);
	uint8_t *r1 = malloc(BS), *r2 = malloc(BS), *pre = malloc(size);
	assert_non_null(img);
	assert_non_null(tmp);
	assert_non_null(base);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_non_null(pre);
	struct memdev d;
	struct ent *snap0 = snap_new();
	uint8_t k[KS], v[LEN];
	wodan_t *w;
	struct wodan_info info;
	uint64_t g0, g1 = 0, g2 = 0, x1 = 0, x2 = 0;

	md_init(&d, img, size);
	d.be.write = b4_write;
	b4_prev = pre;
	struct wodan_mkfs_params mp = { .block_size_bytes = BS,
					.key_size_bytes = KS,
					.tombstones = 1 };
	assert_int_equal(wodan_mkfs(&d.be, &mp, NULL), 0);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	for (uint32_t i = 1; i <= 30; i++) {
		mkkey(i, k);
		gen_val(i, 1, LEN, v);
		assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
		snap0[i] = (struct ent){ 1, LEN };
	}
	assert_int_equal(wodan_flush(w, &g0), 0);
	assert_int_equal(wodan_close(w), 0);
	memcpy(base, img, size);

	/* R1 and R2: what the two flushes write from R0 without any cut */
	for (int pass = 0; pass < 2; pass++) {
		memcpy(img, base, size);
		assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
		uint32_t key = pass ? KB : KA;
		mkkey(key, k);
		gen_val(key, 2, LEN, v);
		assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
		assert_int_equal(wodan_flush(w, pass ? &g2 : &g1), 0);
		wodan_get_info(w, &info);
		wodan_abandon(w);
		*(pass ? &x2 : &x1) = info.root_block;
		memcpy(pass ? r2 : r1, img + info.root_block * BS, BS);
	}
	/* the scenario's preconditions: same block, same generation, same
	 * header sector, and some sectors differ */
	assert_true(x1 == x2 && g1 == g2 && g1 == g0 + 1);
	assert_memory_equal(r1, r2, SEC);
	int differ[16] = { 0 }, ndiff = 0;
	for (size_t sct = 0; sct < nsec; sct++) {
		differ[sct] = memcmp(r1 + sct * SEC, r2 + sct * SEC, SEC) != 0;
		ndiff += differ[sct];
	}
	assert_true(ndiff > 0 && ndiff < (int)nsec - 1);

	/* first cut: R1 torn at X, only the differing sectors (and, in the
	 * second variant, the header sector) landed */
	memcpy(img, base, size);
	for (size_t sct = 0; sct < nsec; sct++)
		if (differ[sct] || (header_landed && sct == 0))
			memcpy(img + x1 * BS + sct * SEC, r1 + sct * SEC, SEC);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	wodan_get_info(w, &info);
	assert_true(info.generation == g0);
	char why[300];
	if (state_equal(w, snap0, why, sizeof why))
		fail_msg("B4 (header %d): after the first cut: %s",
			 header_landed, why);
	/* the next flush, cut in its root write (everything before it is
	 * durable: a barrier precedes the root): the sectors where R2 equals
	 * R1 land, the others keep what the block held before that write */
	mkkey(KB, k);
	gen_val(KB, 2, LEN, v);
	assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
	memcpy(pre, img, size);
	uint64_t gen2;
	assert_int_equal(wodan_flush(w, &gen2), 0);
	wodan_get_info(w, &info);
	uint64_t y = info.root_block;
	wodan_abandon(w);
	for (size_t sct = 0; sct < nsec; sct++)
		if (differ[sct])
			memcpy(img + y * BS + sct * SEC, pre + y * BS + sct * SEC,
			       SEC);

	/* the mount must not find R1 */
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	wodan_get_info(w, &info);
	mkkey(KA, k);
	uint8_t got[LEN];
	size_t gl = 0;
	int ra = wodan_lookup(w, k, KS, got, sizeof got, &gl);
	if (ra != 0 || state_equal(w, snap0, why, sizeof why))
		fail_msg("B4 (header %d): two torn root writes to block %llu "
			 "gave generation %llu at block %llu%s: %s", header_landed,
			 (unsigned long long)x1,
			 (unsigned long long)info.generation,
			 (unsigned long long)info.root_block,
			 ra == 1 ? ", with the never acknowledged key A" : "",
			 ra == 1 ? "the first cut's root came back" : why);
	assert_true(info.generation == g0);
	/* life goes on: a flush and a reopen */
	mkkey(KB, k);
	gen_val(KB, 3, LEN, v);
	assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
	assert_int_equal(wodan_close(w), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&d.be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.live_keys, 31);
	wodan_check_report_free(&rep);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	snap0[KB] = (struct ent){ 3, LEN };
	if (state_equal(w, snap0, why, sizeof why))
		fail_msg("B4 (header %d): after life goes on: %s",
			 header_landed, why);
	wodan_abandon(w);
	free(snap0);
	free(img);
	free(tmp);
	free(base);
	free(r1);
	free(r2);
	free(pre);
}

static void test_b4_torn_rewrite(void **state)
{
	(void)state;
	b4_case(0);
	b4_case(1);
	printf("# B4: two torn root writes to one block, header sector lost "
	       "or landed in the first: the mount finds the last durable "
	       "root\n");
}

/* ------------------------------------------ check and open agree on gens */

/*
 * A root whose generation is at or above 2^62 (journal.h WD_GEN_LIMIT):
 * a writable open refuses it (the next generations would wrap to a
 * preroot's 0), so wodan_check must report it as a problem naming the
 * block and the generation, not call the image clean.  The image is made
 * by the library and its root's generation rewritten, CRC re-sealed.
 */
static void test_check_huge_root_generation(void **state)
{
	(void)state;
	const uint64_t lsize = 64, gens[] = { 1ull << 62, (1ull << 62) + 1,
					      UINT64_MAX - 1, UINT64_MAX };
	const size_t size = lsize * BS;
	uint8_t *img = calloc(1, size);
	assert_non_null(img);
	struct memdev d;
	md_init(&d, img, size);
	struct wodan_mkfs_params mp = { .block_size_bytes = BS,
					.key_size_bytes = KS,
					.tombstones = 1 };
	assert_int_equal(wodan_mkfs(&d.be, &mp, NULL), 0);
	wodan_t *w;
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	uint8_t k[KS], v[100];
	for (uint32_t i = 1; i < 200; i++) {
		mkkey(i, k);
		gen_val(i, 1, sizeof v, v);
		assert_int_equal(wodan_insert(w, k, KS, v, sizeof v), 0);
	}
	assert_int_equal(wodan_close(w), 0);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	wodan_abandon(w);
	uint64_t L = info.root_block;
	assert_true(info.depth >= 1); /* the root has children */
	uint8_t *saved = malloc(BS);
	assert_non_null(saved);
	memcpy(saved, img + L * BS, BS);
	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
		uint8_t *blk = img + L * BS;
		memcpy(blk, saved, BS);
		for (int b = 0; b < 8; b++)
			blk[1 + b] = (uint8_t)(gens[i] >> (8 * b));
		wd_crc_seal(blk, BS);
		/* the open refuses to write above it; read-only works */
		int r = wodan_open(&d.be, NULL, &w);
		assert_int_equal(r, WODAN_E_CORRUPT);
		struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
		assert_int_equal(wodan_open(&d.be, &ro, &w), 0);
		wodan_get_info(w, &info);
		assert_true(info.generation == gens[i]);
		wodan_abandon(w);
		/* check: a problem at the root's block, naming it and the
		 * generation; the tree itself is fine */
		struct wodan_check_report rep;
		r = wodan_check(&d.be, 0, &rep, NULL, NULL);
		char want_gen[32], want_blk[48];
		snprintf(want_gen, sizeof want_gen, "%llu",
			 (unsigned long long)gens[i]);
		snprintf(want_blk, sizeof want_blk, "block %llu",
			 (unsigned long long)L);
		if (r != 1 || rep.n_problems != 1 || rep.problems[0].block != L ||
		    rep.problems[0].code != WODAN_E_CORRUPT ||
		    !strstr(rep.problems[0].what, want_gen) ||
		    !strstr(rep.problems[0].what, want_blk))
			fail_msg("check of a root at generation %llu (block %llu):"
				 " returned %d, %u problems, first at block "
				 "%llu: %s", (unsigned long long)gens[i],
				 (unsigned long long)L, r, rep.n_problems,
				 rep.n_problems ? (unsigned long long)
				 rep.problems[0].block : 0ull,
				 rep.n_problems ? rep.problems[0].what : "-");
		assert_true(rep.opened);
		assert_true(rep.generation == gens[i]);
		assert_int_equal(rep.live_keys, 199);
		wodan_check_report_free(&rep);
	}
	/* and the generation just below the limit is clean */
	memcpy(img + L * BS, saved, BS);
	for (int b = 0; b < 8; b++)
		img[L * BS + 1 + b] = (uint8_t)(((1ull << 62) - 1) >> (8 * b));
	wd_crc_seal(img + L * BS, BS);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&d.be, 0, &rep, NULL, NULL), 0);
	wodan_check_report_free(&rep);
	free(saved);
	free(img);
}

int main(void)
{
	const char *rp = getenv("WODAN_CRASH_REPLAY");
	if (rp)
		return replay(rp);
	seed = tu_seed("test_crash");
	max_print = tu_env_u64("WODAN_CRASH_PRINT", 20);
	uint64_t soak_n = tu_env_u64("WODAN_CRASH_SOAK", 0);
	if (soak_n)
		return soak(soak_n);
	/* WODAN_CRASH_TEST=NAME runs only the tests matching NAME (cmocka
	 * filter, e.g. test_b4_torn_rewrite) */
	if (getenv("WODAN_CRASH_TEST"))
		cmocka_set_test_filter(getenv("WODAN_CRASH_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b4_torn_rewrite),
		cmocka_unit_test(test_check_huge_root_generation),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_ioerr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
