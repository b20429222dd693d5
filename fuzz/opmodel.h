/*
 * opmodel.h -- the random-operation model checker over the PUBLIC libwodan
 * API (wodan.h only), shared by `wodanc fuzz --ops` (wodanc/cmd_fuzz.c),
 * the hostile-image exercise (fuzz/image_exercise.c, also behind the
 * libFuzzer harness fuzz_image) and tests/test_model.c.
 *
 * Three pieces:
 *   - struct om_map: the model's state, a sorted bounded map of fixed-size
 *     keys to values (binary search, one allocation per entry);
 *   - struct om_cfg + om_draw_cfg(): a geometry (block size, key size,
 *     device blocks, key pool, tombstones, journal, magic CRC, fanout),
 *     budgets (cache, dirty, value cap) and an operation mix, drawn from a
 *     seed where the caller left 0;
 *   - struct om: a session on one backend.  Generated runs (om_prepare,
 *     om_mkfs, om_open, om_run) draw operations from the seed: insert,
 *     delete, lookup of present and absent keys, range and full iteration,
 *     flush, close+reopen (optionally with a fast scan), power cut
 *     (abandon + reopen: the last flushed state comes back) and wodan_check
 *     of the closed image; every result is compared with the model.  The
 *     image exercise drives the same checks (om_change, om_check_*) by hand
 *     on an image it did not write.
 *
 * A divergence is reported once on stderr: the step, the operation, the
 * key in hex, expected vs got, the seed, the last library error, the
 * geometry, and the caller's replay line (om.replay).  With
 * om.abort_on_divergence it prints "NAME: MISMATCH: ..." and aborts (a
 * crash for fuzzers).  Not thread-safe: one session per thread.
 */
#ifndef WODAN_FUZZ_OPMODEL_H
#define WODAN_FUZZ_OPMODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "wodan.h"
#include "detrand.h"

/* ================================================================ map */

/* One entry: kv holds the key (the map's ks bytes) then len value bytes. */
struct om_ent {
	uint8_t *kv;
	uint32_t len;
};

/* Sorted by key (memcmp over ks bytes), no duplicates, at most max
 * entries.  Owns every kv. */
struct om_map {
	struct om_ent *v;
	size_t n, cap, max;
	uint32_t ks;
};

/* An empty map of ks-byte keys (1..255) holding at most max entries. */
void om_map_init(struct om_map *m, uint32_t ks, size_t max);
/* Free every entry; the map is then empty (and may be reused). */
void om_map_free(struct om_map *m);
/* Index of the first entry with key >= k (ks bytes); *found = 1 when that
 * entry's key equals k. */
size_t om_map_find(const struct om_map *m, const uint8_t *k, int *found);
/* Insert or replace k -> v (len bytes, copied).  0, or -1 when the map is
 * full (max entries) or out of memory (nothing changed). */
int om_map_put(struct om_map *m, const uint8_t *k, const uint8_t *v,
	       uint32_t len);
/* Remove k if present. */
void om_map_del(struct om_map *m, const uint8_t *k);
/* dst = a copy of src (dst's old entries freed).  0, or -1 when out of
 * memory (dst is then empty). */
int om_map_copy(struct om_map *dst, const struct om_map *src);

static inline const uint8_t *om_key(const struct om_map *m, size_t i)
{
	return m->v[i].kv;
}

static inline const uint8_t *om_val(const struct om_map *m, size_t i)
{
	return m->v[i].kv + m->ks;
}

/* ======================================================= configuration */

/* Second-level operation mix, weights per 1000 (after flush/reopen/cut). */
enum { OM_INSERT, OM_DELETE, OM_LOOKUP, OM_RANGE, OM_ALL, OM_NMIX };

struct om_cfg {
	/* geometry; 0 = draw (om_draw_cfg) */
	uint32_t bs, ks;         /* block size, key size (1..255) bytes */
	uint64_t blocks;         /* device size in blocks */
	uint32_t nkeys;          /* distinct keys in the pool (>= 2) */
	/* always drawn by om_draw_cfg (set them after it to fix them) */
	int tombstones, journal, magic, fast_reopen, no_autoflush;
	uint32_t flush_rate, reopen_rate, cut_rate;  /* per 1000 steps */
	uint32_t max_val;        /* cap on random value lengths, bytes */
	uint32_t fanout;         /* max_fanout open option (0 = default) */
	uint64_t cache, dirty;   /* open budgets, bytes (0 = default) */
	/* never drawn */
	int vary_budgets;        /* each open: half the time NO_AUTOFLUSH and
				  * a dirty budget (soft = hard) of 1..8
				  * blocks, drawn from the seed */
	uint16_t mix[OM_NMIX];   /* all 0 = 530 170 250 40 10 */
	int flush_twice;         /* the flush operation flushes again at
				  * once: same generation expected (nothing
				  * is dirty).  The second flush also
				  * changes the state (releases space), so
				  * it is an option */
};

/* Fill the zero geometry fields of c and draw every "always drawn" field
 * from *rng (advanced).  The order of draws is fixed: a seed gives the
 * same configuration in every version that keeps this function. */
void om_draw_cfg(struct om_cfg *c, uint64_t *rng);

/* Largest key size whose inner nodes hold 3 links at block size bs. */
uint32_t om_max_ks(uint32_t bs);

/* ============================================================ session */

struct om_counts {
	uint64_t inserts, deletes, lookups, iterations, flushes, reopens;
	uint64_t cuts, checks, needs_flush, auto_flushes, out_of_space;
	uint64_t hard_stops;     /* wodan_stats.hard_ceiling_stops, summed
				  * over the handles */
};

struct om {
	/* set by the caller before use (om_init sets defaults) */
	const char *name;            /* message prefix, e.g. "wodanc fuzz" */
	int abort_on_divergence;
	int lookup_after_change;     /* om_change also checks a lookup */
	/* print how to replay the run (one or more lines, to f); NULL: none */
	void (*replay)(const struct om *s, FILE *f);
	void *arg;                   /* for replay */
	uint64_t seed;               /* printed in reports */
	uint64_t rng;                /* operation stream */
	struct om_cfg c;
	struct wodan_backend *be;    /* not owned */
	struct wodan_open_opts o;    /* options of every open */

	/* state */
	wodan_t *w;
	uint64_t step;
	const char *op;              /* operation of the current step */
	uint32_t ks, maxv;
	int tombstones;
	uint8_t *pool;               /* npool * ks, ascending (generated) */
	uint32_t npool;
	struct om_map cur, dur;      /* current and last flushed state */
	uint8_t *val, *got;          /* 65536-byte buffers */
	uint64_t gen;                /* generation of the last flush */
	struct om_counts n;
	uint32_t depth;              /* from the last om_check_image */
	uint64_t nodes;
};

/* Zero s and set the defaults: name "wodan model", report and return. */
void om_init(struct om *s, const char *name, uint64_t seed);

/* Generated runs.  s->c must be complete (om_draw_cfg), s->be set.
 * om_prepare: the key pool (s->c.nkeys random keys plus all-00 and
 * all-ff, sorted, every key when the key space is smaller), the models,
 * the buffers, s->o from s->c.  0, or -1 when out of memory. */
int om_prepare(struct om *s);
/* wodan_mkfs of s->be with s->c's geometry: its WODAN_E_* (0 = done). */
int om_mkfs(struct om *s);
/* Open s->w (FAST_SCAN when fast) and check the generation against the
 * last flush (a journal image's writable open makes a newer root).
 * 0, or 1 after a divergence report. */
int om_open(struct om *s, int fast);
/* One random operation.  0, or 1 after a divergence report. */
int om_step(struct om *s);
/* om_open, ops steps, close, om_check_image.  0, or 1 after a divergence
 * report (s->w is then abandoned by om_free). */
int om_run(struct om *s, uint64_t ops);

/* Checks of s->w against s->cur; each returns 0, or 1 after a report.
 * when: a prefix for messages ("" or e.g. "after reopen: "). */
int om_check_lookup(struct om *s, const uint8_t *key, const char *when);
/* Iterate [start, end) (NULL = open end) and compare. */
int om_check_range(struct om *s, const uint8_t *start, const uint8_t *end,
		   const char *when);
/* Whole iteration, then lookups: with a pool, of up to 2000 pool keys
 * (random offset); without, two sub-ranges and up to 64 model keys, a
 * neighbour of each, the all-00 and all-ff keys. */
int om_check_all(struct om *s, const char *when);
/* wodan_check of the closed image: clean, live keys == s->dur, used +
 * free == logical size; sets s->depth, s->nodes. */
int om_check_image(struct om *s);

/* Insert key -> val (len bytes) or, val NULL, delete key, with the error
 * contract: on any error nothing visible changes; NEEDS_FLUSH is answered
 * by a flush and one retry; OUT_OF_SPACE (or NEEDS_FLUSH again) leaves the
 * model as is; an auto flush (generation moved) makes the state before the
 * change durable; a delete without tombstones must be refused with
 * NOT_SUPPORTED; an empty value with tombstones is a delete.  0, or 1
 * after a report. */
int om_change(struct om *s, const uint8_t *key, const uint8_t *val,
	      uint32_t len);
/* wodan_flush: the model becomes durable.  0, or 1 after a report. */
int om_flush(struct om *s);

/* Report a divergence (see the top); returns 1. */
int om_diverge(struct om *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The configuration, one line on f, after "NAME: seed S: ". */
void om_print_cfg(const struct om *s, FILE *f);

/* Abandon s->w if open, free what s owns (not s->be). */
void om_free(struct om *s);

/* At most 16 bytes of b in hex, ".." when longer: for messages. */
const char *om_hex(const uint8_t *b, size_t len, char out[41]);

#endif
