/*
 * space/autoflush.c -- the dirty budget: automatic flushes, a crash keeps
 * what the last one wrote, NEEDS_FLUSH with WODAN_OPEN_NO_AUTOFLUSH
 */
#include "space.h"

void test_autoflush(void **state)
{
	(void)state;
	uint64_t rng0 = seed ^ 0x66;
	const int N = 6000;
	for (int mode = 0; mode < 2; mode++) {
		uint64_t rng = rng0; /* the same workload in both modes */
		struct wodan_backend *be;
		assert_int_equal(wodan_backend_ram_create(16u << 20, &be), 0);
		struct wodan_mkfs_params p = { .block_size_bytes = 4096,
					       .key_size_bytes = KS,
					       .tombstones = 1 };
		assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
		unsigned fl = mode ? WODAN_OPEN_NO_AUTOFLUSH : 0;
		wodan_t *w = open_or_fail(be, fl, BUDGET);
		struct model cur = { 0 }, dur = { 0 };
		uint8_t key[KS], val[200];
		uint64_t last_auto = 0, needs = 0, max_dirty = 0,
			 hard_seen = 0;
		for (int i = 0; i < N; i++) {
			if (cur.n && tu_below(&rng, 10) == 0)
				memcpy(key, cur.e[tu_below(&rng, cur.n)].key, KS);
			else
				rand_bytes(&rng, key, KS);
			uint32_t len = 60 + (uint32_t)tu_below(&rng, 120);
			rand_bytes(&rng, val, len);
			struct kv *before = m_get(&cur, key);
			int r = wodan_insert(w, key, KS, val, len);
			struct wodan_stats st;
			wodan_get_stats(w, &st);
			if (st.dirty_bytes > max_dirty)
				max_dirty = st.dirty_bytes;
			/* one flush is enough: it also makes room for the
			 * retry, even for an insert that cascades through
			 * more nodes than the hard ceiling admits at once
			 * (a second NEEDS_FLUSH fails below) */
			for (int round = 0; mode == 1 && round < 1 &&
					    r == WODAN_E_NEEDS_FLUSH; round++) {
				wodan_get_stats(w, &st);
				needs++;
				assert_int_equal(st.auto_flushes, 0);
				/* the soft ceiling, or the hard one (counted
				 * conservatively: dirty nodes times the
				 * largest node, cache.h C6) */
				assert_true(st.dirty_bytes >= BUDGET ||
					    st.hard_ceiling_stops > hard_seen);
				hard_seen = st.hard_ceiling_stops;
				expect_lookup(w, key, before, "NEEDS_FLUSH (budget)");
				if (needs < 4)
					expect_contents(w, &cur, "NEEDS_FLUSH (budget)");
				assert_int_equal(wodan_flush(w, NULL), 0);
				m_copy(&dur, &cur);
				r = wodan_insert(w, key, KS, val, len);
			}
			if (r)
				fail_msg("insert %d (mode %d): %s: %s (seed %llu)",
					 i, mode, wodan_strerror(r),
					 wodan_last_error()->message,
					 (unsigned long long)seed);
			wodan_get_stats(w, &st);
			if (st.auto_flushes != last_auto) {
				/* the automatic flushes ran before this insert
				 * changed anything the user sees (one at the
				 * soft ceiling, more when the insert stopped
				 * at the hard ceiling, cache.h C6) */
				assert_true(st.auto_flushes > last_auto);
				assert_int_equal(mode, 0);
				last_auto = st.auto_flushes;
				m_copy(&dur, &cur);
			}
			m_set(&cur, key, val, len, 1);
		}
		struct wodan_stats st;
		wodan_get_stats(w, &st);
		printf("# dirty budget %u, %s: %d inserts, %llu auto flushes, "
		       "%llu NEEDS_FLUSH, %llu flushes, max dirty %llu bytes, "
		       "%llu live keys\n", BUDGET,
		       mode ? "NO_AUTOFLUSH" : "autoflush", N,
		       (unsigned long long)st.auto_flushes,
		       (unsigned long long)needs,
		       (unsigned long long)st.flushes,
		       (unsigned long long)max_dirty,
		       (unsigned long long)m_live(&cur));
		if (mode == 0) {
			assert_true(st.auto_flushes > 0);
			assert_true(st.flushes >= st.auto_flushes);
		} else {
			assert_true(needs > 0);
			assert_int_equal(st.auto_flushes, 0);
		}
		/* crash: exactly the state of the last flush survives */
		wodan_abandon(w);
		w = open_or_fail(be, fl, BUDGET);
		expect_contents(w, &dur, "after crash (budget)");
		/* redo everything, close cleanly: all of it is there */
		for (size_t i = 0; i < cur.n; i++) {
			int r = wodan_insert(w, cur.e[i].key, KS, cur.e[i].val,
					     cur.e[i].len);
			if (r == WODAN_E_NEEDS_FLUSH && mode == 1) {
				assert_int_equal(wodan_flush(w, NULL), 0);
				r = wodan_insert(w, cur.e[i].key, KS,
						 cur.e[i].val, cur.e[i].len);
			}
			assert_int_equal(r, 0);
		}
		assert_int_equal(wodan_close(w), 0);
		w = open_or_fail(be, 0, 0);
		expect_contents(w, &cur, "after close + reopen (budget)");
		wodan_abandon(w);
		check_clean(be, m_live(&cur));
		wodan_backend_close(be);
		m_free(&cur);
		m_free(&dur);
	}
}
