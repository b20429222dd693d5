/*
 * crash/scenarios.c -- the scripted scenarios of the exhaustive tier: one
 * row of kinds[] per scenario kind (geometry, how the step is made, and
 * for the searched kinds the batch, the event and the step).
 */
#include "crash.h"

/* ------------------------------------------------- scripted scenarios */
const char *const kind_name[K_NKINDS] = {
	"mkfs", "mkfs_garbage", "first_flush", "first_spill", "leaf_split",
	"root_split", "root_split2", "log_wrap", "tombstone_leaf",
	"restore_sorted", "restore_auto", "fstrim", "rollback"
};

struct gen_state {
	uint64_t rng;
	uint32_t ver;
	uint32_t next_fresh;   /* next never-used pool key */
	struct ent *model;
};

/* A searched kind: batches are applied (each from a fresh mount of the
 * image the previous ones left) until one shows the event; then the step
 * is made of it.  This is one batch that was just run. */
struct search {
	const struct kind_def *K;
	struct built *B;
	struct gen_state *g;
	uint64_t size;          /* image bytes */
	uint8_t *prev;          /* the image before the batch */
	struct wodan_info before; /* after the previous batch */
	uint32_t b;             /* batch number */
	struct opv o;           /* the batch */
	struct trace tr;        /* its run */
	struct wodan_backend *fb;
	struct memdev md;
	uint64_t tomb_before, tomb_after; /* tombstones stored (tombstone) */
};

enum shape { SH_MKFS, SH_RESTORE, SH_SEARCH };

struct kind_def {
	enum shape shape;
	uint64_t lsize;         /* base geometry (variants add 0..32) */
	uint32_t fanout;        /* variants 0 and 2 */
	/* SH_MKFS: a device of random bytes, mkfs with discard */
	int garbage;
	/* SH_RESTORE: n inserts (sorted: ascending keys, no auto-flush, else
	 * random keys), dirty budget */
	uint32_t restore_n;
	int sorted;
	uint64_t dirty_bytes;
	/* SH_SEARCH: one batch (ends with a flush: added by the caller) ... */
	void (*batch)(const struct kind_def *K, struct gen_state *g,
		      uint32_t b, struct opv *o);
	/* ... uniform batches: count inserts of keys 1..keys, lengths
	 * len0 + [0, lenspan) */
	uint32_t count, keys, len0, lenspan;
	/* did the batch show the event? */
	int (*event)(struct search *s);
	/* make the step of the batch that showed it: 0, or 1 when this
	 * batch cannot be the step after all (the search goes on) */
	int (*step)(struct search *s);
};

static uint32_t fresh_key(struct gen_state *g)
{
	/* spread the fresh keys over the pool */
	uint32_t i = g->next_fresh++;
	return (uint32_t)((i * 617u + 1u) % (NPOOL - 2)) + 1;
}

/* ------------------------------------------------------------- batches */

static void batch_fresh(const struct kind_def *K, struct gen_state *g,
			uint32_t b, struct opv *o)
{
	for (int i = 0; i < 5; i++)
		opv_push(o, OP_INS, fresh_key(g), ++g->ver,
			 20 + (uint32_t)tu_below(&g->rng, 80));
}

/* mostly fresh keys, some overwrites: the tree grows */
static void batch_grow(const struct kind_def *K, struct gen_state *g,
		       uint32_t b, struct opv *o)
{
	for (int i = 0; i < 12; i++) {
		uint32_t k = tu_below(&g->rng, 4) ? fresh_key(g)
			     : 1 + (uint32_t)tu_below(&g->rng, NPOOL - 2);
		opv_push(o, OP_INS, k, ++g->ver,
			 60 + (uint32_t)tu_below(&g->rng, 240));
	}
}

static void batch_uniform(const struct kind_def *K, struct gen_state *g,
			  uint32_t b, struct opv *o)
{
	for (uint32_t i = 0; i < K->count; i++)
		opv_push(o, OP_INS, 1 + (uint32_t)tu_below(&g->rng, K->keys),
			 ++g->ver, K->len0 + (uint32_t)tu_below(&g->rng, K->lenspan));
}

static void batch_tombstone(const struct kind_def *K, struct gen_state *g,
			    uint32_t b, struct opv *o)
{
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
}

static void batch_of(const struct kind_def *K, struct gen_state *g,
		     uint32_t b, struct opv *o)
{
	K->batch(K, g, b, o);
	opv_push(o, OP_FLUSH, 0, 0, 0);
}

/* -------------------------------------------------------------- events */

static int ev_always(struct search *s)
{
	return 1;
}

static int ev_spill(struct search *s)
{
	return s->tr.st.spills > 0;
}

static int ev_leaf_split(struct search *s)
{
	return s->tr.st.splits > 0 && s->before.depth >= 1 &&
	       s->tr.info.depth == s->before.depth;
}

static int ev_root_split(struct search *s)
{
	return s->tr.info.depth > s->before.depth;
}

static int ev_root_split2(struct search *s)
{
	return s->tr.info.depth > s->before.depth && s->before.depth >= 1;
}

/* a write below the previous one: the allocator went round the device */
static int ev_wrap(struct search *s)
{
	uint64_t last = 0;
	int ev = 0;
	for (uint64_t i = 0; i < s->tr.nops; i++) {
		const struct fault_op *x = fault_backend_op(s->fb, i);
		if (x->type != FAULT_OP_WRITE)
			continue;
		if (last && x->off_bytes / BS < last)
			ev = s->b >= 2;
		last = x->off_bytes / BS;
	}
	return ev;
}

/* fewer tombstones stored than deleted: one reached a leaf */
static int ev_tombstone(struct search *s)
{
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&s->md.be, 0, &rep, NULL, NULL), 0);
	s->tomb_after = rep.tombstones_stored;
	wodan_check_report_free(&rep);
	size_t ndel = 0;
	for (size_t i = 0; i < s->o.n; i++)
		ndel += s->o.v[i].t == OP_DEL;
	return s->before.depth >= 1 && ndel &&
	       s->tomb_after < s->tomb_before + ndel;
}

static int ev_depth1_after5(struct search *s)
{
	return s->b >= 5 && s->tr.info.depth >= 1;
}

/* --------------------------------------------------------------- steps */

static uint64_t gen_or_1(uint64_t g)
{
	return g ? g : 1;
}

/* the batch with the event and the next one (so a flush after it is cut
 * too) */
static int step_two_batches(struct search *s)
{
	struct built *B = s->B;
	struct scen *sc = &B->sc;
	memcpy(B->base, s->prev, s->size);
	memcpy(B->base_snap, s->g->model, NPOOL * sizeof *s->g->model);
	opv_cat(&sc->ops, &s->o);
	memcpy(s->g->model, s->tr.model, NPOOL * sizeof *s->tr.model);
	struct opv o2 = { 0 };
	batch_of(s->K, s->g, s->b + 1, &o2);
	opv_cat(&sc->ops, &o2);
	free(o2.v);
	sc->base_gen = gen_or_1(s->before.generation);
	return 0;
}

/* the batch (without its flush), a delete, fstrim, live trim, more
 * inserts, flush, live trim, fstrim */
static int step_fstrim(struct search *s)
{
	struct built *B = s->B;
	struct scen *sc = &B->sc;
	struct gen_state *g = s->g;
	memcpy(B->base, s->prev, s->size);
	opv_cat(&sc->ops, &s->o);
	sc->ops.n--; /* drop the batch's flush */
	opv_push(&sc->ops, OP_DEL, s->o.v[0].k, 0, 0);
	opv_push(&sc->ops, OP_FSTRIM, 0, 0, 0);
	opv_push(&sc->ops, OP_LTRIM, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		opv_push(&sc->ops, OP_INS, 1 + (uint32_t)tu_below(&g->rng, 300),
			 ++g->ver, 100);
	opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
	opv_push(&sc->ops, OP_LTRIM, 0, 0, 0);
	opv_push(&sc->ops, OP_FSTRIM, 0, 0, 0);
	memcpy(B->base_snap, g->model, NPOOL * sizeof *g->model);
	sc->base_gen = gen_or_1(s->before.generation);
	return 0;
}

/* keep the batch in the base; damage a block that only the newest tree
 * has (1 when the root links to none); the step opens with
 * WODAN_OPEN_ROLLBACK, inserts and flushes twice */
static int step_rollback(struct search *s)
{
	struct built *B = s->B;
	struct scen *sc = &B->sc;
	struct gen_state *g = s->g;
	uint64_t dmg = 0;
	uint8_t blk[BS];
	memcpy(blk, B->base + s->tr.info.root_block * BS, BS);
	for (uint32_t i = 0; i < 64; i++) {
		uint32_t off = BS - 4 - (i + 1) * (KS + 8);
		uint64_t L = oracle_le64(blk + off + KS);
		if (L == 0 || L >= sc->lsize)
			break;
		if (oracle_le64(B->base + L * BS + 1) > s->before.generation) {
			dmg = L;
			break;
		}
	}
	if (!dmg)
		return 1;
	B->base[dmg * BS + 100] ^= 0x20;
	sc->damaged_block = dmg;
	sc->base_gen = s->before.generation;
	memcpy(B->base_snap, g->model, NPOOL * sizeof *g->model);
	sc->oo.flags |= WODAN_OPEN_ROLLBACK;
	sc->vflags = WODAN_OPEN_ROLLBACK;
	for (int i = 0; i < 6; i++)
		opv_push(&sc->ops, OP_INS, 1 + (uint32_t)tu_below(&g->rng, 400),
			 ++g->ver, 80);
	opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
	opv_push(&sc->ops, OP_INS, 7, ++g->ver, 80);
	opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
	return 0;
}

/* --------------------------------------------------------------- table */

#define SEARCH(ls, fo, bt, ev, st)                                          \
	.shape = SH_SEARCH, .lsize = (ls), .fanout = (fo), .batch = (bt),   \
	.event = (ev), .step = (st)

static const struct kind_def kinds[K_NKINDS] = {
	/* mkfs on a zeroed device; on a garbage device with discard */
	[K_MKFS_ZERO] = { .shape = SH_MKFS, .lsize = 64, .fanout = 4 },
	[K_MKFS_GARBAGE] = { .shape = SH_MKFS, .lsize = 64, .fanout = 4,
			     .garbage = 1 },
	/* the first insert + flush */
	[K_FIRST_FLUSH] = { SEARCH(64, 4, batch_fresh, ev_always,
				   step_two_batches) },
	[K_FIRST_SPILL] = { SEARCH(64, 4, batch_grow, ev_spill,
				   step_two_batches) },
	/* a split below the root (depth unchanged) */
	[K_LEAF_SPLIT] = { SEARCH(64, 4, batch_grow, ev_leaf_split,
				  step_two_batches) },
	/* depth 0 -> 1 (any), then 1 -> 2 */
	[K_ROOT_SPLIT] = { SEARCH(64, 4, batch_grow, ev_root_split,
				  step_two_batches) },
	[K_ROOT_SPLIT2] = { SEARCH(64, 3, batch_grow, ev_root_split2,
				   step_two_batches) },
	/* overwrites within a small key set: the tree stays small and the
	 * allocator goes round the device */
	[K_WRAP] = { SEARCH(40, 4, batch_uniform, ev_wrap, step_two_batches),
		     .count = 10, .keys = 60, .len0 = 100, .lenspan = 300 },
	[K_TOMBSTONE] = { SEARCH(64, 3, batch_tombstone, ev_tombstone,
				 step_two_batches) },
	/* a restore: sorted without auto-flush (NEEDS_FLUSH), random with */
	[K_RESTORE_SORTED] = { .shape = SH_RESTORE, .lsize = 64, .fanout = 4,
			       .restore_n = 500, .sorted = 1,
			       .dirty_bytes = 24 * 1024 },
	[K_RESTORE_AUTO] = { .shape = SH_RESTORE, .lsize = 64, .fanout = 4,
			     .restore_n = 400, .dirty_bytes = 40 * 1024 },
	[K_FSTRIM] = { SEARCH(96, 4, batch_uniform, ev_depth1_after5,
			      step_fstrim),
		       .count = 14, .keys = 300, .len0 = 60, .lenspan = 300 },
	[K_ROLLBACK] = { SEARCH(64, 4, batch_uniform, ev_depth1_after5,
				step_rollback),
			 .count = 25, .keys = 400, .len0 = 60, .lenspan = 200 },
};

/* ---------------------------------------------------------------- build */

static void build_restore(const struct kind_def *K, struct built *B,
			  struct gen_state *g)
{
	struct scen *sc = &B->sc;
	uint32_t n = K->restore_n;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = K->sorted ? 1 + i * (NPOOL - 3) / n
				       : 1 + (uint32_t)tu_below(&g->rng, NPOOL - 2);
		opv_push(&sc->ops, OP_INS, k, ++g->ver,
			 30 + (uint32_t)tu_below(&g->rng, 250));
	}
	opv_push(&sc->ops, OP_FLUSH, 0, 0, 0);
	if (K->sorted)
		sc->oo.flags = WODAN_OPEN_NO_AUTOFLUSH;
	sc->oo.dirty_bytes = K->dirty_bytes;
}

static void build_search(const struct kind_def *K, struct built *B,
			 struct gen_state *g)
{
	struct scen *sc = &B->sc;
	struct search s = { .K = K, .B = B, .g = g,
			    .size = sc->lsize * BS };
	s.prev = malloc(s.size);
	int found = 0;
	for (s.b = 0; s.b < 300 && !found; s.b++) {
		memset(&s.o, 0, sizeof s.o);
		batch_of(K, g, s.b, &s.o);
		/* the step candidate: base = current image */
		memcpy(s.prev, B->base, s.size);
		struct scen t = *sc;
		t.ops = s.o;
		t.base = s.prev;
		t.base_snap = g->model;
		struct fault_params p;
		fault_params_init(&p, 1);
		s.fb = run_on(&t, B->base, &s.md, &p, &s.tr, 0);
		if (s.tr.err)
			fail_msg("%s: search batch %u failed: %s", sc->name, s.b,
				 wodan_strerror(s.tr.err));
		s.tomb_after = 0;
		int ev = K->event(&s);
		s.tomb_before = s.tomb_after;
		wodan_backend_close(s.fb);
		found = ev && K->step(&s) == 0;
		if (!found) {
			memcpy(g->model, s.tr.model, NPOOL * sizeof *s.tr.model);
			s.before = s.tr.info;
		}
		free(s.o.v);
		trace_free(&s.tr);
	}
	if (!found)
		fail_msg("scenario %s: event not reached", sc->name);
	free(s.prev);
}

void build_scripted(enum kind kd, int var, uint64_t sseed,
			   struct built *B)
{
	const struct kind_def *K = &kinds[kd];
	memset(B, 0, sizeof *B);
	struct scen *sc = &B->sc;
	snprintf(sc->name, sizeof sc->name, "%s.%d", kind_name[kd], var);
	uint64_t rng = tu_mix(sseed, (uint64_t)kd * 16 + (uint64_t)var + 1);
	/* variant 0: the base geometry; others: other sizes and fanouts */
	sc->lsize = K->lsize;
	if (var)
		sc->lsize += 8 * tu_below(&rng, 5);
	sc->oo.cache_bytes = (var == 2 ? 2 : 8) * BS;
	sc->oo.max_fanout = K->fanout;
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

	if (K->shape == SH_MKFS) {
		if (K->garbage)
			for (uint64_t i = 0; i < size; i += 8) {
				uint64_t x = tu_splitmix(&rng);
				memcpy(B->base + i, &x, 8);
			}
		sc->base_snap = NULL;
		sc->base_gen = 0;
		sc->mp.discard = K->garbage;
		opv_push(&sc->ops, OP_MKFS, 0, 0, 0);
		reference(sc, &B->ref);
		return;
	}

	/* format the base */
	{
		struct memdev md;
		memdev_init(&md, B->base, size, "crash-ram");
		mkfs_rng = sc->mkfs_seed;
		assert_int_equal(wodan_mkfs(&md.be, &sc->mp, NULL), 0);
	}
	B->base_snap = snap_new(&pool);
	sc->base_snap = B->base_snap;
	sc->base_gen = 1;

	struct gen_state g = { .rng = tu_splitmix(&rng), .ver = 1,
			       .model = snap_new(&pool) };
	if (K->shape == SH_RESTORE)
		build_restore(K, B, &g);
	else
		build_search(K, B, &g);
	free(g.model);
	reference(sc, &B->ref);
}
