/*
 * space/errors.c -- value too large, wrong key length, delete without
 * tombstones, read-only handles: the right error and nothing changes
 */
#include "space.h"

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

void test_value_too_large(void **state)
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

void test_bad_key(void **state)
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

void test_no_tombstones(void **state)
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

void test_readonly(void **state)
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
