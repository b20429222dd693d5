/*
 * bitflip/rollback.c -- damaged blocks of the newest trees: wodan_check
 * lists exactly the intact older generations, WODAN_OPEN_ROLLBACK opens the
 * newest of them
 */
#include "bitflip.h"

/* ----------------------------------------------------------- rollback */

/* Damage block L (one bit), check and rollback-open, undo. */
static void rollback_case(const char *what, const uint64_t *Ls, int nL,
			  struct cnt *c)
{
	uint32_t bit = 8 * 64 + 3;
	for (int i = 0; i < nL; i++)
		flip(Ls[i], &bit, 1);
	/* oracle: the generations whose trees are intact, newest first */
	uint64_t want[MAXGEN];
	int nwant = 0;
	int newest_ok = intact(img, &gens[ngens - 1]);
	for (int i = ngens - 2; i >= 0; i--)
		if (intact(img, &gens[i]))
			want[nwant++] = gens[i].gen;
	struct memdev d;
	md_init(&d, img);
	struct wodan_check_report rep;
	int r = wodan_check(&d.be, 0, &rep, NULL, NULL);
	int bad = 0;
	c->tried++;
	if (newest_ok || r != 1) {
		fail_at(c, "%s: check returned %d", what, r);
		bad = 1;
	}
	for (uint32_t i = 0; i < rep.n_problems && !bad; i++) {
		int known = 0;
		for (int j = 0; j < nL; j++)
			known |= rep.problems[i].block == Ls[j];
		if (!known) {
			fail_at(c, "%s: check names block %llu, not damaged",
				what, (unsigned long long)rep.problems[i].block);
			bad = 1;
		}
	}
	uint32_t nlist = (uint32_t)(nwant < 8 ? nwant : 8);
	if (!bad && rep.n_intact_older != nlist) {
		char a[200] = "", b[200] = "";
		for (uint32_t i = 0; i < rep.n_intact_older; i++)
			snprintf(a + strlen(a), sizeof a - strlen(a), " %llu",
				 (unsigned long long)rep.intact_older_generations[i]);
		for (uint32_t i = 0; i < nlist; i++)
			snprintf(b + strlen(b), sizeof b - strlen(b), " %llu",
				 (unsigned long long)want[i]);
		fail_at(c, "%s: check lists %u intact older generations (%s), "
			"the oracle %u (%s)", what, rep.n_intact_older, a, nlist,
			b);
		bad = 1;
	}
	for (uint32_t i = 0; i < nlist && !bad; i++)
		if (rep.intact_older_generations[i] != want[i]) {
			fail_at(c, "%s: intact older generation #%u is %llu, the "
				"oracle says %llu", what, i,
				(unsigned long long)rep.intact_older_generations[i],
				(unsigned long long)want[i]);
			bad = 1;
		}
	wodan_check_report_free(&rep);
	/* plain open refuses, naming a damaged block */
	wodan_t *w = NULL;
	r = wodan_open(&d.be, NULL, &w);
	if (!bad && !r) {
		fail_at(c, "%s: plain open succeeded", what);
		bad = 1;
	}
	wodan_abandon(w);
	w = NULL;
	/* rollback (read-only: nothing written) opens the newest intact */
	struct wodan_open_opts o = { .flags = WODAN_OPEN_ROLLBACK |
					      WODAN_OPEN_READONLY };
	r = wodan_open(&d.be, &o, &w);
	if (!bad && nwant == 0 && r == 0) {
		fail_at(c, "%s: rollback opened although no tree is intact",
			what);
		bad = 1;
	} else if (!bad && nwant) {
		struct wodan_info info = { 0 };
		if (!r)
			wodan_get_info(w, &info);
		if (r || info.generation != want[0]) {
			fail_at(c, "%s: rollback open: %s gen %llu, want %llu",
				what, wodan_strerror(r),
				(unsigned long long)info.generation,
				(unsigned long long)want[0]);
			bad = 1;
		} else if (equals_model(w, gen_rec(want[0])->model)) {
			fail_at(c, "%s: rolled back to gen %llu with the wrong "
				"contents", what, (unsigned long long)want[0]);
			bad = 1;
		}
	}
	wodan_abandon(w);
	if (!bad && run_cli("--rollback", Ls[0], 4) == 1) {
		fail_at(c, "%s: wodanc check --rollback", what);
		bad = 1;
	}
	if (!bad)
		c->detected++;
	if (nwant)
		printf("# rollback, %s: %d intact older generation(s), opened "
		       "gen %llu\n", what, nwant, (unsigned long long)want[0]);
	else
		printf("# rollback, %s: no intact older generation, rollback "
		       "refused\n", what);
	for (int i = 0; i < nL; i++)
		flip(Ls[i], &bit, 1);
}

static int in_tree(const struct genrec *g, uint64_t L)
{
	for (uint64_t i = 0; i < g->nblk; i++)
		if (g->blk[i] == L)
			return 1;
	return 0;
}

void test_rollback(void **state)
{
	(void)state;
	struct cnt c = { 0 };
	const struct genrec *g0 = &gens[ngens - 1], *g1 = &gens[ngens - 2],
			    *g2 = &gens[ngens - 3];
	uint64_t Ls[4];
	/* a non-root block only the newest tree has, at each depth */
	for (uint32_t depth = 0; depth < 2; depth++) {
		assert_int_equal(tree_blocks(img, newest_root, &gens[ngens - 1]), 0);
		Ls[0] = 0;
		for (int i = 0; i < nnodes; i++)
			if (!nodes[i].is_root && nodes[i].rdepth == depth &&
			    !in_tree(g1, nodes[i].L)) {
				Ls[0] = nodes[i].L;
				break;
			}
		if (!Ls[0])
			continue;
		char what[96];
		snprintf(what, sizeof what, "%s only the newest tree has "
			 "(block %llu)", depth ? "an inner node" : "a leaf",
			 (unsigned long long)Ls[0]);
		rollback_case(what, Ls, 1, &c);
	}
	/* blocks unique to the two newest trees: back to the third */
	Ls[0] = Ls[1] = 0;
	for (uint64_t i = 0; i < g0->nblk && !Ls[0]; i++)
		if (g0->blk[i] != g0->root && !in_tree(g1, g0->blk[i]))
			Ls[0] = g0->blk[i];
	for (uint64_t i = 0; i < g1->nblk && !Ls[1]; i++)
		if (g1->blk[i] != g1->root && !in_tree(g2, g1->blk[i]) &&
		    intact(img, g1))
			Ls[1] = g1->blk[i];
	if (Ls[0] && Ls[1])
		rollback_case("blocks of the two newest trees", Ls, 2, &c);
	/* a leaf shared by the newest trees: rollback skips every tree
	 * holding it */
	Ls[0] = 0;
	for (uint64_t i = 0; i < g0->nblk && !Ls[0]; i++)
		if (g0->blk[i] != g0->root && in_tree(g1, g0->blk[i]) &&
		    in_tree(g2, g0->blk[i]))
			Ls[0] = g0->blk[i];
	if (Ls[0])
		rollback_case("a block shared by the three newest trees", Ls, 1,
			      &c);
	printf("# rollback cases: %llu tried, %llu passed\n",
	       (unsigned long long)c.tried, (unsigned long long)c.detected);
	if (c.failures)
		fail_msg("%llu rollback failures (seed %llu)",
			 (unsigned long long)c.failures, (unsigned long long)seed);
	assert_true(c.tried >= 3);
}
