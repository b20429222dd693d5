/*
 * space/exhaustion.c -- running small images out of space (NEEDS_FLUSH,
 * flush, retry, until an OUT_OF_SPACE a flush does not cure; failed calls
 * change nothing), and out of space is final
 */
#include "space.h"

static void exhaust_one(uint64_t *rng, struct xstats *X, int strict)
{
	uint64_t lsize = 40 + tu_below(rng, 61); /* 40..100 blocks */
	int tomb = (int)tu_below(rng, 2);
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(lsize * 4096, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = 4096,
				       .key_size_bytes = KS,
				       .tombstones = tomb };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_t *w = open_or_fail(be, 0, 0);

	struct model cur = { 0 }, dur = { 0 };
	uint8_t key[KS], val[MAXV];
	int seen_needs_flush = 0, seen_oos = 0;
	uint64_t ops = 0, after_oos = 0;
	char where[160], msg[256];
	/* Warm-up (two rounds in three): a flushed tree filling about a third
	 * of the device, so that later dirty nodes are mostly rewrites whose
	 * old blocks a flush gives back.  Without it (every third round) the
	 * device fills with never-written nodes only: a flush would free
	 * nothing, and OUT_OF_SPACE may then come first. */
	int warm = tu_below(rng, 3) != 0;
	while (warm) {
		struct wodan_info info;
		wodan_get_info(w, &info);
		if (info.used_blocks * 3 >= lsize)
			break;
		for (int i = 0; i < 10; i++) {
			rand_bytes(rng, key, KS);
			uint32_t len = 80 + (uint32_t)tu_below(rng, 41);
			rand_bytes(rng, val, len);
			assert_int_equal(wodan_insert(w, key, KS, val, len), 0);
			m_set(&cur, key, val, len, 1);
		}
		assert_int_equal(wodan_flush(w, NULL), 0);
		m_copy(&dur, &cur);
	}
	X->warm += warm;
	for (;;) {
		ops++;
		if (ops > 200000)
			fail_msg("no OUT_OF_SPACE after %llu operations (seed "
				 "%llu)", (unsigned long long)ops,
				 (unsigned long long)seed);
		/* a new key, an overwrite, or (tombstones) a deletion */
		uint64_t dice = tu_below(rng, 100);
		int del = 0;
		uint32_t len;
		if (cur.n && dice < 20) {
			memcpy(key, cur.e[tu_below(rng, cur.n)].key, KS);
			if (tomb && dice < 6)
				del = 1;
			X->overwrites += !del;
		} else {
			rand_bytes(rng, key, KS);
		}
		len = 80 + (uint32_t)tu_below(rng, 41);
		if (tu_below(rng, 50) == 0)
			len = 200 + (uint32_t)tu_below(rng, 600);
		rand_bytes(rng, val, len);
		struct kv *before = m_get(&cur, key);
		int r = del ? wodan_delete(w, key, KS)
			    : wodan_insert(w, key, KS, val, len);
		snprintf(msg, sizeof msg, "%s", wodan_last_error()->message);
		snprintf(where, sizeof where, "op %llu (%s, lsize %llu)",
			 (unsigned long long)ops, del ? "delete" : "insert",
			 (unsigned long long)lsize);
		if (r == 0) {
			X->ok++;
			m_set(&cur, key, val, len, !del);
			continue;
		}
		int first = r, attempts = 0, full = 0, seen_oos_here = 0;
		char firstmsg[256];
		snprintf(firstmsg, sizeof firstmsg, "%s", msg);
		for (;;) {
			if (r != WODAN_E_NEEDS_FLUSH && r != WODAN_E_OUT_OF_SPACE)
				fail_msg("%s: unexpected error %s: %s (seed %llu)",
					 where, wodan_strerror(r), msg,
					 (unsigned long long)seed);
			/* the failed call changed nothing visible */
			expect_lookup(w, key, before, where);
			expect_contents(w, &cur, where);
			struct wodan_stats st;
			wodan_get_stats(w, &st);
			if (r == WODAN_E_NEEDS_FLUSH) {
				X->needs_flush++;
				seen_needs_flush = 1;
				/* "flushing first will make room" presumes
				 * something to flush */
				if (st.dirty_nodes == 0)
					fail_msg("%s: NEEDS_FLUSH with nothing "
						 "dirty: %s (seed %llu)", where,
						 msg, (unsigned long long)seed);
			} else {
				X->oos++;
				if (!seen_needs_flush && warm)
					fail_msg("%s: OUT_OF_SPACE before any "
						 "NEEDS_FLUSH: %s (seed %llu)",
						 where, msg,
						 (unsigned long long)seed);
				X->oos_first += !seen_needs_flush;
				/* full for good when nothing is dirty or a
				 * flush already did not help this operation
				 * (a failed operation may leave invisible
				 * reorganisation dirty) */
				if (st.dirty_nodes == 0 || seen_oos_here) {
					full = 1;
					break;
				}
				seen_oos = seen_oos_here = 1;
			}
			/* each round keeps what the failed call reorganised,
			 * so rounds make progress; the library answers
			 * OUT_OF_SPACE once nothing is dirty */
			if (++attempts > 16)
				fail_msg("%s: still %s after %d flushes: %s "
					 "(seed %llu)", where, wodan_strerror(r),
					 attempts - 1, msg,
					 (unsigned long long)seed);
			/* flush (after OUT_OF_SPACE with dirty nodes it may
			 * give back some blocks) and retry */
			uint64_t g;
			int fr = wodan_flush(w, &g);
			if (fr)
				fail_msg("%s: flush after %s failed: %s: %s "
					 "(seed %llu)", where, wodan_strerror(r),
					 wodan_strerror(fr),
					 wodan_last_error()->message,
					 (unsigned long long)seed);
			X->flushes++;
			m_copy(&dur, &cur);
			expect_contents(w, &cur, where);
			int before_flush = r;
			r = del ? wodan_delete(w, key, KS)
				: wodan_insert(w, key, KS, val, len);
			snprintf(msg, sizeof msg, "%s",
				 wodan_last_error()->message);
			/* wodan.h: after NEEDS_FLUSH and a flush, the retry
			 * goes through or answers OUT_OF_SPACE */
			if (before_flush == WODAN_E_NEEDS_FLUSH &&
			    r == WODAN_E_NEEDS_FLUSH)
				fail_msg("%s: NEEDS_FLUSH, a successful flush, "
					 "and the retry answered NEEDS_FLUSH again:"
					 " %s (seed %llu)", where, msg,
					 (unsigned long long)seed);
			if (r == 0)
				break;
			if (first == WODAN_E_NEEDS_FLUSH && attempts == 1) {
				X->nf_retry_failed++;
				if (X->nf_retry_failed <= 3)
					printf("# note: %s: NEEDS_FLUSH (%s), "
					       "flush, retry: %s (%s)\n", where,
					       firstmsg, wodan_strerror(r), msg);
			}
		}
		if (del)
			X->failed_deletes++;
		if (full)
			break;
		/* the retry went through */
		X->ok++;
		m_set(&cur, key, val, len, !del);
		if (first == WODAN_E_OUT_OF_SPACE) {
			if (strict)
				fail_msg("%s: OUT_OF_SPACE (\"no room even after "
					 "a flush\": %s), yet after %d flush(es) "
					 "the same call succeeded (seed %llu)",
					 where, firstmsg, attempts,
					 (unsigned long long)seed);
			X->oos_retry_ok++;
			if (X->oos_retry_ok <= 3)
				printf("# note: %s: OUT_OF_SPACE (%s), flush, "
				       "retry succeeded after %d flushes\n",
				       where, firstmsg, attempts);
		}
		if (seen_oos && ++after_oos > 500)
			fail_msg("%s: OUT_OF_SPACE never settles (seed %llu)",
				 where, (unsigned long long)seed);
	}
	/* full: a flush succeeds (nothing to do), the info adds up */
	uint64_t g1, g2;
	assert_int_equal(wodan_flush(w, &g1), 0);
	assert_int_equal(wodan_flush(w, &g2), 0);
	assert_true(g1 == g2);
	struct wodan_info info;
	wodan_get_info(w, &info);
	assert_int_equal(info.used_blocks + info.free_blocks,
			 info.logical_size_blocks);
	X->final_blocks_used += info.used_blocks;
	/* a fresh key still does not fit, and changes nothing */
	rand_bytes(rng, key, KS);
	memset(val, 0x5a, 100);
	int r = wodan_insert(w, key, KS, val, 100);
	if (r == 0)
		m_set(&cur, key, val, 100, 1); /* possible: a key may fit in
						* a node that has room */
	else
		assert_int_equal(r, WODAN_E_OUT_OF_SPACE);
	expect_contents(w, &cur, "after the final insert");
	assert_int_equal(wodan_close(w), 0);
	m_copy(&dur, &cur);
	check_clean(be, m_live(&dur));
	w = open_or_fail(be, 0, 0);
	expect_contents(w, &dur, "after reopen of the full image");
	for (size_t i = 0; i < dur.n; i++)
		expect_lookup(w, dur.e[i].key, &dur.e[i], "reopened lookup");
	/* deleting (tombstones) or overwriting with shorter values must be
	 * possible again after flushes, or say why */
	wodan_abandon(w);
	wodan_backend_close(be);
	m_free(&cur);
	m_free(&dur);
}

void test_exhaustion(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x11;
	uint64_t rounds = tu_env_u64("WODAN_SPACE_ROUNDS", 12);
	struct xstats X = { 0 };
	for (uint64_t i = 0; i < rounds; i++)
		exhaust_one(&rng, &X, 0);
	printf("# exhaustion: %llu images (%llu warmed up), %llu ok ops "
	       "(%llu overwrites), %llu NEEDS_FLUSH, %llu OUT_OF_SPACE (%llu "
	       "before any NEEDS_FLUSH, all on cold images), %llu failed "
	       "deletes, %llu flushes; retries: %llu after OUT_OF_SPACE + "
	       "flush succeeded, %llu after NEEDS_FLUSH + flush failed "
	       "again; %llu blocks used at the end\n",
	       (unsigned long long)rounds, (unsigned long long)X.warm,
	       (unsigned long long)X.ok, (unsigned long long)X.overwrites,
	       (unsigned long long)X.needs_flush, (unsigned long long)X.oos,
	       (unsigned long long)X.oos_first,
	       (unsigned long long)X.failed_deletes,
	       (unsigned long long)X.flushes,
	       (unsigned long long)X.oos_retry_ok,
	       (unsigned long long)X.nf_retry_failed,
	       (unsigned long long)X.final_blocks_used);
}

/* The same workload, strict about the meaning of OUT_OF_SPACE (wodan.h: "no
 * room even after a flush"; doc/SPEC.md §11.4: "a flush cannot help"):
 * when a call fails with OUT_OF_SPACE while nodes are dirty, flushing and
 * retrying the very same call must fail again. */
void test_out_of_space_is_final(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x11;
	uint64_t rounds = tu_env_u64("WODAN_SPACE_ROUNDS", 12);
	struct xstats X = { 0 };
	for (uint64_t i = 0; i < rounds; i++)
		exhaust_one(&rng, &X, 1);
}
