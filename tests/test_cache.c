/*
 * test_cache.c -- the node cache's invariants under load (lib/cache.h).
 *
 *  - invariants: on a 4 KiB-block RAM image with a clean budget of six
 *    blocks and the smallest hard ceiling, random inserts, overwrites,
 *    deletes, lookups, range scans, flushes and reopens; after every call
 *    wd_cache_check() must hold (N5, N6, C2: every non-root node in memory
 *    is listed once and the byte totals add up, C5: parents more recent
 *    than their children, C6: dirty memory under the hard ceiling), every
 *    lookup must agree with an in-memory model, and the clean bytes must be
 *    within budget after each call.  Evictions and hard-ceiling stops must
 *    both have happened, or the run proved nothing.
 *  - auto flush at the hard ceiling: the same load with auto flush on never
 *    returns NEEDS_FLUSH; the library flushed and retried instead.
 *  - a flush makes nodes clean in place: the recency list's order is the
 *    same before and after a flush.
 *
 * WODAN_SEED replays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "cache.h"
#include "handle.h"

#define KS 8u
#define BS 4096u
#define POOL 20000u

static uint64_t seed;

struct model {
	uint8_t present[POOL];
	uint8_t len[POOL];
	uint8_t val[POOL][64];
};

static void key_of(uint32_t i, uint8_t *k)
{
	uint64_t s = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);
	uint64_t v = tu_splitmix(&s);
	memcpy(k, &v, KS);
}

static void must_hold(wodan_t *w, uint64_t op)
{
	int r = wd_cache_check(w);
	if (r)
		fail_msg("cache invariant broken after op %llu: %s (seed %llu)",
			 (unsigned long long)op, wodan_last_error()->message,
			 (unsigned long long)seed);
	if (w->c.clean_bytes > w->c.clean_budget) {
		/* only pinned or dirty-parent paths may stay; none are pinned
		 * between calls, and the root alone may exceed a tiny budget */
		uint64_t rest = w->c.clean_bytes -
				(w->root->dirty ? 0 : w->root->mem_bytes);
		if (rest > w->c.clean_budget)
			fail_msg("clean bytes %llu over budget %llu after op "
				 "%llu (seed %llu)",
				 (unsigned long long)w->c.clean_bytes,
				 (unsigned long long)w->c.clean_budget,
				 (unsigned long long)op,
				 (unsigned long long)seed);
	}
}

static wodan_t *open_img(struct wodan_backend *be, unsigned flags)
{
	struct wodan_open_opts o = { .flags = flags,
				     .cache_bytes = 6ull * BS,
				     .dirty_bytes = 1ull << 40,
				     .dirty_hard_bytes = 1 };
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(be, &o, &w), 0);
	return w;
}

static int count_cb(void *arg, const uint8_t *k, const uint8_t *v,
		    size_t vl)
{
	(void)k; (void)v; (void)vl;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Insert (val non-NULL) or delete k; NEEDS_FLUSH only without auto flush,
 * answered by flushing until the call goes through. */
static void put(wodan_t *w, unsigned flags, const uint8_t *k,
		const uint8_t *v, uint8_t len, uint64_t op)
{
	int r;
	for (int t = 0;; t++) {
		r = v ? wodan_insert(w, k, KS, v, len) : wodan_delete(w, k, KS);
		if (r != WODAN_E_NEEDS_FLUSH || t >= 50)
			break;
		if (!(flags & WODAN_OPEN_NO_AUTOFLUSH))
			fail_msg("NEEDS_FLUSH with auto flush: %s (op %llu seed "
				 "%llu)", wodan_last_error()->message,
				 (unsigned long long)op,
				 (unsigned long long)seed);
		assert_int_equal(wodan_flush(w, NULL), 0);
	}
	assert_int_equal(r, 0);
}

/* One run; returns the hard-ceiling stops seen by the caller's retries. */
static void run(unsigned flags, uint64_t ops, uint64_t *stops,
		uint64_t *evictions, uint64_t *auto_flushes)
{
	uint64_t rng = seed ^ flags;
	struct model *m = calloc(1, sizeof *m);
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(4096ull * BS, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS,
				       .tombstones = 1 };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_t *w = open_img(be, flags);
	uint8_t k[KS], v[64], got[64];
	for (uint64_t op = 0; op < ops; op++) {
		uint32_t i = (uint32_t)tu_below(&rng, POOL);
		key_of(i, k);
		uint64_t dice = tu_below(&rng, 1000);
		int r;
		if (dice < 550) {
			uint8_t len = (uint8_t)(1 + tu_below(&rng, 63));
			for (uint32_t b = 0; b < len; b++)
				v[b] = (uint8_t)tu_splitmix(&rng);
			put(w, flags, k, v, len, op);
			m->present[i] = 1;
			m->len[i] = len;
			memcpy(m->val[i], v, len);
		} else if (dice < 620) {
			put(w, flags, k, NULL, 0, op);
			m->present[i] = 0;
		} else if (dice < 990) {
			size_t len = 0;
			r = wodan_lookup(w, k, KS, got, sizeof got, &len);
			if (r != m->present[i])
				fail_msg("lookup %u: %d, model %d (op %llu seed "
					 "%llu)", i, r, m->present[i],
					 (unsigned long long)op,
					 (unsigned long long)seed);
			if (r == 1) {
				assert_int_equal(len, m->len[i]);
				assert_memory_equal(got, m->val[i], len);
			}
		} else if (dice < 995) {
			uint64_t n = 0, want = 0;
			assert_int_equal(wodan_iterate(w, NULL, NULL, count_cb,
						       &n), 0);
			for (uint32_t j = 0; j < POOL; j++)
				want += m->present[j];
			assert_int_equal(n, want);
		} else if (dice < 998) {
			assert_int_equal(wodan_flush(w, NULL), 0);
		} else {
			struct wodan_stats st;
			wodan_get_stats(w, &st);
			*stops += st.hard_ceiling_stops;
			*evictions += st.cache_evictions;
			*auto_flushes += st.auto_flushes;
			assert_int_equal(wodan_close(w), 0);
			w = open_img(be, flags);
		}
		must_hold(w, op);
	}
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	*stops += st.hard_ceiling_stops;
	*evictions += st.cache_evictions;
	*auto_flushes += st.auto_flushes;
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);
	free(m);
}

static void test_invariants(void **state)
{
	(void)state;
	uint64_t stops = 0, ev = 0, af = 0;
	run(WODAN_OPEN_NO_AUTOFLUSH, 100000, &stops, &ev, &af);
	printf("# no auto flush: %llu hard-ceiling stops, %llu evictions\n",
	       (unsigned long long)stops, (unsigned long long)ev);
	assert_true(stops > 0);
	assert_true(ev > 0);
}

static void test_autoflush(void **state)
{
	(void)state;
	uint64_t stops = 0, ev = 0, af = 0;
	run(0, 100000, &stops, &ev, &af);
	printf("# auto flush: %llu hard-ceiling stops, %llu auto flushes\n",
	       (unsigned long long)stops, (unsigned long long)af);
	assert_true(stops > 0);
	assert_true(af >= stops);
}

static void test_flush_keeps_order(void **state)
{
	(void)state;
	uint64_t rng = seed;
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(4096ull * BS, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	struct wodan_open_opts o = { .cache_bytes = 1ull << 30 };
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(be, &o, &w), 0);
	uint8_t k[KS], v[16] = { 1 };
	for (uint32_t i = 0; i < 20000; i++) {
		key_of(i, k);
		assert_int_equal(wodan_insert(w, k, KS, v, sizeof v), 0);
		if (i % 5000 == 4999)
			assert_int_equal(wodan_flush(w, NULL), 0);
	}
	for (uint32_t i = 0; i < 500; i++) { /* mix clean and dirty nodes */
		key_of((uint32_t)tu_below(&rng, 20000), k);
		assert_int_equal(wodan_lookup(w, k, KS, NULL, 0, NULL), 1);
		key_of(20000 + i, k);
		assert_int_equal(wodan_insert(w, k, KS, v, sizeof v), 0);
	}
	size_t n = 0;
	for (struct wd_node *x = w->c.lru_head; x; x = x->lru_next)
		n++;
	struct wd_node **before = malloc(n * sizeof *before);
	size_t j = 0, dirty = 0;
	for (struct wd_node *x = w->c.lru_head; x; x = x->lru_next) {
		before[j++] = x;
		dirty += x->dirty;
	}
	assert_true(dirty > 0 && dirty < n);
	assert_int_equal(wodan_flush(w, NULL), 0);
	j = 0;
	for (struct wd_node *x = w->c.lru_head; x; x = x->lru_next, j++) {
		assert_true(j < n);
		assert_ptr_equal(x, before[j]);
		assert_false(x->dirty);
	}
	assert_int_equal(j, n);
	assert_int_equal(wd_cache_check(w), 0);
	free(before);
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);
}

int main(void)
{
	seed = tu_seed("test_cache");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_autoflush),
		cmocka_unit_test(test_flush_keeps_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
