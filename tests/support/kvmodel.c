/*
 * kvmodel.c -- the key/value model of the tests (see kvmodel.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kvmodel.h"
#include "testutil.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void kv_pool_indexed(struct kvpool *p, uint32_t n, uint64_t vseed)
{
	memset(p, 0, sizeof *p);
	p->n = n;
	p->ks = 8;
	p->vseed = vseed;
	p->keys = xmalloc((size_t)n * 8);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t x;
		if (i == 0)
			x = 0;
		else if (i == n - 1)
			x = UINT64_MAX;
		else
			x = ((uint64_t)i << 32) | (uint32_t)tu_mix(i, 77);
		for (int b = 0; b < 8; b++)
			p->keys[(size_t)i * 8 + (size_t)b] =
				(uint8_t)(x >> (56 - 8 * b));
	}
}

static uint32_t cmp_ks;

static int cmpkey(const void *a, const void *b)
{
	return memcmp(a, b, cmp_ks);
}

void kv_pool_random(struct kvpool *p, uint32_t ks, uint32_t want,
		    uint64_t *rng, int extremes, uint64_t vseed)
{
	memset(p, 0, sizeof *p);
	p->ks = ks;
	p->vseed = vseed;
	p->keys = xmalloc((size_t)want * ks);
	for (uint32_t i = 0; i < want; i++)
		for (uint32_t b = 0; b < ks; b += 8) {
			uint64_t x = tu_splitmix(rng);
			memcpy(p->keys + (size_t)i * ks + b, &x,
			       ks - b < 8 ? ks - b : 8);
		}
	if (extremes) {
		memset(p->keys, 0, ks);
		memset(p->keys + (size_t)(want - 1) * ks, 0xff, ks);
	}
	cmp_ks = ks;
	qsort(p->keys, want, ks, cmpkey);
	uint32_t w = 1;
	for (uint32_t i = 1; i < want; i++)
		if (memcmp(p->keys + (size_t)(w - 1) * ks,
			   p->keys + (size_t)i * ks, ks))
			memmove(p->keys + (size_t)w++ * ks,
				p->keys + (size_t)i * ks, ks);
	p->n = w;
}

void kv_pool_free(struct kvpool *p)
{
	free(p->keys);
	memset(p, 0, sizeof *p);
}

void kv_val(const struct kvpool *p, uint32_t i, uint32_t ver, uint32_t len,
	    uint8_t *out)
{
	uint64_t s = p->vseed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)ver << 32);
	for (uint32_t b = 0; b < len; b += 8) {
		uint64_t x = tu_splitmix(&s);
		uint32_t n = len - b < 8 ? len - b : 8;
		memcpy(out + b, &x, n);
	}
}

struct ent *snap_new(const struct kvpool *p)
{
	struct ent *s = calloc(p->n ? p->n : 1, sizeof *s);
	if (!s)
		abort();
	return s;
}

struct ent *snap_dup(const struct kvpool *p, const struct ent *e)
{
	struct ent *s = xmalloc(p->n * sizeof *s);
	memcpy(s, e, p->n * sizeof *s);
	return s;
}

uint64_t snap_live(const struct kvpool *p, const struct ent *e)
{
	uint64_t c = 0;
	for (uint32_t i = 0; i < p->n; i++)
		c += e[i].ver != 0;
	return c;
}

struct cmpctx {
	const struct kvpool *p;
	const struct ent *s;
	uint32_t next;
	int bad;
	char why[400];
	uint8_t vbuf[65536];
};

static int bad(struct cmpctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct cmpctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	c->bad = 1;
	return 1;
}

/* the pool index of key (binary search), or p->n */
static uint32_t find_key(const struct kvpool *p, const uint8_t *key)
{
	uint32_t lo = 0, hi = p->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(kv_key(p, mid), key, p->ks);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return p->n;
}

static int cmp_cb(void *arg, const uint8_t *key, const uint8_t *val,
		  size_t len)
{
	struct cmpctx *c = arg;
	const struct kvpool *p = c->p;
	uint32_t i = find_key(p, key);
	if (i >= p->n) {
		char hex[2 * 64 + 1];
		for (uint32_t b = 0; b < p->ks && b < 64; b++)
			snprintf(hex + 2 * b, 3, "%02x", key[b]);
		return bad(c, "foreign key %s", hex);
	}
	if (i < c->next)
		return bad(c, "key %u out of order", i);
	for (uint32_t j = c->next; j < i; j++)
		if (c->s[j].ver)
			return bad(c, "key %u missing", j);
	const struct ent *e = &c->s[i];
	if (!e->ver)
		return bad(c, "key %u present, model has none (deleted or "
			   "never written)", i);
	if (len != e->len)
		return bad(c, "key %u: value length %zu, model %u", i, len,
			   e->len);
	if (len > sizeof c->vbuf)
		return bad(c, "key %u: value of %zu bytes", i, len);
	kv_val(p, i, e->ver, e->len, c->vbuf);
	if (memcmp(val, c->vbuf, len))
		return bad(c, "key %u: value bytes differ", i);
	c->next = i + 1;
	return 0;
}

int state_compare(wodan_t *w, const struct kvpool *p, const struct ent *s,
		  char *why, size_t wl)
{
	static struct cmpctx c;
	c.p = p;
	c.s = s;
	c.next = 0;
	c.bad = 0;
	c.why[0] = 0;
	int r = wodan_iterate(w, NULL, NULL, cmp_cb, &c);
	int err = 0;
	if (!c.bad && r) {
		err = r < 0 ? r : 1;
		bad(&c, "iterate: %.40s: %.300s", wodan_strerror(r),
		    wodan_last_error()->message);
	}
	for (uint32_t j = c.next; !c.bad && j < p->n; j++)
		if (s[j].ver)
			bad(&c, "key %u missing", j);
	if (why)
		snprintf(why, wl, "%s", c.why);
	return err ? err : c.bad;
}

int state_equal(wodan_t *w, const struct kvpool *p, const struct ent *s,
		char *why, size_t wl)
{
	return state_compare(w, p, s, why, wl) != 0;
}
