/*
 * space/main.c -- the space suite's model, its comparison with a handle,
 * shared checks, and the entry
 */
#include "space.h"

uint64_t seed;

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

struct kv *m_get(struct model *m, const uint8_t *key)
{
	int found;
	size_t i = m_find(m, key, &found);
	return found ? &m->e[i] : NULL;
}

void m_set(struct model *m, const uint8_t *key, const uint8_t *val,
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

void m_copy(struct model *dst, const struct model *src)
{
	for (size_t i = 0; i < dst->n; i++)
		free(dst->e[i].val);
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		m_set(dst, src->e[i].key, src->e[i].val, src->e[i].len,
		      src->e[i].present);
}

void m_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].val);
	free(m->e);
	memset(m, 0, sizeof *m);
}

uint64_t m_live(const struct model *m)
{
	uint64_t c = 0;
	for (size_t i = 0; i < m->n; i++)
		c += m->e[i].present != 0;
	return c;
}

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
void expect_contents(wodan_t *w, const struct model *m,
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
void expect_lookup(wodan_t *w, const uint8_t *key, const struct kv *e,
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

wodan_t *open_or_fail(struct wodan_backend *be, unsigned flags,
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

void check_clean(struct wodan_backend *be, uint64_t live)
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

void rand_bytes(uint64_t *rng, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)tu_splitmix(rng);
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
