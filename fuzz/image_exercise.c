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
#include "opmodel.h"

/* ------------------------------------------------------------ reporting */

static void wf_fail(struct om *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Print the mismatch and abort (a crash for AFL and libFuzzer). */
static void wf_fail(struct om *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	om_diverge(s, "%s", msg);   /* abort_on_divergence: aborts */
	abort();
}

/* Model entries the exercise keeps at most (a 64 MiB image holds fewer). */
#define WF_MODEL_MAX (1u << 22)

/* Snapshot callback: append, keys must strictly ascend. */
static int collect_cb(void *arg, const uint8_t *key, const uint8_t *val,
		      size_t len)
{
	struct om *s = arg;
	struct om_map *m = &s->cur;
	char a[41], b[41];

	if (m->n && memcmp(om_key(m, m->n - 1), key, m->ks) >= 0)
		wf_fail(s, "iteration not strictly ascending: key %s after %s",
			om_hex(key, m->ks, a),
			om_hex(om_key(m, m->n - 1), m->ks, b));
	if (len > 65535)
		wf_fail(s, "iteration yielded a %zu-byte value", len);
	if (om_map_put(m, key, val, (uint32_t)len)) {
		fputs("wodan fuzz: out of memory (model)\n", stderr);
		abort();
	}
	return 0;
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
	struct om s;           /* model, handle, backend, last flush */
	int verbose;
	int hostile_log;       /* root generations out of log order */
	uint64_t max_hdr_gen;  /* largest header generation of the input */
};

static uint64_t le_u64(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
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
		    !(magic || dr_crc32c(b, bs) == 0xffffffffu))
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

/*
 * The largest generation in the header of any block of the input that
 * carries the superblock's fsid and a node type (1 root, 2 inner or leaf,
 * 3 journal), whole or not, below 2^62.  The first write of a writable
 * handle raises the next generation above those of blocks an interrupted
 * writer left after the durable tree, torn ones included (doc/DESIGN.md
 * §6, torn writes after a crash), so a later root may legitimately jump
 * that far.
 */
static uint64_t max_header_gen(const uint8_t *d, size_t len)
{
	uint64_t bs, lsize, top = 0;

	if (len < 512)
		return 0;
	bs = le_u64(d + 28, 4);
	lsize = le_u64(d + 41, 8);
	if (bs < 512 || bs % 512 || bs > len)
		return 0;
	for (uint64_t L = 1; L < lsize && (L + 1) * bs <= len; L++) {
		const uint8_t *b = d + L * bs;
		uint64_t g = le_u64(b + 1, 8);
		if (b[0] >= 1 && b[0] <= 3 && !memcmp(b + 9, d + 49, 16) &&
		    g < (1ull << 62) && g > top)
			top = g;
	}
	return top;
}

/* Close+reopen or power cut: open again (never with rollback) and expect
 * the generation of the last flush.  Returns 0 with R->s.w open, or 1 when
 * a hostile log order (see roots_monotone) let the root search pick
 * another root: the run stops there, cleanly. */
static int reopen(struct run *R, const char *what)
{
	struct om *s = &R->s;
	wodan_t *w = NULL;
	struct wodan_info info;
	struct wodan_open_opts o = s->o;
	int r, lenient = R->hostile_log && !getenv("WODAN_FUZZ_STRICT_ROOTS");

	o.flags &= ~(unsigned)WODAN_OPEN_ROLLBACK;
	s->op = what;
	paint_stack();
	r = wodan_open(s->be, &o, &w);
	if (r == 0) {
		s->w = w;
		wodan_get_info(w, &info);
		if (info.generation == s->gen)
			return 0;
		/* a journal image (incompat 0x10): close checkpoints and a
		 * writable open begins an epoch, each with a newer root; each
		 * node written takes one generation, so together they move it
		 * by at most twice the device's blocks above the last flush
		 * or above the largest header generation the input carried
		 * (see max_header_gen; only on an input whose roots are in
		 * log order: on another one that jump may be a hostile root
		 * the search picked); a root found far above that is a
		 * hostile one, handled below */
		uint64_t base = s->gen;
		if (!R->hostile_log && R->max_hdr_gen > base)
			base = R->max_hdr_gen;
		if ((info.incompat_flags & 0x10u) && info.generation > s->gen &&
		    info.generation <=
			    base + 2 * info.logical_size_blocks + 2 &&
		    !(o.flags & WODAN_OPEN_READONLY)) {
			s->gen = info.generation;
			return 0;
		}
	}
	if (lenient) {
		if (R->verbose)
			fprintf(stderr, "wodan fuzz: %s: %s (root generations "
				"out of log order: known limitation, run "
				"stopped)\n", what, r ? wodan_strerror(r) :
				"another root found");
		return 1;       /* s->w (if open) is abandoned by om_free */
	}
	if (r)
		wf_fail(s, "%s: reopen of an image this run wrote failed: %s",
			what, wodan_strerror(r));
	wf_fail(s, "%s: reopen found generation %llu, the last flush made %llu",
		what, (unsigned long long)info.generation,
		(unsigned long long)s->gen);
}

/* Close s->w; a failure is a mismatch. */
static void close_handle(struct om *s, const char *what)
{
	int r;

	s->op = what;
	r = wodan_close(s->w);
	s->w = NULL;
	if (r)
		wf_fail(s, "%s failed: %s", what, wodan_strerror(r));
}

/* Steps 2 and 3 of image_exercise.h on the opened handle R->s.w.  Returns
 * 1, or 0 when a reopen stopped the run (hostile log order).  Every model
 * check aborts on a mismatch (abort_on_divergence). */
static int exercise(struct run *R, const uint8_t *data, size_t len)
{
	struct om *s = &R->s;
	struct wodan_info info;
	uint8_t k[256], *v;
	uint32_t ks, maxv, vlen;
	uint64_t h = 1469598103934665603ull;
	int r;

	wodan_get_info(s->w, &info);
	ks = s->ks;
	maxv = s->maxv;
	v = malloc(maxv + 1);
	if (!v)
		abort();
	for (size_t i = 0; i < len && i < 4096; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	for (uint32_t i = 0; i <= maxv; i++)
		v[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;

	/* a key derived from the input, an overwrite, the extremes */
	s->op = "changes";
	for (uint32_t i = 0; i < ks; i++)
		k[i] = (uint8_t)(h >> (8 * (i % 8)));
	om_change(s, k, v, 7 < maxv ? 7 : maxv);
	if (s->cur.n) {
		memcpy(k, om_key(&s->cur, 0), ks);
		om_change(s, k, v + 1, 3 < maxv ? 3 : maxv);
	}
	memset(k, 0, ks);
	om_change(s, k, v, maxv);                  /* the largest value */
	memset(k, 0xff, ks);
	vlen = maxv < 100 ? maxv : 100;
	om_change(s, k, v + 2, vlen - (vlen > 2 ? 2 : 0));
	if (info.tombstones && s->cur.n > 2) {
		memcpy(k, om_key(&s->cur, s->cur.n - 2), ks);
		om_change(s, k, NULL, 0);
	} else if (!info.tombstones) {
		memset(k, 0x5a, ks);
		om_change(s, k, v, 0);              /* an ordinary empty value */
	}
	om_check_all(s, "before flush: ");

	s->op = "flush";
	om_flush(s);
	om_check_all(s, "after flush: ");
	close_handle(s, "close");
	if (reopen(R, "close+reopen")) {
		free(v);
		return 0;
	}
	om_check_all(s, "after close+reopen: ");

	/* power cut: a change that no flush covers is lost */
	memset(k, 0x33, ks);
	om_change(s, k, v + 5, 5 < maxv ? 5 : maxv);
	free(v);
	wodan_abandon(s->w);
	s->w = NULL;
	if (om_map_copy(&s->cur, &s->dur))
		abort();
	if (reopen(R, "power cut"))
		return 0;
	om_check_all(s, "after power cut: ");
	close_handle(s, "close after power cut");

	struct wodan_check_report rep;
	s->op = "final check";
	r = wodan_check(s->be, WODAN_OPEN_RELAX_MAGIC_CRC, &rep, NULL, NULL);
	if (rep.generation != s->gen && R->hostile_log &&
	    !getenv("WODAN_FUZZ_STRICT_ROOTS")) {
		wodan_check_report_free(&rep);   /* as in reopen() */
		return 0;
	}
	if (r != 0)
		wf_fail(s, "check of the image this run wrote: %d (%u problems: "
			"%s)", r, rep.n_problems,
			rep.n_problems ? rep.problems[0].what : "none");
	if (rep.live_keys != s->cur.n)
		wf_fail(s, "check counts %llu live keys, the model %zu",
			(unsigned long long)rep.live_keys, s->cur.n);
	wodan_check_report_free(&rep);
	return 1;
}

/* Damage errors that FAST_SCAN may defer to the first load of a leaf. */
static int damage(int r)
{
	return r == WODAN_E_BAD_CRC || r == WODAN_E_CORRUPT ||
	       r == WODAN_E_BAD_NODE_TYPE || r == WODAN_E_FSID;
}

/* End of a run: free the model, abandon the handle, close the device. */
static int finish(struct run *R, int ret)
{
	struct wodan_backend *be = R->s.be;

	om_free(&R->s);
	wodan_backend_close(be);
	return ret;
}

int wf_image_run(const uint8_t *data, size_t len, int verbose)
{
	struct run R;
	struct om *s = &R.s;
	struct wodan_check_report rep;
	uint64_t dev = (len + 511) / 512 * 512;
	unsigned opt = len > WF_OPTION_BYTE ? data[WF_OPTION_BYTE] : 0;
	int rc, ro, fast, rollback;

	if (len > WF_IMAGE_MAX)
		return -1;
	memset(&R, 0, sizeof R);
	om_init(s, "wodan fuzz", 0);
	s->abort_on_divergence = 1;
	s->lookup_after_change = 1;
	s->c.magic = 1;
	if (dev == 0)
		dev = 512;
	if (wodan_backend_ram_create(dev, &s->be))
		return -1;
	if (len && s->be->write(s->be, 0, data, len)) {
		wodan_backend_close(s->be);
		return -1;
	}
	s->got = malloc(65536);
	if (!s->got)
		return finish(&R, -1);
	fast = (opt & 1) != 0;
	rollback = (opt & 2) != 0;
	s->o.flags = WODAN_OPEN_RELAX_MAGIC_CRC | WODAN_OPEN_MAGIC_CRC_WRITE |
		     (fast ? WODAN_OPEN_FAST_SCAN : 0) |
		     (rollback ? WODAN_OPEN_ROLLBACK : 0);
	if (opt & 4)
		s->o.cache_bytes = 1;
	if (opt & 8) {
		s->o.flags |= WODAN_OPEN_NO_AUTOFLUSH;
		s->o.dirty_bytes = 1;
	}
	if (opt & 16)
		s->o.max_fanout = 3;
	R.verbose = verbose;

	/* 1. check and open must agree (check never writes) */
	s->op = "open";
	paint_stack();
	rc = wodan_check(s->be, WODAN_OPEN_RELAX_MAGIC_CRC |
			 (rollback ? WODAN_OPEN_ROLLBACK : 0), &rep, NULL, NULL);
	if (rc < 0 && rc != WODAN_E_INVAL && rc != WODAN_E_NOMEM)
		wf_fail(s, "check failed to run: %s", wodan_strerror(rc));
	paint_stack();
	ro = wodan_open(s->be, &s->o, &s->w);
	if (!fast && !rollback && (rc == 0) != (ro == 0))
		wf_fail(s, "check says %s (%s) but open %s (%s)",
			rc == 0 ? "clean" : "not clean",
			rep.n_problems ? rep.problems[0].what : "-",
			ro == 0 ? "succeeded" : "failed", wodan_strerror(ro));
	wodan_check_report_free(&rep);
	if (ro) {
		s->w = NULL;
		if (verbose)
			fprintf(stderr, "wodan fuzz: image refused: %s: %s\n",
				wodan_strerror(ro), wodan_last_error()->message);
		return finish(&R, 0);
	}

	/* 2. snapshot: the model */
	struct wodan_info info;
	wodan_get_info(s->w, &info);
	s->ks = info.key_size_bytes;
	s->maxv = info.max_value_bytes;
	s->tombstones = info.tombstones;
	s->gen = info.generation;
	om_map_init(&s->cur, s->ks, WF_MODEL_MAX);
	om_map_init(&s->dur, s->ks, WF_MODEL_MAX);
	s->op = "snapshot";
	int ir = wodan_iterate(s->w, NULL, NULL, collect_cb, s);
	if (ir) {
		if (!(fast && damage(ir)))
			wf_fail(s, "iterate of an opened image failed: %s",
				wodan_strerror(ir));
		if (verbose)
			fprintf(stderr, "wodan fuzz: damaged leaf under fast "
				"scan: %s\n", wodan_last_error()->message);
		return finish(&R, 0);
	}
	if (rc == 0 && !fast && !rollback && rep.live_keys != s->cur.n)
		wf_fail(s, "check counted %llu live keys, iteration %zu",
			(unsigned long long)rep.live_keys, s->cur.n);
	if (om_map_copy(&s->dur, &s->cur))
		abort();
	om_check_all(s, "after open: ");

	/* 3. changes, flush, reopen, power cut, final check */
	R.hostile_log = !roots_monotone(data, len);
	R.max_hdr_gen = max_header_gen(data, len);
	if (!exercise(&R, data, len))
		return finish(&R, 0);
	if (verbose)
		fprintf(stderr, "wodan fuzz: image opened (bs %u, ks %u, "
			"generation %llu) and exercised: %zu keys now\n",
			info.block_size_bytes, info.key_size_bytes,
			(unsigned long long)info.generation, s->cur.n);
	return finish(&R, 1);
}
