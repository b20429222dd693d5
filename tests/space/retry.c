/*
 * space/retry.c -- after NEEDS_FLUSH and a successful flush the retried
 * call goes through or answers OUT_OF_SPACE (fixed seeds)
 */
#include "space.h"

/* ------------------------------------------------------ flush, then retry */

/*
 * The retry rule of wodan.h: after NEEDS_FLUSH and a successful flush, the
 * same call goes through or answers OUT_OF_SPACE -- never NEEDS_FLUSH again.
 * It used to fail now and then: one insert can need more spills and splits
 * than the dirty hard ceiling admits at once (a bucket spilled into a full
 * child makes that child spill in turn), or a deeper path than the
 * ceiling's nodes, so the retry stopped at the ceiling again.  Small dirty
 * budgets (the hard ceiling at its floor of 16 nodes), fanouts 2..16,
 * images with and without the journal, random, ascending and descending
 * keys, a few deletions and overwrites; every NEEDS_FLUSH is answered by
 * one flush and one retry, and the model must match at the end.
 *
 * The seeds are fixed (1..WODAN_RETRY_SEEDS, default 40 per shape), so the
 * test is the same on every run; WODAN_RETRY_SEED=N runs seed N alone.
 */
static void retry_one(uint64_t rseed, int journal, int order, uint64_t *nf,
		      uint64_t *oos)
{
	uint64_t rng = rseed * 0x9e3779b97f4a7c15ull + (uint64_t)order;
	const int N = 3000;
	uint32_t fan = 2 + (uint32_t)tu_below(&rng, 15);
	uint32_t vmax = 20 + (uint32_t)tu_below(&rng, 300);
	uint64_t budget = 16384ull << tu_below(&rng, 4);
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(32u << 20, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = 4096,
				       .key_size_bytes = KS,
				       .tombstones = 1, .journal = journal };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	struct wodan_open_opts o = { .flags = WODAN_OPEN_NO_AUTOFLUSH,
				     .dirty_bytes = budget,
				     .max_fanout = fan };
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(be, &o, &w), 0);
	struct model cur = { 0 };
	uint8_t key[KS], val[400];
	const char *shape = order == 0 ? "random" : order == 1 ? "ascending"
							       : "descending";
	for (int i = 0; i < N; i++) {
		uint64_t dice = tu_below(&rng, 100);
		int del = 0;
		if (cur.n && dice < 8) {
			/* an overwrite, or a deletion */
			memcpy(key, cur.e[tu_below(&rng, cur.n)].key, KS);
			del = dice < 3;
		} else {
			uint64_t k = order == 1 ? (uint64_t)i
				   : order == 2 ? (uint64_t)(N - i)
						: tu_splitmix(&rng);
			memset(key, 0, KS);
			for (int b = 0; b < 8; b++)
				key[KS - 1 - b] = (uint8_t)(k >> (8 * b));
			if (order == 0)
				rand_bytes(&rng, key, 8);
		}
		uint32_t len = del ? 0 : 1 + (uint32_t)tu_below(&rng, vmax);
		rand_bytes(&rng, val, len);
		int r = del ? wodan_delete(w, key, KS)
			    : wodan_insert(w, key, KS, val, len);
		if (r == WODAN_E_NEEDS_FLUSH) {
			(*nf)++;
			char first[256];
			snprintf(first, sizeof first, "%s",
				 wodan_last_error()->message);
			int fr = wodan_flush(w, NULL);
			if (fr)
				fail_msg("%s keys, journal %d, op %d: flush: %s "
					 "(retry seed %llu: replay with "
					 "WODAN_RETRY_SEED=%llu)", shape, journal,
					 i, wodan_last_error()->message,
					 (unsigned long long)rseed,
					 (unsigned long long)rseed);
			r = del ? wodan_delete(w, key, KS)
				: wodan_insert(w, key, KS, val, len);
			if (r == WODAN_E_NEEDS_FLUSH)
				fail_msg("%s keys, journal %d, fanout %u, dirty "
					 "budget %llu, op %d: NEEDS_FLUSH (%s), a "
					 "successful flush, and the retry answered "
					 "NEEDS_FLUSH again: %s (retry seed %llu: "
					 "replay with WODAN_RETRY_SEED=%llu)",
					 shape, journal, fan,
					 (unsigned long long)budget, i, first,
					 wodan_last_error()->message,
					 (unsigned long long)rseed,
					 (unsigned long long)rseed);
		}
		if (r == WODAN_E_OUT_OF_SPACE) {
			(*oos)++; /* final (a depth or space limit): stop */
			break;
		}
		if (r)
			fail_msg("%s keys, journal %d, op %d: %s: %s (retry seed "
				 "%llu)", shape, journal, i, wodan_strerror(r),
				 wodan_last_error()->message,
				 (unsigned long long)rseed);
		m_set(&cur, key, val, len, !del);
	}
	expect_contents(w, &cur, "flush, then retry");
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);
	m_free(&cur);
}

void test_flush_then_retry(void **state)
{
	(void)state;
	uint64_t only = tu_env_u64("WODAN_RETRY_SEED", 0);
	uint64_t nseeds = tu_env_u64("WODAN_RETRY_SEEDS", 40);
	for (int journal = 0; journal < 2; journal++)
		for (int order = 0; order < 3; order++) {
			uint64_t nf = 0, oos = 0;
			uint64_t s0 = only ? only : 1, s1 = only ? only : nseeds;
			for (uint64_t s = s0; s <= s1; s++)
				retry_one(s, journal, order, &nf, &oos);
			printf("# flush, then retry: %s, %s keys, seeds %llu..%llu: "
			       "%llu NEEDS_FLUSH answered by one flush each, %llu "
			       "runs ended by OUT_OF_SPACE\n",
			       journal ? "journal" : "plain",
			       order == 0 ? "random" : order == 1 ? "ascending"
								  : "descending",
			       (unsigned long long)s0, (unsigned long long)s1,
			       (unsigned long long)nf, (unsigned long long)oos);
		}
}
