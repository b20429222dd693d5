/*
 * opmodel.c -- see opmodel.h.  Public libwodan API only (wodan.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opmodel.h"

#define OM_BUF 65536u

/* ================================================================ map */

void om_map_init(struct om_map *m, uint32_t ks, size_t max)
{
	memset(m, 0, sizeof *m);
	m->ks = ks;
	m->max = max;
}

void om_map_free(struct om_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].kv);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

size_t om_map_find(const struct om_map *m, const uint8_t *k, int *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(m->v[mid].kv, k, m->ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < m->n && !memcmp(m->v[lo].kv, k, m->ks);
	return lo;
}

static uint8_t *kv_new(uint32_t ks, const uint8_t *k, const uint8_t *v,
		       uint32_t len)
{
	uint8_t *kv = malloc((size_t)ks + len + 1);

	if (!kv)
		return NULL;
	memcpy(kv, k, ks);
	if (len)
		memcpy(kv + ks, v, len);
	return kv;
}

int om_map_put(struct om_map *m, const uint8_t *k, const uint8_t *v,
	       uint32_t len)
{
	int found;
	size_t i = om_map_find(m, k, &found);
	uint8_t *kv;

	if (!found && m->n >= m->max)
		return -1;
	if (!found && m->n == m->cap) {
		size_t nc = m->cap ? 2 * m->cap : 64;
		struct om_ent *nv = realloc(m->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		m->v = nv;
		m->cap = nc;
	}
	kv = kv_new(m->ks, k, v, len);
	if (!kv)
		return -1;
	if (found) {
		free(m->v[i].kv);
	} else {
		memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof *m->v);
		m->n++;
	}
	m->v[i].kv = kv;
	m->v[i].len = len;
	return 0;
}

void om_map_del(struct om_map *m, const uint8_t *k)
{
	int found;
	size_t i = om_map_find(m, k, &found);

	if (!found)
		return;
	free(m->v[i].kv);
	memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
	m->n--;
}

int om_map_copy(struct om_map *dst, const struct om_map *src)
{
	om_map_free(dst);
	dst->ks = src->ks;
	dst->max = src->max;
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof *dst->v);
	if (!dst->v)
		return -1;
	dst->cap = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].kv = kv_new(src->ks, om_key(src, i), om_val(src, i),
				      src->v[i].len);
		if (!dst->v[i].kv) {
			om_map_free(dst);
			return -1;
		}
		dst->v[i].len = src->v[i].len;
		dst->n++;
	}
	return 0;
}

/* ======================================================= configuration */

uint32_t om_max_ks(uint32_t bs)
{
	uint32_t room = (bs - 4) - (uint32_t)((15ull * bs) / 16);
	uint32_t k = room / 3 > 8 ? room / 3 - 8 : 0;

	return k > 255 ? 255 : k;
}

void om_draw_cfg(struct om_cfg *c, uint64_t *r)
{
	static const uint32_t bss[] = { 512, 1024, 2048, 4096, 4096, 8192,
					16384, 65536 };
	static const uint32_t kss[] = { 1, 2, 3, 4, 8, 12, 16, 20, 32, 64,
					128, 255 };
	static const uint32_t pools[] = { 4, 40, 300, 1000, 3000 };
	static const uint64_t nblocks[] = { 16, 32, 64, 256, 1024, 4096 };
	static const uint32_t maxvals[] = { 0, 8, 64, 300, 65535 };
	static const uint32_t flush_rates[] = { 2, 20, 100 };
	static const uint32_t other_rates[] = { 1, 5, 30 };

	if (!c->bs)
		c->bs = bss[dr_below(r, sizeof bss / sizeof *bss)];
	if (!c->ks) {
		uint32_t mk = om_max_ks(c->bs), n = 0;
		while (n < sizeof kss / sizeof *kss && kss[n] <= mk)
			n++;
		c->ks = n ? kss[dr_below(r, n)] : 1;
	}
	if (!c->blocks) {
		c->blocks = nblocks[dr_below(r, sizeof nblocks / sizeof *nblocks)];
		while (c->blocks * c->bs > (64ull << 20))
			c->blocks /= 2;
	}
	if (!c->nkeys)
		c->nkeys = pools[dr_below(r, sizeof pools / sizeof *pools)];
	if (c->nkeys < 2)
		c->nkeys = 2;
	c->flush_rate = flush_rates[dr_below(r, 3)];
	c->reopen_rate = other_rates[dr_below(r, 3)];
	c->cut_rate = other_rates[dr_below(r, 3)];
	c->tombstones = dr_below(r, 8) != 0;
	c->magic = dr_below(r, 4) == 0;
	c->fast_reopen = dr_below(r, 2) == 0;
	c->no_autoflush = dr_below(r, 4) == 0;
	c->max_val = maxvals[dr_below(r, sizeof maxvals / sizeof *maxvals)];
	c->fanout = dr_below(r, 4) == 0 ? 3 + (uint32_t)dr_below(r, 3) : 0;
	c->cache = dr_below(r, 3) == 0 ? (uint64_t)c->bs * (1 + dr_below(r, 8))
				       : 0;
	c->dirty = dr_below(r, 3) == 0 ? (uint64_t)c->bs * (2 + dr_below(r, 16))
				       : 0;
	c->journal = dr_below(r, 2) == 0;
}

/* ========================================================== reporting */

const char *om_hex(const uint8_t *b, size_t len, char out[41])
{
	size_t n = len > 16 ? 16 : len;

	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = 0;
	if (n < len)
		strcpy(out + 2 * n, "..");
	return out;
}

/* The model's entry for key: "absent" or "N bytes HEX". */
static const char *desc(const struct om *s, const uint8_t *key, char out[64])
{
	int found;
	size_t i = om_map_find(&s->cur, key, &found);
	char h[41];

	if (!found)
		return strcpy(out, "absent");
	snprintf(out, 64, "%u bytes %s", s->cur.v[i].len,
		 om_hex(om_val(&s->cur, i), s->cur.v[i].len, h));
	return out;
}

void om_print_cfg(const struct om *s, FILE *f)
{
	const struct om_cfg *c = &s->c;

	fprintf(f, "block size %u, key size %u, %llu blocks, %u keys, "
		"tombstones %d, magic CRC %d, cache %llu, dirty %llu, "
		"no-autoflush %d, journal %d, fanout %u, value cap %u, rates "
		"flush/reopen/cut %u/%u/%u per 1000\n", c->bs, c->ks,
		(unsigned long long)c->blocks, s->npool, c->tombstones,
		c->magic, (unsigned long long)c->cache,
		(unsigned long long)c->dirty, c->no_autoflush, c->journal,
		c->fanout, c->max_val, c->flush_rate, c->reopen_rate,
		c->cut_rate);
}

int om_diverge(struct om *s, const char *fmt, ...)
{
	va_list ap;

	if (s->abort_on_divergence) {
		fprintf(stderr, "%s: MISMATCH: ", s->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, " (last error: %s)\n",
			wodan_last_error()->message);
		abort();
	}
	fprintf(stderr, "%s: DIVERGENCE at step %llu (%s), seed %llu: ",
		s->name, (unsigned long long)s->step, s->op,
		(unsigned long long)s->seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (wodan_last_error()->code)
		fprintf(stderr, "%s: last library error: %s\n", s->name,
			wodan_last_error()->message);
	fprintf(stderr, "%s: geometry: ", s->name);
	om_print_cfg(s, stderr);
	if (s->replay)
		s->replay(s, stderr);
	return 1;
}

/* ============================================================= checks */

/* cache.h C6 through the public stats: dirty memory never passes the hard
 * ceiling. */
static int check_ceiling(struct om *s)
{
	struct wodan_stats st;

	wodan_get_stats(s->w, &st);
	if (st.dirty_bytes > st.dirty_hard_bytes ||
	    st.dirty_peak_bytes > st.dirty_hard_bytes)
		return om_diverge(s, "dirty memory %llu (peak %llu) above the "
				  "hard ceiling %llu",
				  (unsigned long long)st.dirty_bytes,
				  (unsigned long long)st.dirty_peak_bytes,
				  (unsigned long long)st.dirty_hard_bytes);
	return 0;
}

int om_check_lookup(struct om *s, const uint8_t *key, const char *when)
{
	size_t len = 0;
	int found, r = wodan_lookup(s->w, key, s->ks, s->got, OM_BUF, &len);
	size_t i = om_map_find(&s->cur, key, &found);
	char a[41], b[64], c[41];

	s->n.lookups++;
	if (r < 0)
		return om_diverge(s, "%slookup %s: expected %s, got error %s",
				  when, om_hex(key, s->ks, a),
				  desc(s, key, b), wodan_strerror(r));
	if (r != found || (r && (len != s->cur.v[i].len ||
				 memcmp(s->got, om_val(&s->cur, i), len))))
		return om_diverge(s, "%slookup %s: expected %s, got %s%zu "
				  "bytes %s", when, om_hex(key, s->ks, a),
				  desc(s, key, b), r ? "" : "absent (",
				  r ? len : 0,
				  r ? om_hex(s->got, len, c) : ")");
	return check_ceiling(s);
}

struct itc {
	struct om *s;
	size_t next, stop;
	char msg[256];
};

static int it_cb(void *arg, const uint8_t *key, const uint8_t *val,
		 size_t len)
{
	struct itc *c = arg;
	const struct om_map *m = &c->s->cur;
	uint32_t ks = m->ks;
	char a[41], b[64], d[41];

	if (c->next >= c->stop) {
		snprintf(c->msg, sizeof c->msg, "expected the end, got key %s",
			 om_hex(key, ks, a));
		return 1;
	}
	if (memcmp(key, om_key(m, c->next), ks)) {
		snprintf(c->msg, sizeof c->msg, "expected key %s, got key %s",
			 om_hex(om_key(m, c->next), ks, a), om_hex(key, ks, d));
		return 1;
	}
	if (len != m->v[c->next].len ||
	    memcmp(val, om_val(m, c->next), len)) {
		snprintf(c->msg, sizeof c->msg, "key %s: expected %s, got %zu "
			 "bytes %s", om_hex(key, ks, a), desc(c->s, key, b),
			 len, om_hex(val, len, d));
		return 1;
	}
	c->next++;
	return 0;
}

int om_check_range(struct om *s, const uint8_t *start, const uint8_t *end,
		   const char *when)
{
	struct itc c;
	char a[41], b[41], d[41];
	int found, r;

	c.s = s;
	c.next = start ? om_map_find(&s->cur, start, &found) : 0;
	c.stop = end ? om_map_find(&s->cur, end, &found) : s->cur.n;
	c.msg[0] = 0;
	if (c.stop < c.next)
		c.stop = c.next;
	s->n.iterations++;
	r = wodan_iterate(s->w, start, end, it_cb, &c);
	if (r == WODAN_E_ABORTED && c.msg[0])
		return om_diverge(s, "%siterate [%s, %s): %s", when,
				  start ? om_hex(start, s->ks, a) : "-inf",
				  end ? om_hex(end, s->ks, b) : "+inf", c.msg);
	if (r)
		return om_diverge(s, "%siterate: expected success, got %s",
				  when, wodan_strerror(r));
	if (c.next != c.stop)
		return om_diverge(s, "%siterate [%s, %s): expected key %s, got "
				  "the end", when,
				  start ? om_hex(start, s->ks, a) : "-inf",
				  end ? om_hex(end, s->ks, b) : "+inf",
				  om_hex(om_key(&s->cur, c.next), s->ks, d));
	return 0;
}

static const uint8_t *pool_key(const struct om *s, uint32_t i)
{
	return s->pool + (size_t)i * s->ks;
}

int om_check_all(struct om *s, const char *when)
{
	uint8_t k[256];

	if (om_check_range(s, NULL, NULL, when))
		return 1;
	if (s->npool) {
		uint32_t step = s->npool / 2000 + 1;
		for (uint32_t i = (uint32_t)dr_below(&s->rng, step);
		     i < s->npool; i += step)
			if (om_check_lookup(s, pool_key(s, i), when))
				return 1;
		return 0;
	}
	/* no pool (an image the run did not write): sub-ranges, model keys
	 * and their neighbours (often absent), the extreme keys */
	size_t n = s->cur.n, step = n / 64 + 1;
	if (n >= 2) {
		uint8_t a[256], b[256];
		memcpy(a, om_key(&s->cur, n / 3), s->ks);
		memcpy(b, om_key(&s->cur, n - 1), s->ks);
		if (om_check_range(s, a, b, when))
			return 1;
		memcpy(b, om_key(&s->cur, n / 2), s->ks);
		if (om_check_range(s, NULL, b, when))
			return 1;
	}
	for (size_t i = 0; i < n; i += step) {
		memcpy(k, om_key(&s->cur, i), s->ks);
		if (om_check_lookup(s, k, when))
			return 1;
		k[s->ks - 1] ^= 1;
		if (om_check_lookup(s, k, when))
			return 1;
	}
	memset(k, 0, s->ks);
	if (om_check_lookup(s, k, when))
		return 1;
	memset(k, 0xff, s->ks);
	return om_check_lookup(s, k, when);
}

int om_check_image(struct om *s)
{
	struct wodan_check_report rep;
	int r;

	s->n.checks++;
	r = wodan_check(s->be, s->c.magic ? WODAN_OPEN_RELAX_MAGIC_CRC : 0,
			&rep, NULL, NULL);
	if (r != 0) {
		int d = om_diverge(s, "check: expected a clean image, got %d (%u "
				   "problems; first: block %llu: %s)", r,
				   rep.n_problems,
				   rep.n_problems ? (unsigned long long)
						    rep.problems[0].block : 0ull,
				   rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return d;
	}
	wodan_check_report_free(&rep);
	s->depth = rep.depth;
	s->nodes = rep.nodes;
	if (rep.live_keys != s->dur.n)
		return om_diverge(s, "check: expected %llu live keys, got %llu",
				  (unsigned long long)s->dur.n,
				  (unsigned long long)rep.live_keys);
	if (rep.used_blocks + rep.free_blocks != rep.logical_size_blocks)
		return om_diverge(s, "check: %llu used + %llu free blocks, "
				  "expected the logical size %llu",
				  (unsigned long long)rep.used_blocks,
				  (unsigned long long)rep.free_blocks,
				  (unsigned long long)rep.logical_size_blocks);
	return 0;
}

/* ========================================================= operations */

static void nomem(struct om *s)
{
	fprintf(stderr, "%s: out of memory (model of %zu keys)\n", s->name,
		s->cur.n);
	abort();
}

/* The model's durable state := the current one. */
static void make_durable(struct om *s)
{
	if (om_map_copy(&s->dur, &s->cur))
		nomem(s);
}

/* Flush; twice: then flush again, which must keep the generation. */
static int flush2(struct om *s, int twice)
{
	uint64_t g = 0, g2 = 0;
	int r = wodan_flush(s->w, &g);

	s->n.flushes++;
	if (r)
		return om_diverge(s, "flush: expected success, got %s",
				  wodan_strerror(r));
	make_durable(s);
	s->gen = g;
	if (!twice)
		return 0;
	/* nothing dirty now: a second flush keeps the generation */
	struct wodan_stats st;
	wodan_get_stats(s->w, &st);
	r = wodan_flush(s->w, &g2);
	if (r || g2 != g)
		return om_diverge(s, "second flush: expected success at "
				  "generation %llu, got %s at %llu (%llu "
				  "bytes were dirty after the first)",
				  (unsigned long long)g,
				  r ? wodan_strerror(r) : "success",
				  (unsigned long long)g2,
				  (unsigned long long)st.dirty_bytes);
	return 0;
}

int om_flush(struct om *s)
{
	return flush2(s, 0);
}

int om_change(struct om *s, const uint8_t *k, const uint8_t *val,
	      uint32_t len)
{
	int is_del = !val || (s->tombstones && len == 0);
	char a[41];
	int r = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct wodan_info info;
		wodan_get_info(s->w, &info);
		uint64_t before = info.generation;
		r = val ? wodan_insert(s->w, k, s->ks, val, len)
			: wodan_delete(s->w, k, s->ks);
		wodan_get_info(s->w, &info);
		if (info.generation != before) {
			/* an auto flush ran before the change was applied */
			s->n.auto_flushes++;
			make_durable(s);
			s->gen = info.generation;
		}
		if (r != WODAN_E_NEEDS_FLUSH || attempt == 1)
			break;
		s->n.needs_flush++;
		if (om_flush(s))
			return 1;
	}
	if (!val && !s->tombstones) {
		if (r != WODAN_E_NOT_SUPPORTED)
			return om_diverge(s, "delete %s without tombstones: "
					  "expected 'not supported', got %s",
					  om_hex(k, s->ks, a),
					  r ? wodan_strerror(r) : "success");
		return om_check_lookup(s, k, "after refused delete: ");
	}
	if (r == WODAN_E_OUT_OF_SPACE || r == WODAN_E_NEEDS_FLUSH) {
		s->n.out_of_space++;
		return om_check_lookup(s, k, "after out of space: ");
	}
	if (r)
		return om_diverge(s, "%s %s: expected success, got %s",
				  val ? "insert" : "delete",
				  om_hex(k, s->ks, a), wodan_strerror(r));
	if (is_del)
		om_map_del(&s->cur, k);
	else if (om_map_put(&s->cur, k, val, len))
		nomem(s);
	if (s->lookup_after_change)
		return om_check_lookup(s, k, "after a change: ");
	return 0;
}

static int cmpks(const void *a, const void *b, void *ks)
{
	return memcmp(a, b, *(uint32_t *)ks);
}

/* The key pool: random keys plus the all-00 and all-ff keys, sorted,
 * without duplicates (every key when the key space is small). */
static int make_pool(struct om *s)
{
	uint32_t ks = s->ks, want = s->c.nkeys, n = want;
	uint64_t space = ks >= 4 ? UINT64_MAX : 1ull << (8 * ks);

	if (space < n)
		n = (uint32_t)space;
	s->pool = calloc(n, ks);
	if (!s->pool)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *k = s->pool + (size_t)i * ks;
		for (uint32_t b = 0; b < ks; b++)
			k[b] = space <= want ? (uint8_t)(i >> (8 * (ks - 1 - b)))
					     : (uint8_t)dr_splitmix64(&s->rng);
	}
	memset(s->pool, 0, ks);
	memset(s->pool + (size_t)(n - 1) * ks, 0xff, ks);
	qsort_r(s->pool, n, ks, cmpks, &ks);
	uint32_t w = 1;
	for (uint32_t i = 1; i < n; i++)
		if (memcmp(s->pool + (size_t)(w - 1) * ks,
			   s->pool + (size_t)i * ks, ks))
			memmove(s->pool + (size_t)w++ * ks,
				s->pool + (size_t)i * ks, ks);
	s->npool = w;
	return 0;
}

void om_init(struct om *s, const char *name, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->name = name ? name : "wodan model";
	s->seed = seed;
	s->op = "setup";
}

int om_prepare(struct om *s)
{
	s->ks = s->c.ks;
	s->tombstones = s->c.tombstones;
	if (make_pool(s) || !(s->val = malloc(OM_BUF)) ||
	    !(s->got = malloc(OM_BUF)))
		return -1;
	om_map_init(&s->cur, s->ks, s->npool);
	om_map_init(&s->dur, s->ks, s->npool);
	memset(&s->o, 0, sizeof s->o);
	s->o.flags = WODAN_OPEN_NO_AUTOFLUSH * (unsigned)s->c.no_autoflush;
	if (s->c.magic)
		s->o.flags |= WODAN_OPEN_RELAX_MAGIC_CRC |
			      WODAN_OPEN_MAGIC_CRC_WRITE;
	s->o.cache_bytes = s->c.cache;
	s->o.dirty_bytes = s->c.dirty;
	s->o.max_fanout = s->c.fanout;
	return 0;
}

int om_mkfs(struct om *s)
{
	struct wodan_mkfs_params p;

	memset(&p, 0, sizeof p);
	p.block_size_bytes = s->c.bs;
	p.key_size_bytes = s->c.ks;
	p.logical_size_blocks = s->c.blocks;
	p.tombstones = s->c.tombstones;
	p.journal = s->c.journal;
	p.magic_crc_write = s->c.magic;
	return wodan_mkfs(s->be, &p, NULL);
}

int om_open(struct om *s, int fast)
{
	struct wodan_open_opts o = s->o;
	struct wodan_info info;
	int r;

	if (fast)
		o.flags |= WODAN_OPEN_FAST_SCAN;
	if (s->c.vary_budgets && dr_below(&s->rng, 2)) {
		/* a small dirty ceiling and no auto flush: NEEDS_FLUSH from
		 * the ceilings comes often */
		o.flags |= WODAN_OPEN_NO_AUTOFLUSH;
		o.dirty_bytes = (uint64_t)s->c.bs * (1 + dr_below(&s->rng, 8));
		o.dirty_hard_bytes = o.dirty_bytes;
	}
	r = wodan_open(s->be, &o, &s->w);
	if (r) {
		s->w = NULL;
		return om_diverge(s, "open: expected success, got %s",
				  wodan_strerror(r));
	}
	wodan_get_info(s->w, &info);
	/* a writable open of a journal image begins an epoch: a root of its
	 * own, newer than the last flush */
	if (s->gen && (s->c.journal ? info.generation <= s->gen
				    : info.generation != s->gen))
		return om_diverge(s, "open: expected generation %s%llu (the "
				  "last flush), got %llu",
				  s->c.journal ? "above " : "",
				  (unsigned long long)s->gen,
				  (unsigned long long)info.generation);
	s->gen = info.generation;
	s->maxv = info.max_value_bytes;
	s->tombstones = info.tombstones;
	return 0;
}

static uint64_t hard_stops(wodan_t *w)
{
	struct wodan_stats st;

	wodan_get_stats(w, &st);
	return st.hard_ceiling_stops;
}

/* A random value length: mostly short, sometimes empty or the maximum. */
static uint32_t rand_len(struct om *s)
{
	uint32_t cap = s->c.max_val < s->maxv ? s->c.max_val : s->maxv;
	uint64_t shape = dr_below(&s->rng, 16);

	if (shape == 0)
		return cap;
	if (shape == 1)
		return 0;
	if (shape < 4)
		return (uint32_t)dr_below(&s->rng, (uint64_t)cap + 1);
	return (uint32_t)dr_below(&s->rng, (cap < 32 ? cap : 32) + 1ull);
}

/* Close+reopen (cut 0: close is a flush, everything is durable) or power
 * cut (cut 1: abandon the handle; the last flushed state must come back),
 * sometimes wodan_check of the closed image, then open and compare. */
static int op_restart(struct om *s, int cut)
{
	s->op = cut ? "power cut" : "close+reopen";
	*(cut ? &s->n.cuts : &s->n.reopens) += 1;
	s->n.hard_stops += hard_stops(s->w);
	if (cut) {
		wodan_abandon(s->w);
		s->w = NULL;
		if (om_map_copy(&s->cur, &s->dur))
			nomem(s);
	} else {
		int r = wodan_close(s->w);
		s->w = NULL;
		if (r)
			return om_diverge(s, "close: expected success, got %s",
					  wodan_strerror(r));
		make_durable(s);
		s->gen = 0;    /* close does not report its generation */
	}
	if (dr_below(&s->rng, cut ? 2 : 4) == 0 && om_check_image(s))
		return 1;
	if (om_open(s, s->c.fast_reopen && dr_below(&s->rng, 2)))
		return 1;
	return om_check_all(s, cut ? "after power cut: " : "after reopen: ");
}

static int op_range(struct om *s)
{
	uint8_t a[256], b[256];
	int ns = dr_below(&s->rng, 8) == 0, ne = dr_below(&s->rng, 8) == 0;

	s->op = "iterate range";
	for (int j = 0; j < 2; j++) {
		uint8_t *x = j ? b : a;
		if (dr_below(&s->rng, 2))
			memcpy(x, pool_key(s, (uint32_t)dr_below(&s->rng,
								s->npool)),
			       s->ks);
		else
			for (uint32_t i = 0; i < s->ks; i++)
				x[i] = (uint8_t)dr_splitmix64(&s->rng);
	}
	/* a quarter of the inverted ranges stay inverted: empty */
	if (memcmp(a, b, s->ks) > 0 && dr_below(&s->rng, 4)) {
		uint8_t t[256];
		memcpy(t, a, s->ks);
		memcpy(a, b, s->ks);
		memcpy(b, t, s->ks);
	}
	return om_check_range(s, ns ? NULL : a, ne ? NULL : b, "");
}

int om_step(struct om *s)
{
	static const uint16_t def_mix[OM_NMIX] = { 530, 170, 250, 40, 10 };
	const uint16_t *mix = s->c.mix;
	uint32_t i = (uint32_t)dr_below(&s->rng, s->npool);
	uint64_t dice = dr_below(&s->rng, 1000);
	uint32_t fr = s->c.flush_rate, rr = s->c.reopen_rate;
	const uint8_t *k = pool_key(s, i);
	uint32_t at = 0;
	int what;

	if (dice < fr) {
		s->op = "flush";
		return flush2(s, s->c.flush_twice);
	}
	if (dice < fr + rr + s->c.cut_rate)
		return op_restart(s, dice >= fr + rr);
	if (!mix[0] && !mix[1] && !mix[2] && !mix[3] && !mix[4])
		mix = def_mix;
	dice = dr_below(&s->rng, 1000);
	for (what = 0; what < OM_ALL; what++) {
		at += mix[what];
		if (dice < at)
			break;
	}
	switch (what) {
	case OM_INSERT: {
		uint32_t len = rand_len(s);
		s->op = "insert";
		s->n.inserts++;
		for (uint32_t b = 0; b < len; b++)
			s->val[b] = (uint8_t)dr_splitmix64(&s->rng);
		return om_change(s, k, s->val, len);
	}
	case OM_DELETE:
		s->op = "delete";
		s->n.deletes++;
		return om_change(s, k, NULL, 0);
	case OM_LOOKUP:
		s->op = "lookup";
		return om_check_lookup(s, k, "");
	case OM_RANGE:
		return op_range(s);
	default:
		s->op = "iterate all";
		return om_check_range(s, NULL, NULL, "");
	}
}

int om_run(struct om *s, uint64_t ops)
{
	int r;

	if (om_open(s, 0))
		return 1;
	for (s->step = 0; s->step < ops; s->step++)
		if (om_step(s))
			return 1;
	s->op = "final close";
	s->n.hard_stops += hard_stops(s->w);
	r = wodan_close(s->w);
	s->w = NULL;
	if (r)
		return om_diverge(s, "close: expected success, got %s",
				  wodan_strerror(r));
	make_durable(s);
	return om_check_image(s);
}

void om_free(struct om *s)
{
	if (s->w)
		wodan_abandon(s->w);
	s->w = NULL;
	om_map_free(&s->cur);
	om_map_free(&s->dur);
	free(s->pool);
	free(s->val);
	free(s->got);
	s->pool = s->val = s->got = NULL;
	s->npool = 0;
}
