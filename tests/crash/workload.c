/*
 * crash/workload.c -- random workloads (steps of random batches).
 */
#include "crash.h"

/* ------------------------------------------------- random workloads */

void workload_free(struct workload *W)
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

void scen_of(const struct workload *W, size_t b, size_t n,
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

void build_workload(uint64_t wseed, const char *tag,
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
		memdev_init(&md, W->img[0], size, "crash-ram");
		mkfs_rng = tu_splitmix(&rng);
		assert_int_equal(wodan_mkfs(&md.be, &W->mp, NULL), 0);
	}
	W->snap[0] = snap_new(&pool);
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

const struct trace *workload_ref(struct workload *W, size_t b,
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
