/*
 * crash/scenarios.c -- the scripted scenarios of the exhaustive tier.
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
void build_scripted(enum kind kd, int var, uint64_t sseed,
			   struct built *B)
{
	memset(B, 0, sizeof *B);
	struct scen *sc = &B->sc;
	snprintf(sc->name, sizeof sc->name, "%s.%d", kind_name[kd], var);
	uint64_t rng = tu_mix(sseed, (uint64_t)kd * 16 + (uint64_t)var + 1);
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
		memdev_init(&md, B->base, size, "crash-ram");
		mkfs_rng = sc->mkfs_seed;
		assert_int_equal(wodan_mkfs(&md.be, &sc->mp, NULL), 0);
	}
	B->base_snap = snap_new(&pool);
	sc->base_snap = B->base_snap;
	sc->base_gen = 1;

	struct gen_state g = { .rng = tu_splitmix(&rng), .ver = 1,
			       .model = snap_new(&pool) };
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
