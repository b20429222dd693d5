/*
 * image_exercise.c -- see image_exercise.h.  Public libwodan API only.
 *
 * The model is the sorted snapshot of the image's live keys taken by a full
 * iteration right after open; every later operation is applied to it, and
 * lookups, iterations, reopen and power cut are compared against it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wodan.h"
#include "image_exercise.h"

/* ------------------------------------------------------------ reporting */

static void wf_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Print the mismatch and abort (a crash for AFL and libFuzzer). */
static void wf_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("wodan fuzz: MISMATCH: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (last error: %s)\n", wodan_last_error()->message);
	abort();
}

/* First bytes of buf as hex, for messages. */
static const char *hex(const uint8_t *buf, size_t len, char out[41])
{
	size_t i, n = len > 16 ? 16 : len;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	out[2 * n] = 0;
	if (n < len)
		strcpy(out + 2 * n, "..");
	return out;
}

/* ---------------------------------------------------------------- model */

struct kv {
	uint8_t *key;   /* ks bytes, then the value (one allocation) */
	uint32_t len;
};

struct kvset {
	struct kv *v;
	size_t n, cap;
	uint32_t ks;
};

static const uint8_t *kv_val(const struct kvset *s, const struct kv *e)
{
	return e->key + s->ks;
}

static void set_free(struct kvset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].key);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* Index of the first entry with key >= k; *found when equal. */
static size_t set_find(const struct kvset *s, const uint8_t *k, int *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(s->v[mid].key, k, s->ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && !memcmp(s->v[lo].key, k, s->ks);
	return lo;
}

static struct kv kv_new(uint32_t ks, const uint8_t *k, const uint8_t *v,
			uint32_t len)
{
	struct kv e = { malloc((size_t)ks + len + 1), len };

	if (!e.key) {
		fputs("wodan fuzz: out of memory\n", stderr);
		abort();
	}
	memcpy(e.key, k, ks);
	if (len)
		memcpy(e.key + ks, v, len);
	return e;
}

/* Insert or replace k -> v at its sorted place. */
static void set_put(struct kvset *s, const uint8_t *k, const uint8_t *v,
		    uint32_t len)
{
	int found;
	size_t i = set_find(s, k, &found);

	if (found) {
		free(s->v[i].key);
		s->v[i] = kv_new(s->ks, k, v, len);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v) {
			fputs("wodan fuzz: out of memory\n", stderr);
			abort();
		}
	}
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof *s->v);
	s->v[i] = kv_new(s->ks, k, v, len);
	s->n++;
}

static void set_del(struct kvset *s, const uint8_t *k)
{
	int found;
	size_t i = set_find(s, k, &found);

	if (!found)
		return;
	free(s->v[i].key);
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof *s->v);
	s->n--;
}

static void set_copy(struct kvset *d, const struct kvset *s)
{
	set_free(d);
	d->ks = s->ks;
	d->cap = d->n = s->n;
	d->v = calloc(s->n ? s->n : 1, sizeof *d->v);
	if (!d->v)
		abort();
	for (size_t i = 0; i < s->n; i++)
		d->v[i] = kv_new(s->ks, s->v[i].key, kv_val(s, &s->v[i]),
				 s->v[i].len);
}

/* ------------------------------------------------------------ iteration */

/* Snapshot callback: append, keys must strictly ascend. */
static int collect_cb(void *arg, const uint8_t *key, const uint8_t *val,
		      size_t len)
{
	struct kvset *s = arg;
	char a[41], b[41];

	if (s->n && memcmp(s->v[s->n - 1].key, key, s->ks) >= 0)
		wf_fail("iteration not strictly ascending: key %s after %s",
			hex(key, s->ks, a), hex(s->v[s->n - 1].key, s->ks, b));
	if (len > 65535)
		wf_fail("iteration yielded a %zu-byte value", len);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			abort();
	}
	s->v[s->n++] = kv_new(s->ks, key, val, (uint32_t)len);
	return 0;
}

/* Compare an iteration of [start, end) with the model entries [a, b). */
struct cmp {
	const struct kvset *m;
	size_t next, stop;
	const char *what;
};

static int compare_cb(void *arg, const uint8_t *key, const uint8_t *val,
		      size_t len)
{
	struct cmp *c = arg;
	const struct kvset *m = c->m;
	char a[41], b[41];

	if (c->next >= c->stop)
		wf_fail("%s: iteration yielded extra key %s", c->what,
			hex(key, m->ks, a));
	const struct kv *e = &m->v[c->next];
	if (memcmp(e->key, key, m->ks))
		wf_fail("%s: iteration yielded key %s, expected %s", c->what,
			hex(key, m->ks, a), hex(e->key, m->ks, b));
	if (len != e->len || (len && memcmp(val, kv_val(m, e), len)))
		wf_fail("%s: key %s: iteration value %zu bytes %s, expected %u "
			"bytes %s", c->what, hex(key, m->ks, a), len,
			hex(val, len, b), e->len, hex(kv_val(m, e), e->len, a));
	c->next++;
	return 0;
}

static void compare_range(wodan_t *w, const struct kvset *m,
			  const uint8_t *start, const uint8_t *end,
			  const char *what)
{
	struct cmp c = { m, 0, m->n, what };
	int found, r;

	if (start)
		c.next = set_find(m, start, &found);
	if (end)
		c.stop = set_find(m, end, &found);
	if (c.stop < c.next)
		c.stop = c.next;
	r = wodan_iterate(w, start, end, compare_cb, &c);
	if (r)
		wf_fail("%s: iterate failed: %s", what, wodan_strerror(r));
	if (c.next != c.stop) {
		char a[41];
		wf_fail("%s: iteration missed key %s (%zu of %zu seen)", what,
			hex(m->v[c.next].key, m->ks, a), c.next, c.stop);
	}
}

/* Lookup k and compare with the model. */
static void check_lookup(wodan_t *w, const struct kvset *m, const uint8_t *k,
			 const char *what)
{
	static uint8_t buf[65536];
	size_t len = 0;
	int found, r;
	size_t i = set_find(m, k, &found);
	char a[41], b[41];

	r = wodan_lookup(w, k, m->ks, buf, sizeof buf, &len);
	if (r < 0)
		wf_fail("%s: lookup %s failed: %s", what, hex(k, m->ks, a),
			wodan_strerror(r));
	if (r != found)
		wf_fail("%s: lookup %s: %s, expected %s", what,
			hex(k, m->ks, a), r ? "present" : "absent",
			found ? "present" : "absent");
	if (found && (len != m->v[i].len ||
		      memcmp(buf, kv_val(m, &m->v[i]), len)))
		wf_fail("%s: lookup %s: value %zu bytes %s, expected %u bytes %s",
			what, hex(k, m->ks, a), len, hex(buf, len, b),
			m->v[i].len, hex(kv_val(m, &m->v[i]), m->v[i].len, a));
}

/* Full comparison: the whole iteration, two sub-ranges, and lookups of
 * (at most 64) model keys and their neighbours. */
static void check_all(wodan_t *w, const struct kvset *m, const char *what)
{
	uint8_t k[256];
	size_t step = m->n / 64 + 1;

	compare_range(w, m, NULL, NULL, what);
	if (m->n >= 2) {
		compare_range(w, m, m->v[m->n / 3].key, m->v[m->n - 1].key,
			      what);
		compare_range(w, m, NULL, m->v[m->n / 2].key, what);
	}
	for (size_t i = 0; i < m->n; i += step) {
		check_lookup(w, m, m->v[i].key, what);
		memcpy(k, m->v[i].key, m->ks);
		k[m->ks - 1] ^= 1;           /* a neighbour, often absent */
		check_lookup(w, m, k, what);
	}
	memset(k, 0, m->ks);
	check_lookup(w, m, k, what);
	memset(k, 0xff, m->ks);
	check_lookup(w, m, k, what);
}

/* ----------------------------------------------------------------- runs */

/* Fill 32 KiB of stack below the caller with 0xff before a library entry
 * point, so that a read of an uninitialised local in the callee sees large
 * garbage in every build (gcc, clang, with or without sanitizers), not
 * whatever an earlier call left there: such a bug then fails the same way
 * everywhere (fuzz/regress/image/rollback-uninit-roots.img). */
static void __attribute__((noinline)) paint_stack(void)
{
	uint8_t pad[32 * 1024];

	memset(pad, 0xff, sizeof pad);
	__asm__ volatile("" : : "r"(pad) : "memory");
}


struct run {
	struct wodan_backend *be;
	struct wodan_open_opts o;
	int verbose;
	struct kvset m;        /* current state */
	struct kvset durable;  /* last flushed state */
	uint64_t gen;          /* generation of the last flush */
	int hostile_log;       /* root generations out of log order */
};

/* Apply one mutation (val NULL = delete).  NEEDS_FLUSH: flush and retry
 * once; OUT_OF_SPACE (or a second NEEDS_FLUSH): the model stays as is.
 * Any change of the durable generation (auto flush) is tracked. */
static void mutate(struct run *R, wodan_t *w, const uint8_t *k,
		   const uint8_t *v, uint32_t len)
{
	struct wodan_info info;
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		uint64_t before;
		wodan_get_info(w, &info);
		before = info.generation;
		r = v ? wodan_insert(w, k, R->m.ks, v, len)
		      : wodan_delete(w, k, R->m.ks);
		wodan_get_info(w, &info);
		if (info.generation != before) {
			/* auto flush ran before the change was applied */
			set_copy(&R->durable, &R->m);
			R->gen = info.generation;
		}
		if (r != WODAN_E_NEEDS_FLUSH || tries == 1)
			break;
		int fr = wodan_flush(w, &R->gen);
		if (fr)
			wf_fail("flush (after needs flush) failed: %s",
				wodan_strerror(fr));
		set_copy(&R->durable, &R->m);
	}
	if (r == 0) {
		if (v && !(info.tombstones && len == 0))
			set_put(&R->m, k, v, len);
		else
			set_del(&R->m, k);
	} else if (r != WODAN_E_OUT_OF_SPACE && r != WODAN_E_NEEDS_FLUSH) {
		wf_fail("%s failed: %s", v ? "insert" : "delete",
			wodan_strerror(r));
	}
	check_lookup(w, &R->m, k, "after a change");
}

static uint64_t le_u64(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Standard CRC-32C, bitwise table (only to tell which blocks the root
 * search can see). */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	static uint32_t t[256];
	uint32_t c = 0xffffffffu;

	if (!t[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t x = i;
			for (int k = 0; k < 8; k++)
				x = x & 1 ? (x >> 1) ^ 0x82f63b78u : x >> 1;
			t[i] = x;
		}
	while (n--)
		c = t[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

/*
 * 1 when the input's root candidates (blocks of type 1 with the
 * superblock's fsid, a valid or magic CRC, generation > 0), read in block
 * order, have rising generations with at most one wrap: the circular log
 * order that every image the library writes has, and that the root search
 * (a bisection, doc/SPEC.md §8.1) relies on.  A hostile image without it may
 * legitimately reopen to another root after this run's flushes moved the
 * log (a documented limitation, fuzz/README.md), so reopen mismatches are
 * only failures on monotone images (or with WODAN_FUZZ_STRICT_ROOTS set).
 */
static int roots_monotone(const uint8_t *d, size_t len)
{
	uint64_t bs, lsize, first = 0, prev = 0;
	int n = 0, descents = 0;

	if (len < 512)
		return 1;
	bs = le_u64(d + 28, 4);
	lsize = le_u64(d + 41, 8);
	if (bs < 512 || bs % 512 || bs > len)
		return 1;
	for (uint64_t L = 1; L < lsize && (L + 1) * bs <= len; L++) {
		const uint8_t *b = d + L * bs;
		uint64_t g = le_u64(b + 1, 8);
		int magic = !memcmp(b + bs - 4, "\xff\xff\xff\xff", 4);
		if (b[0] != 1 || memcmp(b + 9, d + 49, 16) || g == 0 ||
		    !(magic || crc32c(b, bs) == 0xffffffffu))
			continue;
		/* a root at or above 2^62 makes a writable open refuse (its
		 * successors' generations would wrap): treated like a hostile
		 * log order, the run stops quietly */
		if (g >= (1ull << 62))
			return 0;
		if (n++ == 0)
			first = g;
		else if (g <= prev)
			descents++;
		prev = g;
	}
	if (n > 1 && first <= prev)
		descents++;          /* the wrap from the last to the first */
	return descents <= 1;
}

/* Close+reopen or power cut: open again (never with rollback) and expect
 * the generation of the last flush.  Returns NULL when a hostile log order
 * (see roots_monotone) let the root search pick another root: the run
 * stops there, cleanly. */
static wodan_t *reopen(struct run *R, const char *what)
{
	wodan_t *w = NULL;
	struct wodan_info info;
	struct wodan_open_opts o = R->o;
	int r, lenient = R->hostile_log && !getenv("WODAN_FUZZ_STRICT_ROOTS");

	o.flags &= ~(unsigned)WODAN_OPEN_ROLLBACK;
	paint_stack();
	r = wodan_open(R->be, &o, &w);
	if (r == 0) {
		wodan_get_info(w, &info);
		if (info.generation == R->gen)
			return w;
		/* a journal image (incompat 0x10): close checkpoints and a
		 * writable open begins an epoch, each with a newer root; each
		 * node written takes one generation, so together they move it
		 * by at most twice the device's blocks (a root found far
		 * above that is a hostile one, handled below) */
		if ((info.incompat_flags & 0x10u) && info.generation > R->gen &&
		    info.generation - R->gen <=
			    2 * info.logical_size_blocks + 2 &&
		    !(o.flags & WODAN_OPEN_READONLY)) {
			R->gen = info.generation;
			return w;
		}
	}
	if (lenient) {
		if (R->verbose)
			fprintf(stderr, "wodan fuzz: %s: %s (root generations "
				"out of log order: known limitation, run "
				"stopped)\n", what, r ? wodan_strerror(r) :
				"another root found");
		if (w)
			wodan_abandon(w);
		return NULL;
	}
	if (r)
		wf_fail("%s: reopen of an image this run wrote failed: %s",
			what, wodan_strerror(r));
	wf_fail("%s: reopen found generation %llu, the last flush made %llu",
		what, (unsigned long long)info.generation,
		(unsigned long long)R->gen);
}

/* Steps 2 and 3 of image_exercise.h on an opened handle.  Returns 1, or 0
 * when a reopen stopped the run (hostile log order). */
static int exercise(struct run *R, wodan_t *w, const uint8_t *data,
		     size_t len)
{
	struct wodan_info info;
	uint8_t k[256], *v;
	uint32_t ks, maxv, vlen;
	uint64_t h = 1469598103934665603ull;
	int r;

	wodan_get_info(w, &info);
	ks = info.key_size_bytes;
	maxv = info.max_value_bytes;
	R->gen = info.generation;
	v = malloc(maxv + 1);
	if (!v)
		abort();
	for (size_t i = 0; i < len && i < 4096; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	for (uint32_t i = 0; i <= maxv; i++)
		v[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;

	/* a key derived from the input, an overwrite, the extremes */
	for (uint32_t i = 0; i < ks; i++)
		k[i] = (uint8_t)(h >> (8 * (i % 8)));
	mutate(R, w, k, v, 7 < maxv ? 7 : maxv);
	if (R->m.n) {
		memcpy(k, R->m.v[0].key, ks);
		mutate(R, w, k, v + 1, 3 < maxv ? 3 : maxv);
	}
	memset(k, 0, ks);
	mutate(R, w, k, v, maxv);                  /* the largest value */
	memset(k, 0xff, ks);
	vlen = maxv < 100 ? maxv : 100;
	mutate(R, w, k, v + 2, vlen - (vlen > 2 ? 2 : 0));
	if (info.tombstones && R->m.n > 2) {
		memcpy(k, R->m.v[R->m.n - 2].key, ks);
		mutate(R, w, k, NULL, 0);
	} else if (!info.tombstones) {
		memset(k, 0x5a, ks);
		mutate(R, w, k, v, 0);              /* an ordinary empty value */
	}
	check_all(w, &R->m, "before flush");

	r = wodan_flush(w, &R->gen);
	if (r)
		wf_fail("flush failed: %s", wodan_strerror(r));
	set_copy(&R->durable, &R->m);
	check_all(w, &R->m, "after flush");
	r = wodan_close(w);
	if (r)
		wf_fail("close failed: %s", wodan_strerror(r));

	w = reopen(R, "close+reopen");
	if (!w) {
		free(v);
		return 0;
	}
	check_all(w, &R->m, "after close+reopen");

	/* power cut: a change that no flush covers is lost */
	memset(k, 0x33, ks);
	mutate(R, w, k, v + 5, 5 < maxv ? 5 : maxv);
	wodan_abandon(w);
	set_copy(&R->m, &R->durable);
	w = reopen(R, "power cut");
	if (!w) {
		free(v);
		return 0;
	}
	check_all(w, &R->m, "after power cut");
	r = wodan_close(w);
	if (r)
		wf_fail("close after power cut failed: %s", wodan_strerror(r));
	free(v);

	struct wodan_check_report rep;
	r = wodan_check(R->be, WODAN_OPEN_RELAX_MAGIC_CRC, &rep, NULL, NULL);
	if (rep.generation != R->gen && R->hostile_log &&
	    !getenv("WODAN_FUZZ_STRICT_ROOTS")) {
		wodan_check_report_free(&rep);   /* as in reopen() */
		return 0;
	}
	if (r != 0)
		wf_fail("check of the image this run wrote: %d (%u problems: "
			"%s)", r, rep.n_problems,
			rep.n_problems ? rep.problems[0].what : "none");
	if (rep.live_keys != R->m.n)
		wf_fail("check counts %llu live keys, the model %zu",
			(unsigned long long)rep.live_keys, R->m.n);
	wodan_check_report_free(&rep);
	return 1;
}

/* Damage errors that FAST_SCAN may defer to the first load of a leaf. */
static int damage(int r)
{
	return r == WODAN_E_BAD_CRC || r == WODAN_E_CORRUPT ||
	       r == WODAN_E_BAD_NODE_TYPE || r == WODAN_E_FSID;
}

int wf_image_run(const uint8_t *data, size_t len, int verbose)
{
	struct run R = { 0 };
	struct wodan_check_report rep;
	wodan_t *w = NULL;
	uint64_t dev = (len + 511) / 512 * 512;
	unsigned opt = len > WF_OPTION_BYTE ? data[WF_OPTION_BYTE] : 0;
	int rc, ro, fast, rollback;

	if (len > WF_IMAGE_MAX)
		return -1;
	if (dev == 0)
		dev = 512;
	if (wodan_backend_ram_create(dev, &R.be))
		return -1;
	if (len && R.be->write(R.be, 0, data, len)) {
		wodan_backend_close(R.be);
		return -1;
	}
	fast = (opt & 1) != 0;
	rollback = (opt & 2) != 0;
	R.o.flags = WODAN_OPEN_RELAX_MAGIC_CRC | WODAN_OPEN_MAGIC_CRC_WRITE |
		    (fast ? WODAN_OPEN_FAST_SCAN : 0) |
		    (rollback ? WODAN_OPEN_ROLLBACK : 0);
	if (opt & 4)
		R.o.cache_bytes = 1;
	if (opt & 8) {
		R.o.flags |= WODAN_OPEN_NO_AUTOFLUSH;
		R.o.dirty_bytes = 1;
	}
	if (opt & 16)
		R.o.max_fanout = 3;
	R.verbose = verbose;

	/* 1. check and open must agree (check never writes) */
	paint_stack();
	rc = wodan_check(R.be, WODAN_OPEN_RELAX_MAGIC_CRC |
			 (rollback ? WODAN_OPEN_ROLLBACK : 0), &rep, NULL, NULL);
	if (rc < 0 && rc != WODAN_E_INVAL && rc != WODAN_E_NOMEM)
		wf_fail("check failed to run: %s", wodan_strerror(rc));
	paint_stack();
	ro = wodan_open(R.be, &R.o, &w);
	if (!fast && !rollback && (rc == 0) != (ro == 0))
		wf_fail("check says %s (%s) but open %s (%s)",
			rc == 0 ? "clean" : "not clean",
			rep.n_problems ? rep.problems[0].what : "-",
			ro == 0 ? "succeeded" : "failed", wodan_strerror(ro));
	wodan_check_report_free(&rep);
	if (ro) {
		if (verbose)
			fprintf(stderr, "wodan fuzz: image refused: %s: %s\n",
				wodan_strerror(ro), wodan_last_error()->message);
		wodan_backend_close(R.be);
		return 0;
	}

	/* 2. snapshot: the model */
	struct wodan_info info;
	wodan_get_info(w, &info);
	R.m.ks = R.durable.ks = info.key_size_bytes;
	int ir = wodan_iterate(w, NULL, NULL, collect_cb, &R.m);
	if (ir) {
		if (!(fast && damage(ir)))
			wf_fail("iterate of an opened image failed: %s",
				wodan_strerror(ir));
		if (verbose)
			fprintf(stderr, "wodan fuzz: damaged leaf under fast "
				"scan: %s\n", wodan_last_error()->message);
		wodan_abandon(w);
		set_free(&R.m);
		wodan_backend_close(R.be);
		return 0;
	}
	if (rc == 0 && !fast && !rollback && rep.live_keys != R.m.n)
		wf_fail("check counted %llu live keys, iteration %zu",
			(unsigned long long)rep.live_keys, R.m.n);
	set_copy(&R.durable, &R.m);
	check_all(w, &R.m, "after open");

	/* 3. changes, flush, reopen, power cut, final check */
	R.hostile_log = !roots_monotone(data, len);
	if (!exercise(&R, w, data, len)) {
		set_free(&R.m);
		set_free(&R.durable);
		wodan_backend_close(R.be);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "wodan fuzz: image opened (bs %u, ks %u, "
			"generation %llu) and exercised: %zu keys now\n",
			info.block_size_bytes, info.key_size_bytes,
			(unsigned long long)info.generation, R.m.n);
	set_free(&R.m);
	set_free(&R.durable);
	wodan_backend_close(R.be);
	return 1;
}
