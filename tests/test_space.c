/*
 * test_space.c -- running out of space, argument errors, read-only handles
 * and the dirty-memory budget (doc/SPEC.md §11.4; doc/ORIGINAL.md
 * §7.4).
 *
 *  - exhaustion: on small RAM images (bs 4096, ks 16, 40..100 blocks) insert
 *    random keys with ~100-byte values (plus overwrites and deletes), never
 *    flushing until the library says WODAN_E_NEEDS_FLUSH; then flush, retry
 *    and go on, until a WODAN_E_OUT_OF_SPACE that a flush does not cure.
 *    On images with a flushed base tree NEEDS_FLUSH must come before the
 *    first OUT_OF_SPACE (on never-flushed images every dirty node is new and
 *    a flush frees nothing, so OUT_OF_SPACE may come first); a retry after
 *    NEEDS_FLUSH + flush must go through or answer OUT_OF_SPACE; every failed call
 *    must leave every key's lookup (and the whole iteration) as it was;
 *    afterwards a flush works, close + reopen + wodan_check is clean and
 *    every acknowledged key is there with its value.
 *  - out of space is final: the same workload, failing when a call refused
 *    with OUT_OF_SPACE while nodes were dirty goes through after a flush
 *    (wodan.h: "no room even after a flush").
 *  - value too large, wrong key length, delete without tombstones, read-only
 *    handles: the right error and nothing changes.
 *  - dirty budget: with dirty_bytes = 64 KiB, inserts flush automatically
 *    (stats.auto_flushes > 0); a crash keeps exactly what the last automatic
 *    flush wrote; with WODAN_OPEN_NO_AUTOFLUSH the same workload gets
 *    NEEDS_FLUSH instead (and nothing changes).
 *
 *  - flush, then retry: after NEEDS_FLUSH and a successful flush the retried
 *    call goes through or answers OUT_OF_SPACE (fixed seeds, see
 *    test_flush_then_retry).
 *
 * WODAN_SEED replays; WODAN_SPACE_ROUNDS sets the number of exhaustion
 * images (default 12).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

#define KS 16u
#define MAXV 1024u

static uint64_t seed;

/* ------------------------------------------------------------------ model */

struct kv {
	uint8_t key[KS];
	int present;
	uint16_t len;
	uint8_t *val;
};

struct model {
	struct kv *e;   /* sorted by key */
	size_t n, cap;
};

static size_t m_find(const struct model *m, const uint8_t *key, int *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(m->e[mid].key, key, KS);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct kv *m_get(struct model *m, const uint8_t *key)
{
	int found;
	size_t i = m_find(m, key, &found);
	return found ? &m->e[i] : NULL;
}

static void m_set(struct model *m, const uint8_t *key, const uint8_t *val,
		  uint32_t len, int present)
{
	int found;
	size_t i = m_find(m, key, &found);
	if (!found) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 256;
			m->e = realloc(m->e, m->cap * sizeof *m->e);
			assert_non_null(m->e);
		}
		memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof *m->e);
		m->n++;
		memset(&m->e[i], 0, sizeof m->e[i]);
		memcpy(m->e[i].key, key, KS);
	}
	struct kv *e = &m->e[i];
	free(e->val);
	e->val = NULL;
	e->present = present;
	e->len = present ? (uint16_t)len : 0;
	if (present) {
		e->val = malloc(len ? len : 1);
		if (len)
			memcpy(e->val, val, len);
	}
}

static void m_copy(struct model *dst, const struct model *src)
{
	for (size_t i = 0; i < dst->n; i++)
		free(dst->e[i].val);
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		m_set(dst, src->e[i].key, src->e[i].val, src->e[i].len,
		      src->e[i].present);
}

static void m_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].val);
	free(m->e);
	memset(m, 0, sizeof *m);
}

static uint64_t m_live(const struct model *m)
{
	uint64_t c = 0;
	for (size_t i = 0; i < m->n; i++)
		c += m->e[i].present != 0;
	return c;
}

struct itc {
	const struct model *m;
	size_t i;
	int bad;
};

static int it_cb(void *arg, const uint8_t *key, const uint8_t *val,
		 size_t len)
{
	struct itc *c = arg;
	while (c->i < c->m->n && !c->m->e[c->i].present)
		c->i++;
	if (c->i >= c->m->n || memcmp(key, c->m->e[c->i].key, KS) ||
	    len != c->m->e[c->i].len || memcmp(val, c->m->e[c->i].val, len)) {
		c->bad = 1;
		return 1;
	}
	c->i++;
	return 0;
}

/* The whole contents of w equal m. */
static void expect_contents(wodan_t *w, const struct model *m,
			    const char *where)
{
	struct itc c = { m, 0, 0 };
	int r = wodan_iterate(w, NULL, NULL, it_cb, &c);
	while (!c.bad && c.i < m->n && !m->e[c.i].present)
		c.i++;
	if (c.bad || r || c.i != m->n)
		fail_msg("%s: contents differ from the model at entry %zu "
			 "(iterate %d: %s) (seed %llu)", where, c.i, r,
			 r ? wodan_strerror(r) : "ok",
			 (unsigned long long)seed);
}

/* Lookup of key agrees with the model entry e (NULL: never inserted). */
static void expect_lookup(wodan_t *w, const uint8_t *key, const struct kv *e,
			  const char *where)
{
	static uint8_t buf[65536];
	size_t len = 0;
	int r = wodan_lookup(w, key, KS, buf, sizeof buf, &len);
	int want = e && e->present;
	if (r != want)
		fail_msg("%s: lookup returned %d, expected %d (seed %llu)", where,
			 r, want, (unsigned long long)seed);
	if (want && (len != e->len || memcmp(buf, e->val, len)))
		fail_msg("%s: lookup value differs (len %zu vs %u) (seed %llu)",
			 where, len, e->len, (unsigned long long)seed);
}

static wodan_t *open_or_fail(struct wodan_backend *be, unsigned flags,
			     uint64_t dirty)
{
	wodan_t *w = NULL;
	struct wodan_open_opts o = { .flags = flags, .dirty_bytes = dirty };
	int r = wodan_open(be, &o, &w);
	if (r)
		fail_msg("open: %s: %s (seed %llu)", wodan_strerror(r),
			 wodan_last_error()->message, (unsigned long long)seed);
	return w;
}

static void check_clean(struct wodan_backend *be, uint64_t live)
{
	struct wodan_check_report rep;
	int r = wodan_check(be, 0, &rep, NULL, NULL);
	if (r != 0)
		fail_msg("check returned %d, %u problems, first: %s (seed %llu)",
			 r, rep.n_problems,
			 rep.n_problems ? rep.problems[0].what : "-",
			 (unsigned long long)seed);
	assert_int_equal(rep.used_blocks + rep.free_blocks,
			 rep.logical_size_blocks);
	assert_int_equal(rep.live_keys, live);
	wodan_check_report_free(&rep);
}

static void rand_bytes(uint64_t *rng, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)tu_splitmix(rng);
}

/* ------------------------------------------------------------- exhaustion */

struct xstats {
	uint64_t warm, oos_first, oos_retry_ok, nf_retry_failed;
	uint64_t ok, needs_flush, oos, flushes, failed_deletes, overwrites;
	uint64_t final_blocks_used;
};

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

static void test_exhaustion(void **state)
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
static void test_out_of_space_is_final(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x11;
	uint64_t rounds = tu_env_u64("WODAN_SPACE_ROUNDS", 12);
	struct xstats X = { 0 };
	for (uint64_t i = 0; i < rounds; i++)
		exhaust_one(&rng, &X, 1);
}

/* ---------------------------------------------------- argument errors etc */

static struct wodan_backend *small_image(int tomb, uint32_t bs)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(256ull * bs, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = bs,
				       .key_size_bytes = KS,
				       .tombstones = tomb };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	return be;
}

static void fill_some(wodan_t *w, struct model *m, uint64_t *rng, int n)
{
	uint8_t key[KS], val[200];
	for (int i = 0; i < n; i++) {
		rand_bytes(rng, key, KS);
		/* not empty: with tombstones that would be a deletion */
		uint32_t len = 1 + (uint32_t)tu_below(rng, 199);
		rand_bytes(rng, val, len);
		assert_int_equal(wodan_insert(w, key, KS, val, len), 0);
		m_set(m, key, val, len, 1);
	}
}

static void test_value_too_large(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x22;
	static const uint32_t bss[] = { 2048, 4096, 65536 }; /* ks 16 needs >= 2048 */
	for (size_t b = 0; b < 3; b++) {
		struct wodan_backend *be = small_image(1, bss[b]);
		wodan_t *w = open_or_fail(be, 0, 0);
		struct model m = { 0 };
		fill_some(w, &m, &rng, 40);
		struct wodan_info info;
		wodan_get_info(w, &info);
		uint32_t mv = info.max_value_bytes;
		/* doc/SPEC.md §6: min(65535, floor(15*bs/16) - 35 - ks) */
		uint32_t want = 15u * bss[b] / 16 - 35 - KS;
		assert_int_equal(mv, want > 65535 ? 65535 : want);
		uint8_t *val = malloc(mv + 2);
		rand_bytes(&rng, val, mv + 2);
		uint8_t nkey[KS];
		rand_bytes(&rng, nkey, KS);
		const struct kv *old = &m.e[tu_below(&rng, m.n)];
		uint8_t okey[KS];
		memcpy(okey, old->key, KS);
		/* a new key and an existing one */
		assert_int_equal(wodan_insert(w, nkey, KS, val, mv + 1),
				 WODAN_E_VALUE_TOO_LARGE);
		assert_int_equal(wodan_last_error()->code,
				 WODAN_E_VALUE_TOO_LARGE);
		assert_int_equal(wodan_insert(w, okey, KS, val, mv + 1),
				 WODAN_E_VALUE_TOO_LARGE);
		assert_int_equal(wodan_insert(w, okey, KS, val, (size_t)-1),
				 WODAN_E_VALUE_TOO_LARGE);
		expect_lookup(w, nkey, NULL, "new key after too large");
		expect_lookup(w, okey, m_get(&m, okey), "old key after too large");
		expect_contents(w, &m, "after too large");
		struct wodan_stats st;
		wodan_get_stats(w, &st);
		/* exactly the limit is fine, for the root log and after
		 * spilling down */
		assert_int_equal(wodan_insert(w, nkey, KS, val, mv), 0);
		m_set(&m, nkey, val, mv, 1);
		assert_int_equal(wodan_insert(w, okey, KS, val + 1, mv), 0);
		m_set(&m, okey, val + 1, mv, 1);
		expect_contents(w, &m, "after max-size values");
		assert_int_equal(wodan_close(w), 0);
		w = open_or_fail(be, 0, 0);
		expect_contents(w, &m, "reopened after max-size values");
		wodan_abandon(w);
		check_clean(be, m_live(&m));
		wodan_backend_close(be);
		free(val);
		m_free(&m);
	}
}

static void test_bad_key(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x33;
	struct wodan_backend *be = small_image(1, 4096);
	wodan_t *w = open_or_fail(be, 0, 0);
	struct model m = { 0 };
	fill_some(w, &m, &rng, 30);
	uint8_t key[KS + 1], val[8] = "value";
	memcpy(key, m.e[0].key, KS);
	key[KS] = 0;
	static const size_t lens[] = { 0, 1, KS - 1, KS + 1 };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(wodan_insert(w, key, lens[i], val, 5),
				 WODAN_E_BAD_KEY);
		assert_int_equal(wodan_last_error()->code, WODAN_E_BAD_KEY);
		assert_int_equal(wodan_delete(w, key, lens[i]),
				 WODAN_E_BAD_KEY);
		assert_int_equal(wodan_lookup(w, key, lens[i], NULL, 0, NULL),
				 WODAN_E_BAD_KEY);
	}
	assert_int_equal(wodan_insert(w, NULL, KS, val, 5), WODAN_E_BAD_KEY);
	assert_int_equal(wodan_delete(w, NULL, KS), WODAN_E_BAD_KEY);
	assert_int_equal(wodan_lookup(w, NULL, KS, NULL, 0, NULL),
			 WODAN_E_BAD_KEY);
	/* the too-long key's prefix is a stored key: still untouched */
	expect_lookup(w, key, &m.e[0], "after bad keys");
	expect_contents(w, &m, "after bad keys");
	assert_int_equal(wodan_close(w), 0);
	check_clean(be, m_live(&m));
	wodan_backend_close(be);
	m_free(&m);
}

static void test_no_tombstones(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x44;
	struct wodan_backend *be = small_image(0, 4096);
	wodan_t *w = open_or_fail(be, 0, 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	assert_int_equal(info.tombstones, 0);
	assert_int_equal(info.incompat_flags, 0x7);
	struct model m = { 0 };
	fill_some(w, &m, &rng, 60);
	for (int i = 0; i < 10; i++) {
		const struct kv *e = &m.e[tu_below(&rng, m.n)];
		assert_int_equal(wodan_delete(w, e->key, KS),
				 WODAN_E_NOT_SUPPORTED);
		expect_lookup(w, e->key, e, "after refused delete");
	}
	uint8_t nkey[KS];
	rand_bytes(&rng, nkey, KS);
	assert_int_equal(wodan_delete(w, nkey, KS), WODAN_E_NOT_SUPPORTED);
	expect_lookup(w, nkey, NULL, "absent key after refused delete");
	/* without tombstones the empty value is an ordinary value */
	assert_int_equal(wodan_insert(w, nkey, KS, NULL, 0), 0);
	m_set(&m, nkey, NULL, 0, 1);
	size_t len = 99;
	assert_int_equal(wodan_lookup(w, nkey, KS, NULL, 0, &len), 1);
	assert_int_equal(len, 0);
	expect_contents(w, &m, "after refused deletes");
	assert_int_equal(wodan_close(w), 0);
	w = open_or_fail(be, 0, 0);
	expect_contents(w, &m, "reopened, no tombstones");
	wodan_abandon(w);
	check_clean(be, m_live(&m));
	wodan_backend_close(be);
	m_free(&m);
}

static void test_readonly(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x55;
	struct wodan_backend *be = small_image(1, 4096);
	wodan_t *w = open_or_fail(be, 0, 0);
	struct model m = { 0 };
	fill_some(w, &m, &rng, 80);
	assert_int_equal(wodan_close(w), 0);
	w = open_or_fail(be, WODAN_OPEN_READONLY, 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	uint64_t gen = info.generation;
	uint8_t val[4] = "abc";
	const struct kv *e = &m.e[tu_below(&rng, m.n)];
	uint8_t nkey[KS];
	rand_bytes(&rng, nkey, KS);
	assert_int_equal(wodan_insert(w, nkey, KS, val, 3), WODAN_E_READONLY);
	assert_int_equal(wodan_last_error()->code, WODAN_E_READONLY);
	assert_int_equal(wodan_insert(w, e->key, KS, val, 3), WODAN_E_READONLY);
	assert_int_equal(wodan_delete(w, e->key, KS), WODAN_E_READONLY);
	uint64_t g = 0;
	assert_int_equal(wodan_flush(w, &g), WODAN_E_READONLY);
	assert_int_equal(wodan_fstrim(w, NULL), WODAN_E_READONLY);
	expect_lookup(w, nkey, NULL, "read-only, new key");
	expect_lookup(w, e->key, e, "read-only, old key");
	expect_contents(w, &m, "read-only");
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	assert_int_equal(st.blocks_written, 0);
	assert_int_equal(st.dirty_nodes, 0);
	assert_int_equal(wodan_close(w), 0);
	w = open_or_fail(be, 0, 0);
	wodan_get_info(w, &info);
	assert_true(info.generation == gen);
	expect_contents(w, &m, "reopened after read-only");
	wodan_abandon(w);
	wodan_backend_close(be);
	m_free(&m);
}

/* ------------------------------------------------------------ dirty budget */

#define BUDGET (64u << 10)

static void test_autoflush(void **state)
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

static void test_flush_then_retry(void **state)
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

int main(void)
{
	seed = tu_seed("test_space");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_out_of_space_is_final),
		cmocka_unit_test(test_value_too_large),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_no_tombstones),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_autoflush),
		cmocka_unit_test(test_flush_then_retry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
