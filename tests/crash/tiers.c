/*
 * crash/tiers.c -- the exhaustive, random and double-fault tiers.
 */
#include "crash.h"

/* ---------------------------------------------------------- the tiers */

static int scripted_ready, works_ready;

void ensure_scripted(void)
{
	if (scripted_ready)
		return;
	for (int k = 0; k < K_NKINDS * NVAR; k++)
		build_scripted((enum kind)(k / NVAR), k % NVAR, seed,
			       &scripted[k]);
	scripted_ready = 1;
}

void ensure_works(void)
{
	if (works_ready)
		return;
	for (int i = 0; i < NWORK; i++) {
		char tag[16];
		snprintf(tag, sizeof tag, "w%d", i);
		build_workload(tu_mix(seed, 1000 + (uint64_t)i), tag, &works[i]);
		printf("# workload %s: lsize %llu, fanout %u, %zu batches, %llu "
		       "ops, depth %u, root wraps %u\n", tag,
		       (unsigned long long)works[i].lsize, works[i].oo.max_fanout,
		       works[i].nb, (unsigned long long)works[i].writes,
		       works[i].depth, works[i].wraps);
	}
	fflush(stdout);
	works_ready = 1;
}

void tally_print(const char *tier, const struct tally *T)
{
	printf("# %s: %llu cut points, %llu checks (old state %llu, in-flight "
	       "state %llu, unformatted %llu), %llu failures, %.1f s\n", tier,
	       (unsigned long long)T->points, (unsigned long long)T->checks,
	       (unsigned long long)T->old, (unsigned long long)T->newer,
	       (unsigned long long)T->unformatted,
	       (unsigned long long)T->failures,
	       (double)(tu_now_ns() - T->t0) / 1e9);
	fflush(stdout);
}

void test_exhaustive(void **state)
{
	(void)state;
	ensure_scripted();
	struct tally all = { .t0 = tu_now_ns() };
	for (int k = 0; k < K_NKINDS * NVAR; k++) {
		struct built *B = &scripted[k];
		const struct scen *sc = &B->sc;
		struct tally T = { .t0 = tu_now_ns() };
		uint8_t *img = malloc(sc->lsize * BS);
		uint64_t E = B->ref.nops;
		for (uint64_t e = 0; e <= E; e++) {
			T.points++;
			for (int m = 0; m < FAULT_CUT_NMODES; m++) {
				if (m == FAULT_CUT_TORN &&
				    (e >= E || B->ref.optype[e] != 1))
					continue;
				uint64_t rs = tu_mix(tu_mix(seed, (uint64_t)k), e * 8 + (uint64_t)m);
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

/*
 * The second step of a double fault, shared by the double tier and the
 * replay of its ids: from img (sc->lsize blocks), the image the first cut
 * left, holding snap1 at generation gen1, some inserts/deletes drawn from
 * r2 and a flush (and maybe one more insert + flush).  The ghost root of
 * the first cut (last_ghost_root/gen) goes into *s2.  *s2 points to
 * *base2, a copy of img; the caller frees s2->ops.v and *base2.
 */
void second_step(const struct scen *sc, const uint8_t *img,
		 const struct ent *snap1, uint64_t gen1, uint64_t r2,
		 struct scen *s2, uint8_t **base2)
{
	*s2 = *sc;
	memset(&s2->ops, 0, sizeof s2->ops);
	*base2 = malloc(sc->lsize * BS);
	assert_non_null(*base2);
	memcpy(*base2, img, sc->lsize * BS);
	s2->base = *base2;
	s2->base_snap = snap1;
	s2->base_gen = gen1;
	s2->ghost_root = last_ghost_root;
	s2->ghost_gen = last_ghost_gen;
	uint64_t rr = r2;
	uint32_t n = 1 + (uint32_t)tu_below(&rr, 12);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = 1 + (uint32_t)tu_below(&rr, NPOOL - 2);
		if (tu_below(&rr, 5) == 0)
			opv_push(&s2->ops, OP_DEL, k, 0, 0);
		else
			opv_push(&s2->ops, OP_INS, k,
				 0x10000000u + (uint32_t)tu_below(&rr, 1u << 27),
				 1 + (uint32_t)tu_below(&rr, 400));
	}
	opv_push(&s2->ops, OP_FLUSH, 0, 0, 0);
	if (tu_below(&rr, 2)) {
		opv_push(&s2->ops, OP_INS, 5, 0x0f000000u, 50);
		opv_push(&s2->ops, OP_FLUSH, 0, 0, 0);
	}
}

/* Draw one random cut: a workload step (or a scripted scenario). */
int random_cut(uint64_t *rng, struct workload *ws, int nws,
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
			uint64_t r2 = tu_splitmix(rng);
			struct scen s2;
			uint8_t *base2;
			second_step(&sc, img, snap1, gen1, r2, &s2, &base2);
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

uint64_t max_lsize(void)
{
	uint64_t m = 128;
	for (int i = 0; i < NWORK; i++)
		if (works[i].lsize > m)
			m = works[i].lsize;
	return m;
}

void test_random(void **state)
{
	(void)state;
	ensure_scripted();
	ensure_works();
	uint64_t n = tu_env_u64("WODAN_CRASH_RANDOM", 20000);
	struct tally T = { .t0 = tu_now_ns() };
	uint64_t rng = tu_mix(seed, 0x7a4d);
	uint8_t *img = malloc(max_lsize() * BS);
	for (uint64_t i = 0; i < n; i++)
		random_cut(&rng, works, NWORK, &T, img, 0, NULL);
	free(img);
	tally_print("tier random", &T);
	if (T.failures)
		fail_msg("%llu failures in the random tier (seed %llu)",
			 (unsigned long long)T.failures, (unsigned long long)seed);
}

void test_double(void **state)
{
	(void)state;
	ensure_scripted();
	ensure_works();
	uint64_t n = tu_env_u64("WODAN_CRASH_DOUBLE", 2000);
	struct tally T = { .t0 = tu_now_ns() };
	uint64_t rng = tu_mix(seed, 0xd0b1e);
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
