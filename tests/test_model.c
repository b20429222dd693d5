/*
 * test_model.c -- randomized model test: insert / delete / lookup / iterate /
 * flush / close+reopen / crash (abandon)+reopen against an in-memory
 * reference, over block sizes 4 KiB..256 KiB and key sizes 1..64.
 *
 * Keys come from a sorted pool per configuration (so expected iteration order
 * is the pool order), including the all-0x00 and all-0xff keys.  The model
 * keeps the current state and the state of the last successful flush; an
 * abandoned handle must reopen to exactly the flushed state.
 * WODAN_SEED replays a run; WODAN_MODEL_OPS sets the total operation count
 * (default 200000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

struct cfg {
	uint32_t bs, ks;
	uint64_t dev_bytes;
	uint32_t pool;       /* distinct keys */
	uint32_t max_val;    /* cap on random value lengths */
	int tombstones;
};

struct entry {
	int present;
	uint32_t len;
	uint8_t *val;
};

struct model {
	uint32_t n, ks;
	uint8_t *keys;       /* n * ks, ascending */
	struct entry *cur, *durable;
};

static uint64_t seed;

static int cmpkey(const void *a, const void *b, void *ks)
{
	return memcmp(a, b, *(uint32_t *)ks);
}

static void entry_set(struct entry *e, const uint8_t *v, uint32_t len)
{
	free(e->val);
	e->present = 1;
	e->len = len;
	e->val = malloc(len ? len : 1);
	memcpy(e->val, v, len);
}

static void entry_clear(struct entry *e)
{
	free(e->val);
	e->val = NULL;
	e->present = 0;
	e->len = 0;
}

static void snapshot(struct entry *dst, const struct entry *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (src[i].present)
			entry_set(&dst[i], src[i].val, src[i].len);
		else
			entry_clear(&dst[i]);
	}
}

static void model_init(struct model *m, uint64_t *rng, uint32_t ks,
		       uint32_t want)
{
	uint64_t space = ks >= 8 ? UINT64_MAX : (1ull << (8 * ks));
	uint32_t n = want;
	if (ks < 8 && space < n)
		n = (uint32_t)space;
	m->ks = ks;
	m->keys = calloc(n, ks);
	/* random keys, plus the two extreme keys */
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *k = m->keys + (size_t)i * ks;
		if (ks < 8 && space <= want) {
			for (uint32_t b = 0; b < ks; b++)
				k[b] = (uint8_t)(i >> (8 * (ks - 1 - b)));
		} else {
			for (uint32_t b = 0; b < ks; b++)
				k[b] = (uint8_t)tu_splitmix(rng);
		}
	}
	memset(m->keys, 0, ks);
	memset(m->keys + (size_t)(n - 1) * ks, 0xff, ks);
	qsort_r(m->keys, n, ks, cmpkey, &ks);
	/* drop duplicates */
	uint32_t w = 1;
	for (uint32_t i = 1; i < n; i++)
		if (memcmp(m->keys + (size_t)(w - 1) * ks,
			   m->keys + (size_t)i * ks, ks))
			memmove(m->keys + (size_t)w++ * ks,
				m->keys + (size_t)i * ks, ks);
	m->n = w;
	m->cur = calloc(w, sizeof *m->cur);
	m->durable = calloc(w, sizeof *m->durable);
}

static void model_free(struct model *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		entry_clear(&m->cur[i]);
		entry_clear(&m->durable[i]);
	}
	free(m->cur);
	free(m->durable);
	free(m->keys);
}

struct itcheck {
	struct model *m;
	uint32_t next;   /* expected next pool index */
	uint32_t stop;   /* pool index bound (exclusive) */
	uint64_t seen;
};

static uint32_t next_present(const struct model *m, uint32_t i,
			     uint32_t stop)
{
	while (i < stop && !m->cur[i].present)
		i++;
	return i;
}

static int it_cb(void *arg, const uint8_t *key, const uint8_t *val,
		 size_t len)
{
	struct itcheck *c = arg;
	struct model *m = c->m;
	c->next = next_present(m, c->next, c->stop);
	if (c->next >= c->stop) {
		fail_msg("iteration yielded an extra key (seed %llu)",
			 (unsigned long long)seed);
	}
	if (memcmp(key, m->keys + (size_t)c->next * m->ks, m->ks)) {
		fail_msg("iteration key mismatch at pool index %u (seed %llu)",
			 c->next, (unsigned long long)seed);
	}
	assert_int_equal(len, m->cur[c->next].len);
	assert_memory_equal(val, m->cur[c->next].val, len);
	c->next++;
	c->seen++;
	return 0;
}

/* Pool index of the first key >= k. */
static uint32_t lower_bound(const struct model *m, const uint8_t *k)
{
	uint32_t lo = 0, hi = m->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (memcmp(m->keys + (size_t)mid * m->ks, k, m->ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void check_iterate(wodan_t *w, struct model *m, uint64_t *rng,
			  int full)
{
	uint8_t s[64], e[64];
	const uint8_t *sp = NULL, *ep = NULL;
	if (!full) {
		/* bounds: sometimes pool keys, sometimes random bytes */
		for (int j = 0; j < 2; j++) {
			uint8_t *b = j ? e : s;
			if (tu_below(rng, 2))
				memcpy(b, m->keys + tu_below(rng, m->n) * m->ks,
				       m->ks);
			else
				for (uint32_t x = 0; x < m->ks; x++)
					b[x] = (uint8_t)tu_splitmix(rng);
		}
		if (memcmp(s, e, m->ks) > 0) {
			uint8_t t[64];
			memcpy(t, s, m->ks);
			memcpy(s, e, m->ks);
			memcpy(e, t, m->ks);
		}
		sp = tu_below(rng, 8) ? s : NULL;
		ep = tu_below(rng, 8) ? e : NULL;
	}
	struct itcheck c = { m, sp ? lower_bound(m, sp) : 0,
			     ep ? lower_bound(m, ep) : m->n, 0 };
	int r = wodan_iterate(w, sp, ep, it_cb, &c);
	assert_int_equal(r, 0);
	if (next_present(m, c.next, c.stop) != c.stop)
		fail_msg("iteration missed pool key %u (seed %llu)",
			 next_present(m, c.next, c.stop),
			 (unsigned long long)seed);
}

/* Half the opens use a small dirty soft ceiling (a few blocks) and no auto
 * flush, so NEEDS_FLUSH from the ceilings comes often (auto flush would
 * make writes durable behind the model's back). */
static wodan_t *reopen(struct wodan_backend *be, uint64_t cache,
		       uint64_t *rng, uint32_t bs)
{
	wodan_t *w = NULL;
	struct wodan_open_opts o = { .cache_bytes = cache };
	if (tu_below(rng, 2)) {
		o.flags = WODAN_OPEN_NO_AUTOFLUSH;
		o.dirty_bytes = (uint64_t)bs * (1 + tu_below(rng, 8));
		o.dirty_hard_bytes = o.dirty_bytes;
	}
	int r = wodan_open(be, &o, &w);
	if (r)
		fail_msg("reopen failed: %s: %s (seed %llu)", wodan_strerror(r),
			 wodan_last_error()->message, (unsigned long long)seed);
	return w;
}

/* cache.h C6: dirty memory never passes the hard ceiling. */
static void check_ceiling(wodan_t *w, uint64_t op)
{
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	if (st.dirty_bytes > st.dirty_hard_bytes ||
	    st.dirty_peak_bytes > st.dirty_hard_bytes)
		fail_msg("dirty memory %llu (peak %llu) above the hard ceiling "
			 "%llu (op %llu seed %llu)",
			 (unsigned long long)st.dirty_bytes,
			 (unsigned long long)st.dirty_peak_bytes,
			 (unsigned long long)st.dirty_hard_bytes,
			 (unsigned long long)op, (unsigned long long)seed);
}

static uint64_t hard_stops(wodan_t *w)
{
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	return st.hard_ceiling_stops;
}

static void run_cfg(const struct cfg *cf, uint64_t ops)
{
	uint64_t rng = seed ^ ((uint64_t)cf->bs << 20) ^ cf->ks;
	struct model m;
	model_init(&m, &rng, cf->ks, cf->pool);
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(cf->dev_bytes, &be), 0);
	/* half the images keep a redo journal (incompat 0x10): flushes are
	 * then mostly journal commits, replayed by every reopen */
	int journal = (int)(tu_splitmix(&rng) & 1);
	struct wodan_mkfs_params p = { .block_size_bytes = cf->bs,
				       .key_size_bytes = cf->ks,
				       .tombstones = cf->tombstones,
				       .journal = journal };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	/* a small cache forces evictions and reloads */
	uint64_t cache = (uint64_t)cf->bs * 6;
	wodan_t *w = reopen(be, cache, &rng, cf->bs);
	struct wodan_info info;
	wodan_get_info(w, &info);
	uint32_t maxv = cf->max_val < info.max_value_bytes ? cf->max_val
							    : info.max_value_bytes;
	uint8_t *val = malloc(65536), *got = malloc(65536);
	uint8_t key[64];
	uint64_t reopens = 0, crashes = 0, flushes = 0, stops = 0;
	for (uint64_t op = 0; op < ops; op++) {
		uint32_t ki = (uint32_t)tu_below(&rng, m.n);
		memcpy(key, m.keys + (size_t)ki * cf->ks, cf->ks);
		uint64_t dice = tu_below(&rng, 1000);
		int r;
		if (dice < 500) { /* insert */
			uint32_t len;
			uint64_t shape = tu_below(&rng, 16);
			if (shape == 0)
				len = maxv;
			else if (shape < 3)
				len = (uint32_t)tu_below(&rng, maxv + 1);
			else
				len = (uint32_t)tu_below(&rng, 40 < maxv ? 40 : maxv + 1);
			if (cf->tombstones && len == 0)
				len = 1;
			for (uint32_t b = 0; b < len; b++)
				val[b] = (uint8_t)tu_splitmix(&rng);
			for (int t = 0;; t++) {
				r = wodan_insert(w, key, cf->ks, val, len);
				if (r != WODAN_E_NEEDS_FLUSH || t > 50)
					break;
				assert_int_equal(wodan_flush(w, NULL), 0);
				snapshot(m.durable, m.cur, m.n);
			}
			if (r)
				fail_msg("insert: %s: %s (op %llu seed %llu)",
					 wodan_strerror(r),
					 wodan_last_error()->message,
					 (unsigned long long)op,
					 (unsigned long long)seed);
			entry_set(&m.cur[ki], val, len);
		} else if (dice < 600 && cf->tombstones) { /* delete */
			for (int t = 0;; t++) {
				r = wodan_delete(w, key, cf->ks);
				if (r != WODAN_E_NEEDS_FLUSH || t > 50)
					break;
				assert_int_equal(wodan_flush(w, NULL), 0);
				snapshot(m.durable, m.cur, m.n);
			}
			assert_int_equal(r, 0);
			entry_clear(&m.cur[ki]);
		} else if (dice < 950) { /* lookup */
			check_ceiling(w, op);
			size_t len = 0;
			r = wodan_lookup(w, key, cf->ks, got, 65536, &len);
			if (r != (m.cur[ki].present ? 1 : 0))
				fail_msg("lookup of pool key %u returned %d, "
					 "expected %d (op %llu seed %llu)", ki,
					 r, m.cur[ki].present,
					 (unsigned long long)op,
					 (unsigned long long)seed);
			if (r == 1) {
				assert_int_equal(len, m.cur[ki].len);
				assert_memory_equal(got, m.cur[ki].val, len);
			}
		} else if (dice < 965) {
			check_iterate(w, &m, &rng, dice < 952);
		} else if (dice < 990) {
			uint64_t g1, g2;
			assert_int_equal(wodan_flush(w, &g1), 0);
			assert_int_equal(wodan_flush(w, &g2), 0);
			assert_true(g1 == g2); /* nothing dirty: same gen */
			snapshot(m.durable, m.cur, m.n);
			flushes++;
		} else if (dice < 995) { /* clean close and reopen */
			stops += hard_stops(w);
			assert_int_equal(wodan_close(w), 0);
			snapshot(m.durable, m.cur, m.n);
			w = reopen(be, cache, &rng, cf->bs);
			reopens++;
		} else { /* crash: drop unflushed state */
			stops += hard_stops(w);
			wodan_abandon(w);
			snapshot(m.cur, m.durable, m.n);
			w = reopen(be, cache, &rng, cf->bs);
			check_iterate(w, &m, &rng, 1);
			crashes++;
		}
	}
	check_iterate(w, &m, &rng, 1);
	stops += hard_stops(w);
	assert_int_equal(wodan_close(w), 0);
	/* the image checks clean and holds exactly the model */
	struct wodan_check_report rep;
	int cr = wodan_check(be, 0, &rep, NULL, NULL);
	if (cr != 0)
		fail_msg("check found %u problems, first: %s (seed %llu)",
			 rep.n_problems,
			 rep.n_problems ? rep.problems[0].what : "-",
			 (unsigned long long)seed);
	uint64_t live = 0;
	for (uint32_t i = 0; i < m.n; i++)
		live += m.cur[i].present;
	assert_int_equal(rep.live_keys, live);
	assert_int_equal(rep.used_blocks + rep.free_blocks,
			 rep.logical_size_blocks);
	printf("# bs %u ks %u%s: %llu ops, depth %u, %llu nodes, %llu live, "
	       "%llu flushes, %llu reopens, %llu crashes, %llu hard-ceiling "
	       "stops\n", cf->bs, cf->ks, journal ? " journal" : "",
	       (unsigned long long)ops, rep.depth,
	       (unsigned long long)rep.nodes, (unsigned long long)live,
	       (unsigned long long)flushes, (unsigned long long)reopens,
	       (unsigned long long)crashes, (unsigned long long)stops);
	wodan_check_report_free(&rep);
	wodan_backend_close(be);
	free(val);
	free(got);
	model_free(&m);
}

static const struct cfg cfgs[] = {
	{ 4096, 1, 16u << 20, 256, 300, 1 },
	{ 4096, 8, 32u << 20, 3000, 600, 1 },
	{ 4096, 64, 32u << 20, 2000, 400, 1 },
	{ 8192, 20, 32u << 20, 3000, 2000, 0 },
	{ 65536, 20, 128u << 20, 6000, 20000, 1 },
	{ 262144, 32, 256u << 20, 6000, 65535, 1 },
	{ 16384, 2, 32u << 20, 5000, 100, 1 },
};

static void test_model(void **state)
{
	(void)state;
	uint64_t total = tu_env_u64("WODAN_MODEL_OPS", 200000);
	size_t n = sizeof cfgs / sizeof cfgs[0];
	for (size_t i = 0; i < n; i++)
		run_cfg(&cfgs[i], total / n + 1);
}

int main(void)
{
	seed = tu_seed("test_model");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
