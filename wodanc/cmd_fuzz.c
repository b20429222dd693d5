/*
 * cmd_fuzz.c -- `wodanc fuzz`: fuzzing entry points.
 *
 *   wodanc fuzz IMAGE        AFL-style: exercise a (hostile) image in a RAM
 *                            copy, relaxed magic CRC (fuzz/image_exercise.c);
 *                            a mismatch aborts, a refused image exits 0.
 *                            Built with afl-clang-fast it runs in AFL
 *                            persistent mode (__AFL_LOOP).
 *   wodanc fuzz --ops N --seed S [--device DEV]
 *                            random operation loop against an in-memory
 *                            model; the first divergence exits 1 with the
 *                            seed, the step and expected vs got.
 *   wodanc fuzz --magic-seal IMAGE -F
 *                            rewrite, in place (hence -F), every unit with
 *                            a valid CRC (the
 *                            superblock, node blocks) with the magic trailer
 *                            ff ff ff ff: turns any image into a fuzz seed
 *                            whose mutations are not stopped by CRC32C
 *                            (fuzz/make-corpus.sh uses it).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../fuzz/image_exercise.h"

static const char fuzz_help[] =
	"Usage: wodanc fuzz IMAGE [-v]\n"
	"       wodanc fuzz --ops N --seed S [--device DEV] [OPTIONS]\n"
	"       wodanc fuzz --magic-seal IMAGE -F\n"
	"\n"
	"Fuzzing entry points.  Never needed for normal use.\n"
	"\n"
	"wodanc fuzz IMAGE (\"-\" = standard input) is the AFL-style target:\n"
	"IMAGE (at most 64 MiB) is copied into a RAM device and opened in\n"
	"the relaxed \"magic CRC\" mode (a trailer ff ff ff ff counts as a\n"
	"valid CRC; nodes are written that way).  An image that is refused\n"
	"exits 0.  An image that opens is checked, iterated, looked up,\n"
	"changed, flushed, reopened, power-cut and checked again against a\n"
	"model of its keys; any disagreement aborts (a crash for the\n"
	"fuzzer).  Byte 500 (reserved in the superblock) picks open options:\n"
	"bit 0 fast scan, 1 rollback, 2 tiny cache, 3 no auto flush, 4 fanout\n"
	"3.  An image whose root generations are out of log order may reopen\n"
	"to another root after a flush (a known limitation of the root\n"
	"search): the run then stops quietly, unless WODAN_FUZZ_STRICT_ROOTS\n"
	"is set.  Built with afl-clang-fast, it loops in AFL persistent mode:\n"
	"  CC=afl-clang-fast ./configure && make\n"
	"  afl-fuzz -i fuzz/corpus/image -o out -- wodanc/wodanc fuzz @@\n"
	"\n"
	"wodanc fuzz --ops N --seed S runs N random operations (insert,\n"
	"delete, lookup, range iteration, flush, close+reopen, and power cuts:\n"
	"the handle is abandoned without a flush and the image must reopen to\n"
	"the last flushed state) on a freshly made image, against an in-memory\n"
	"model.  The geometry and the budgets are drawn from the seed unless\n"
	"given.  The first divergence stops the run, exit 1, with the seed,\n"
	"the step, expected vs got, and the command line that replays it.\n"
	"\n"
	"wodanc fuzz --magic-seal IMAGE -F turns an image into a fuzzing\n"
	"seed: it REWRITES IMAGE IN PLACE, replacing the CRC-32C trailer of\n"
	"every unit whose CRC is valid (the superblock, every node and\n"
	"preroot) with the magic trailer ff ff ff ff, so that a fuzzer's\n"
	"mutations are not all stopped by the CRC check (fuzz/make-corpus.sh\n"
	"uses it).  Afterwards only the relaxed mode of 'wodanc fuzz IMAGE'\n"
	"accepts the image: 'wodanc check' reports every sealed unit as a\n"
	"bad CRC.  -F is required because the original trailers are lost;\n"
	"work on a copy.\n"
	"\n"
	"Options of --ops:\n"
	"  --ops N           operations to run (required)\n"
	"  --seed S          random seed, a number (default 1)\n"
	"  --device DEV      device to use (FORMATTED: its contents are lost;\n"
	"                    refused if it holds a wodan image, unless -F)\n"
	"                    (default: a RAM device)\n"
	"  --block-size N    block size (default: drawn from the seed)\n"
	"  --key-size N      key size (default: drawn from the seed)\n"
	"  --blocks N        device size in blocks (default: drawn)\n"
	"  --keys N          distinct keys the operations use (default: drawn)\n"
	"  -F, --force       format DEV even if it holds a wodan image;\n"
	"                    with --magic-seal: rewrite IMAGE in place\n"
	"  -v, --verbose     print the drawn configuration\n"
	"  -h, --help        show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"fuzz: 0 no mismatch (IMAGE: also a refused image, and an image that\n"
	"check finds damaged and open refuses), 1 divergence (--ops), 8\n"
	"IMAGE or DEV cannot be read or written; IMAGE mode aborts (SIGABRT)\n"
	"on a mismatch, which is what a fuzzer records as a crash.\n"
	"\n"
	"Examples:\n"
	"  wodanc fuzz crash-1234.img -v\n"
	"  wodanc fuzz --ops 100000 --seed 7\n"
	"  wodanc fuzz --ops 5000 --seed 3 --device file:/tmp/f.img -F\n"
	"  cp img seed.img && wodanc fuzz --magic-seal seed.img -F\n";

/* ================================================================ image */

/* Read all of path ("-" = stdin) into *buf (reallocated), at most
 * WF_IMAGE_MAX bytes.  Returns the length or -1 (message printed). */
static long read_image(const char *path, uint8_t **buf, size_t *cap)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t len = 0, n;

	if (!f) {
		cli_error("fuzz", path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == *cap) {
			size_t nc = *cap ? 2 * *cap : 1 << 16;
			uint8_t *nb;
			if (*cap > WF_IMAGE_MAX) {
				cli_error("fuzz", path, 0, "image larger than "
					  "%u bytes", WF_IMAGE_MAX);
				len = (size_t)-1;
				break;
			}
			nb = realloc(*buf, nc);
			if (!nb) {
				cli_error("fuzz", path, 0, "out of memory");
				len = (size_t)-1;
				break;
			}
			*buf = nb;
			*cap = nc;
		}
		n = fread(*buf + len, 1, *cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (len != (size_t)-1 && ferror(f)) {
		cli_error("fuzz", path, 0, "read error: %s", strerror(errno));
		len = (size_t)-1;
	}
	if (f != stdin)
		fclose(f);
	if (len != (size_t)-1 && len > WF_IMAGE_MAX) {
		cli_error("fuzz", path, 0, "image larger than %u bytes",
			  WF_IMAGE_MAX);
		len = (size_t)-1;
	}
	return len == (size_t)-1 ? -1 : (long)len;
}

/* 1 when wodan_check finds the image damaged (it returns 1, or lists
 * problems, or finds no usable root) AND wodan_open refuses it, with the
 * options wf_image_run uses (byte WF_OPTION_BYTE): check and open then
 * agree that the image is bad, and the run ends like a refused image
 * instead of an abort, e.g. on a root generation of 2^64-1 that check
 * reports and a writable open cannot continue from.  (wf_image_run
 * compares check's return value with open's, so it relies on check
 * returning non-zero whenever it lists a problem; this does not.)  0
 * otherwise, also when the RAM copy cannot be made (wf_image_run then
 * says so). */
static int refused_by_both(const uint8_t *data, size_t len, int verbose)
{
	struct wodan_backend *be = NULL;
	struct wodan_check_report rep;
	struct wodan_open_opts o;
	wodan_t *w = NULL;
	uint64_t dev = len ? (len + 511) / 512 * 512 : 512;
	unsigned opt = len > WF_OPTION_BYTE ? data[WF_OPTION_BYTE] : 0;
	unsigned rollback = opt & 2 ? WODAN_OPEN_ROLLBACK : 0;
	int rc, ro, damaged;

	if (len > WF_IMAGE_MAX || wodan_backend_ram_create(dev, &be))
		return 0;
	if (len && be->write(be, 0, data, len)) {
		wodan_backend_close(be);
		return 0;
	}
	rc = wodan_check(be, WODAN_OPEN_RELAX_MAGIC_CRC | rollback, &rep, NULL,
			 NULL);
	damaged = rc > 0 || (rc == 0 && (rep.n_problems > 0 || !rep.opened));
	wodan_check_report_free(&rep);
	if (!damaged) {
		wodan_backend_close(be);
		return 0;
	}
	memset(&o, 0, sizeof o);
	o.flags = WODAN_OPEN_RELAX_MAGIC_CRC | WODAN_OPEN_MAGIC_CRC_WRITE |
		  (opt & 1 ? WODAN_OPEN_FAST_SCAN : 0) | rollback;
	if (opt & 4)
		o.cache_bytes = 1;
	if (opt & 8) {
		o.flags |= WODAN_OPEN_NO_AUTOFLUSH;
		o.dirty_bytes = 1;
	}
	if (opt & 16)
		o.max_fanout = 3;
	ro = wodan_open(be, &o, &w);
	if (ro == 0) {
		wodan_abandon(w); /* opens: let the exercise run */
		wodan_backend_close(be);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "wodan fuzz: image refused: check found it "
			"damaged and open failed: %s: %s\n",
			wodan_strerror(ro), wodan_last_error()->message);
	wodan_backend_close(be);
	return 1;
}

static int image_once(const char *path, int verbose, uint8_t **buf,
		      size_t *cap)
{
	long len = read_image(path, buf, cap);

	if (len < 0)
		return CLI_EXIT_OPERATIONAL;
	if (refused_by_both(*buf, (size_t)len, verbose))
		return CLI_EXIT_OK;
	if (wf_image_run(*buf, (size_t)len, verbose) < 0) {
		cli_error("fuzz", path, 0, "cannot make a RAM device of %ld "
			  "bytes", len);
		return CLI_EXIT_OPERATIONAL;
	}
	return CLI_EXIT_OK;
}

static int image_mode(const char *path, int verbose)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = CLI_EXIT_OK;

#ifdef __AFL_HAVE_MANUAL_CONTROL
	/* AFL persistent mode: one process, many inputs (AFL rewrites the
	 * file between iterations). */
	__AFL_INIT();
	while (__AFL_LOOP(1000))
		rc = image_once(path, verbose, &buf, &cap);
#else
	rc = image_once(path, verbose, &buf, &cap);
#endif
	free(buf);
	return rc;
}

/* ---------------------------------------------------------- magic seal */

/* Standard CRC-32C (Castagnoli), bitwise table; small and only used to
 * recognise valid trailers. */
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

/* 1 when the unit's trailer is a valid Wodan CRC (doc/SPEC.md §4). */
static int unit_valid(const uint8_t *u, size_t len)
{
	return crc32c(u, len) == 0xffffffffu;
}

static int magic_seal(const char *path, int force)
{
	uint8_t *buf = NULL;
	size_t cap = 0, sealed = 0;
	long len;
	uint32_t bs;
	FILE *f;

	if (!strcmp(path, "-"))
		return cli_usage("fuzz", "--magic-seal rewrites a file in "
				 "place: it cannot read standard input");
	if (!force) {
		cli_error("fuzz", path, 0, "--magic-seal rewrites the image in "
			  "place (its CRC trailers are lost): give -F, on a "
			  "copy");
		return CLI_EXIT_FAIL;
	}
	len = read_image(path, &buf, &cap);
	if (len < 0)
		return CLI_EXIT_OPERATIONAL;
	if (len < 512) {
		cli_error("fuzz", path, 0, "shorter than a superblock");
		free(buf);
		return CLI_EXIT_FAIL;
	}
	bs = (uint32_t)buf[28] | (uint32_t)buf[29] << 8 |
	     (uint32_t)buf[30] << 16 | (uint32_t)buf[31] << 24;
	if (bs < 512 || bs % 512 || bs > (64u << 20)) {
		cli_error("fuzz", path, 0, "superblock block size %u invalid",
			  bs);
		free(buf);
		return CLI_EXIT_FAIL;
	}
	if (unit_valid(buf, 512)) {
		memset(buf + 508, 0xff, 4);
		sealed++;
	}
	for (size_t off = bs; off + bs <= (size_t)len; off += bs)
		if (unit_valid(buf + off, bs)) {
			memset(buf + off + bs - 4, 0xff, 4);
			sealed++;
		}
	f = fopen(path, "r+b");
	if (!f || fwrite(buf, 1, (size_t)len, f) != (size_t)len ||
	    fclose(f)) {
		cli_error("fuzz", path, 0, "cannot rewrite: %s",
			  strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return CLI_EXIT_OPERATIONAL;
	}
	free(buf);
	printf("%s: %zu units sealed with the magic CRC\n", path, sealed);
	return cli_finish_stdout("fuzz");
}

/* ============================================================ op loops */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? splitmix(s) % n : 0;
}

struct ent {
	int present;
	uint32_t len;
	uint8_t *val;
};

/* Run configuration: drawn from the seed unless given on the command
 * line (0 = draw). */
struct cfg {
	uint64_t ops, seed;
	const char *device;
	int force, verbose;
	uint32_t bs, ks, nkeys;
	uint64_t blocks;
	/* drawn only */
	int tombstones, magic, fast_reopen, no_autoflush, journal;
	uint32_t flush_rate, reopen_rate, cut_rate; /* per 1000 steps */
	uint32_t max_val, fanout;
	uint64_t cache, dirty;
};

struct fz {
	struct cfg c;
	uint64_t rng, step;
	const char *op;               /* operation of the current step */
	struct wodan_backend *be;
	wodan_t *w;
	struct wodan_open_opts o;
	uint32_t ks, maxv, n;
	uint8_t *keys;                /* n * ks, ascending */
	struct ent *cur, *dur;
	uint8_t *val, *got;
	uint64_t gen;                 /* last durable generation seen */
	char argv_extra[256];         /* options to print in the replay */
	/* counters */
	uint64_t inserts, deletes, lookups, iterations, flushes, reopens;
	uint64_t cuts, needs_flush, out_of_space, auto_flushes, checks;
};

static void ent_set(struct ent *e, const uint8_t *v, uint32_t len)
{
	uint8_t *nv = malloc(len ? len : 1);

	if (!nv)
		abort();
	memcpy(nv, v, len);
	free(e->val);
	e->val = nv;
	e->len = len;
	e->present = 1;
}

static void ent_clear(struct ent *e)
{
	free(e->val);
	e->val = NULL;
	e->len = 0;
	e->present = 0;
}

static void snapshot(struct fz *z, struct ent *dst, const struct ent *src)
{
	for (uint32_t i = 0; i < z->n; i++) {
		if (src[i].present)
			ent_set(&dst[i], src[i].val, src[i].len);
		else
			ent_clear(&dst[i]);
	}
}

static const char *hx(const uint8_t *b, size_t len, char out[41])
{
	size_t n = len > 16 ? 16 : len;

	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = 0;
	if (n < len)
		strcpy(out + 2 * n, "..");
	return out;
}

/* Describe a model entry: "absent" or "N bytes HEX". */
static const char *desc(const struct ent *e, char out[64])
{
	char h[41];

	if (!e->present)
		return strcpy(out, "absent");
	snprintf(out, 64, "%u bytes %s", e->len, hx(e->val, e->len, h));
	return out;
}

/* Report the divergence; returns 1 (the loop stops). */
static int diverge(struct fz *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int diverge(struct fz *z, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wodanc fuzz: DIVERGENCE at step %llu (%s), seed %llu: ",
		(unsigned long long)z->step, z->op,
		(unsigned long long)z->c.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (wodan_last_error()->code)
		fprintf(stderr, "wodanc fuzz: last library error: %s\n",
			wodan_last_error()->message);
	fprintf(stderr, "wodanc fuzz: geometry: block size %u, key size %u, "
		"%llu blocks, %u keys, tombstones %d, magic CRC %d, cache %llu, "
		"dirty %llu, no-autoflush %d, journal %d, fanout %u, max value "
		"%u, rates flush/reopen/cut %u/%u/%u per 1000\n",
		z->c.bs, z->c.ks, (unsigned long long)z->c.blocks, z->n,
		z->c.tombstones, z->c.magic, (unsigned long long)z->c.cache,
		(unsigned long long)z->c.dirty, z->c.no_autoflush, z->c.journal,
		z->c.fanout, z->maxv, z->c.flush_rate, z->c.reopen_rate, z->c.cut_rate);
	fprintf(stderr, "wodanc fuzz: replay: wodanc fuzz --ops %llu --seed "
		"%llu%s\n", (unsigned long long)z->step + 1,
		(unsigned long long)z->c.seed, z->argv_extra);
	return 1;
}

static int cmpks(const void *a, const void *b, void *ks)
{
	return memcmp(a, b, *(uint32_t *)ks);
}

/* The key pool: random keys plus the all-00 and all-ff keys, sorted,
 * without duplicates (every key when the key space is small). */
static int make_pool(struct fz *z)
{
	uint32_t ks = z->ks, want = z->c.nkeys, n = want;
	uint64_t space = ks >= 4 ? UINT64_MAX : 1ull << (8 * ks);

	if (space < n)
		n = (uint32_t)space;
	z->keys = calloc(n, ks);
	z->cur = calloc(n, sizeof *z->cur);
	z->dur = calloc(n, sizeof *z->dur);
	if (!z->keys || !z->cur || !z->dur)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *k = z->keys + (size_t)i * ks;
		for (uint32_t b = 0; b < ks; b++)
			k[b] = space <= want ? (uint8_t)(i >> (8 * (ks - 1 - b)))
					     : (uint8_t)splitmix(&z->rng);
	}
	memset(z->keys, 0, ks);
	memset(z->keys + (size_t)(n - 1) * ks, 0xff, ks);
	qsort_r(z->keys, n, ks, cmpks, &ks);
	uint32_t w = 1;
	for (uint32_t i = 1; i < n; i++)
		if (memcmp(z->keys + (size_t)(w - 1) * ks,
			   z->keys + (size_t)i * ks, ks))
			memmove(z->keys + (size_t)w++ * ks,
				z->keys + (size_t)i * ks, ks);
	z->n = w;
	return 0;
}

static const uint8_t *key_at(const struct fz *z, uint32_t i)
{
	return z->keys + (size_t)i * z->ks;
}

/* Pool index of the first key >= k. */
static uint32_t lower_bound(const struct fz *z, const uint8_t *k)
{
	uint32_t lo = 0, hi = z->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (memcmp(key_at(z, mid), k, z->ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ------------------------------------------------------------- checks */

static int check_lookup(struct fz *z, uint32_t i, const char *when)
{
	size_t len = 0;
	int r = wodan_lookup(z->w, key_at(z, i), z->ks, z->got, 65536, &len);
	const struct ent *e = &z->cur[i];
	char a[41], b[64], c[41];

	z->lookups++;
	if (r < 0)
		return diverge(z, "%slookup %s: expected %s, got error %s", when,
			       hx(key_at(z, i), z->ks, a), desc(e, b),
			       wodan_strerror(r));
	if (r != e->present || (r && (len != e->len ||
				      memcmp(z->got, e->val, len))))
		return diverge(z, "%slookup %s: expected %s, got %s%zu bytes %s",
			       when, hx(key_at(z, i), z->ks, a), desc(e, b),
			       r ? "" : "absent (", r ? len : 0,
			       r ? hx(z->got, len, c) : ")");
	return 0;
}

struct itc {
	struct fz *z;
	uint32_t next, stop;
	char msg[256];
};

static uint32_t next_present(const struct fz *z, uint32_t i, uint32_t stop)
{
	while (i < stop && !z->cur[i].present)
		i++;
	return i;
}

static int it_cb(void *arg, const uint8_t *key, const uint8_t *val,
		 size_t len)
{
	struct itc *c = arg;
	struct fz *z = c->z;
	char a[41], b[64], d[41];

	c->next = next_present(z, c->next, c->stop);
	if (c->next >= c->stop) {
		snprintf(c->msg, sizeof c->msg, "expected the end, got key %s",
			 hx(key, z->ks, a));
		return 1;
	}
	if (memcmp(key, key_at(z, c->next), z->ks)) {
		snprintf(c->msg, sizeof c->msg, "expected key %s, got key %s",
			 hx(key_at(z, c->next), z->ks, a), hx(key, z->ks, d));
		return 1;
	}
	const struct ent *e = &z->cur[c->next];
	if (len != e->len || memcmp(val, e->val, len)) {
		snprintf(c->msg, sizeof c->msg, "key %s: expected %s, got %zu "
			 "bytes %s", hx(key, z->ks, a), desc(e, b), len,
			 hx(val, len, d));
		return 1;
	}
	c->next++;
	return 0;
}

/* Iterate [s, e) (NULL = open end) and compare with the model. */
static int check_iterate(struct fz *z, const uint8_t *s, const uint8_t *e,
			 const char *when)
{
	struct itc c = { z, s ? lower_bound(z, s) : 0,
			 e ? lower_bound(z, e) : z->n, "" };
	char a[41], b[41];
	int r;

	if (s && e && memcmp(s, e, z->ks) >= 0)
		c.stop = c.next;
	z->iterations++;
	r = wodan_iterate(z->w, s, e, it_cb, &c);
	if (r == WODAN_E_ABORTED && c.msg[0])
		return diverge(z, "%siterate [%s, %s): %s", when,
			       s ? hx(s, z->ks, a) : "-inf",
			       e ? hx(e, z->ks, b) : "+inf", c.msg);
	if (r)
		return diverge(z, "%siterate: expected success, got %s", when,
			       wodan_strerror(r));
	c.next = next_present(z, c.next, c.stop);
	if (c.next != c.stop)
		return diverge(z, "%siterate [%s, %s): expected key %s, got the "
			       "end", when, s ? hx(s, z->ks, a) : "-inf",
			       e ? hx(e, z->ks, b) : "+inf",
			       hx(key_at(z, c.next), z->ks, a));
	return 0;
}

/* Whole iteration plus lookups of (up to 2000) pool keys. */
static int check_all(struct fz *z, const char *when)
{
	uint32_t step = z->n / 2000 + 1;

	if (check_iterate(z, NULL, NULL, when))
		return 1;
	for (uint32_t i = (uint32_t)below(&z->rng, step); i < z->n; i += step)
		if (check_lookup(z, i, when))
			return 1;
	return 0;
}

/* wodan_check on the closed image: clean, live keys == durable model. */
static int check_image(struct fz *z)
{
	struct wodan_check_report rep;
	uint64_t live = 0;
	int r;

	for (uint32_t i = 0; i < z->n; i++)
		live += z->dur[i].present;
	z->checks++;
	r = wodan_check(z->be, z->c.magic ? WODAN_OPEN_RELAX_MAGIC_CRC : 0,
			&rep, NULL, NULL);
	if (r != 0) {
		int d = diverge(z, "check: expected a clean image, got %d (%u "
				"problems; first: block %llu: %s)", r,
				rep.n_problems,
				rep.n_problems ? (unsigned long long)
						 rep.problems[0].block : 0ull,
				rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return d;
	}
	wodan_check_report_free(&rep);
	if (rep.live_keys != live)
		return diverge(z, "check: expected %llu live keys, got %llu",
			       (unsigned long long)live,
			       (unsigned long long)rep.live_keys);
	return 0;
}

/* --------------------------------------------------------- operations */

static int do_open(struct fz *z, int fast)
{
	struct wodan_open_opts o = z->o;
	struct wodan_info info;
	int r;

	if (fast)
		o.flags |= WODAN_OPEN_FAST_SCAN;
	r = wodan_open(z->be, &o, &z->w);
	if (r) {
		z->w = NULL;
		return diverge(z, "open: expected success, got %s",
			       wodan_strerror(r));
	}
	wodan_get_info(z->w, &info);
	/* a writable open of a journal image begins an epoch: a root of its
	 * own, newer than the last flush */
	if (z->gen && (z->c.journal ? info.generation <= z->gen
				    : info.generation != z->gen))
		return diverge(z, "open: expected generation %s%llu (the last "
			       "flush), got %llu", z->c.journal ? "above " : "",
			       (unsigned long long)z->gen,
			       (unsigned long long)info.generation);
	z->gen = info.generation;
	z->maxv = info.max_value_bytes;
	return 0;
}

static int do_flush(struct fz *z)
{
	uint64_t g = 0;
	int r = wodan_flush(z->w, &g);

	z->flushes++;
	if (r)
		return diverge(z, "flush: expected success, got %s",
			       wodan_strerror(r));
	snapshot(z, z->dur, z->cur);
	z->gen = g;
	return 0;
}

/* Insert (val != NULL) or delete key i, with the error contract: on any
 * error nothing visible changes; NEEDS_FLUSH is answered with a flush and
 * one retry; an auto flush makes the state before the change durable. */
static int do_change(struct fz *z, uint32_t i, const uint8_t *val,
		     uint32_t len)
{
	const uint8_t *k = key_at(z, i);
	int is_del = !val || (z->c.tombstones && len == 0);
	char a[41];
	int r = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct wodan_info info;
		wodan_get_info(z->w, &info);
		uint64_t before = info.generation;
		r = val ? wodan_insert(z->w, k, z->ks, val, len)
			: wodan_delete(z->w, k, z->ks);
		wodan_get_info(z->w, &info);
		if (info.generation != before) {
			z->auto_flushes++;
			snapshot(z, z->dur, z->cur);
			z->gen = info.generation;
		}
		if (r != WODAN_E_NEEDS_FLUSH)
			break;
		z->needs_flush++;
		if (do_flush(z))
			return 1;
	}
	if (!val && !z->c.tombstones) {
		if (r != WODAN_E_NOT_SUPPORTED)
			return diverge(z, "delete %s without tombstones: "
				       "expected 'not supported', got %s",
				       hx(k, z->ks, a), r ? wodan_strerror(r)
							  : "success");
		return check_lookup(z, i, "after refused delete: ");
	}
	if (r == WODAN_E_OUT_OF_SPACE || r == WODAN_E_NEEDS_FLUSH) {
		z->out_of_space++;
		return check_lookup(z, i, "after out of space: ");
	}
	if (r)
		return diverge(z, "%s %s: expected success, got %s",
			       val ? "insert" : "delete", hx(k, z->ks, a),
			       wodan_strerror(r));
	if (is_del)
		ent_clear(&z->cur[i]);
	else
		ent_set(&z->cur[i], val, len);
	return 0;
}

/* A random value length: mostly short, sometimes empty or the maximum. */
static uint32_t rand_len(struct fz *z)
{
	uint32_t cap = z->c.max_val < z->maxv ? z->c.max_val : z->maxv;
	uint64_t shape = below(&z->rng, 16);

	if (shape == 0)
		return cap;
	if (shape == 1)
		return 0;
	if (shape < 4)
		return (uint32_t)below(&z->rng, (uint64_t)cap + 1);
	return (uint32_t)below(&z->rng, (cap < 32 ? cap : 32) + 1ull);
}

/* Close (a flush) and open again: everything is durable. */
static int op_reopen(struct fz *z)
{
	int r;

	z->op = "close+reopen";
	z->reopens++;
	r = wodan_close(z->w);
	z->w = NULL;
	if (r)
		return diverge(z, "close: expected success, got %s",
			       wodan_strerror(r));
	snapshot(z, z->dur, z->cur);
	z->gen = 0;        /* close does not report its generation */
	if (below(&z->rng, 4) == 0 && check_image(z))
		return 1;
	if (do_open(z, z->c.fast_reopen && below(&z->rng, 2)))
		return 1;
	return check_all(z, "after reopen: ");
}

/* Power cut: abandon the handle; the last flushed state must come back. */
static int op_cut(struct fz *z)
{
	z->op = "power cut";
	z->cuts++;
	wodan_abandon(z->w);
	z->w = NULL;
	snapshot(z, z->cur, z->dur);
	if (below(&z->rng, 2) == 0 && check_image(z))
		return 1;
	if (do_open(z, z->c.fast_reopen && below(&z->rng, 2)))
		return 1;
	return check_all(z, "after power cut: ");
}

static int op_step(struct fz *z)
{
	uint32_t i = (uint32_t)below(&z->rng, z->n);
	uint64_t dice = below(&z->rng, 1000);
	uint32_t fr = z->c.flush_rate, rr = z->c.reopen_rate;

	if (dice < fr) {
		z->op = "flush";
		return do_flush(z);
	}
	if (dice < fr + rr)
		return op_reopen(z);
	if (dice < fr + rr + z->c.cut_rate)
		return op_cut(z);
	dice = below(&z->rng, 1000);
	if (dice < 530) {
		uint32_t len = rand_len(z);
		z->op = "insert";
		z->inserts++;
		for (uint32_t b = 0; b < len; b++)
			z->val[b] = (uint8_t)splitmix(&z->rng);
		return do_change(z, i, z->val, len);
	}
	if (dice < 700) {
		z->op = "delete";
		z->deletes++;
		return do_change(z, i, NULL, 0);
	}
	if (dice < 950) {
		z->op = "lookup";
		return check_lookup(z, i, "");
	}
	if (dice < 990) {
		uint8_t s[256], e[256];
		int ns = below(&z->rng, 8) == 0, ne = below(&z->rng, 8) == 0;
		z->op = "iterate range";
		for (int j = 0; j < 2; j++) {
			uint8_t *b = j ? e : s;
			if (below(&z->rng, 2))
				memcpy(b, key_at(z, (uint32_t)below(&z->rng,
								    z->n)),
				       z->ks);
			else
				for (uint32_t x = 0; x < z->ks; x++)
					b[x] = (uint8_t)splitmix(&z->rng);
		}
		if (memcmp(s, e, z->ks) > 0 && below(&z->rng, 4)) {
			uint8_t t[256];
			memcpy(t, s, z->ks);
			memcpy(s, e, z->ks);
			memcpy(e, t, z->ks);
		}
		return check_iterate(z, ns ? NULL : s, ne ? NULL : e, "");
	}
	z->op = "iterate all";
	return check_iterate(z, NULL, NULL, "");
}

/* Largest key size whose inner nodes hold 3 links at block size bs. */
static uint32_t max_ks(uint32_t bs)
{
	uint32_t room = (bs - 4) - (uint32_t)((15ull * bs) / 16);
	uint32_t k = room / 3 > 8 ? room / 3 - 8 : 0;

	return k > 255 ? 255 : k;
}

/* Draw what the command line did not fix. */
static int draw_cfg(struct fz *z)
{
	static const uint32_t bss[] = { 512, 1024, 2048, 4096, 4096, 8192,
					16384, 65536 };
	static const uint32_t kss[] = { 1, 2, 3, 4, 8, 12, 16, 20, 32, 64,
					128, 255 };
	static const uint32_t pools[] = { 4, 40, 300, 1000, 3000 };
	static const uint64_t nblocks[] = { 16, 32, 64, 256, 1024, 4096 };
	static const uint32_t maxvals[] = { 0, 8, 64, 300, 65535 };
	struct cfg *c = &z->c;
	uint64_t *r = &z->rng;

	if (!c->bs)
		c->bs = bss[below(r, sizeof bss / sizeof *bss)];
	if (!c->ks) {
		uint32_t mk = max_ks(c->bs), n = 0;
		while (n < sizeof kss / sizeof *kss && kss[n] <= mk)
			n++;
		c->ks = n ? kss[below(r, n)] : 1;
	}
	if (!c->blocks) {
		c->blocks = nblocks[below(r, sizeof nblocks / sizeof *nblocks)];
		while (c->blocks * c->bs > (64ull << 20))
			c->blocks /= 2;
	}
	if (!c->nkeys)
		c->nkeys = pools[below(r, sizeof pools / sizeof *pools)];
	if (c->nkeys < 2)
		c->nkeys = 2;
	static const uint32_t flush_rates[] = { 2, 20, 100 };
	static const uint32_t other_rates[] = { 1, 5, 30 };
	c->flush_rate = flush_rates[below(r, 3)];
	c->reopen_rate = other_rates[below(r, 3)];
	c->cut_rate = other_rates[below(r, 3)];
	c->tombstones = below(r, 8) != 0;
	c->magic = below(r, 4) == 0;
	c->fast_reopen = below(r, 2) == 0;
	c->no_autoflush = below(r, 4) == 0;
	c->max_val = maxvals[below(r, sizeof maxvals / sizeof *maxvals)];
	c->fanout = below(r, 4) == 0 ? 3 + (uint32_t)below(r, 3) : 0;
	c->cache = below(r, 3) == 0 ? (uint64_t)c->bs * (1 + below(r, 8)) : 0;
	c->dirty = below(r, 3) == 0 ? (uint64_t)c->bs * (2 + below(r, 16)) : 0;
	c->journal = below(r, 2) == 0;
	return 0;
}

static void fz_free(struct fz *z)
{
	if (z->w)
		wodan_abandon(z->w);
	if (z->be)
		wodan_backend_close(z->be);
	for (uint32_t i = 0; z->cur && i < z->n; i++) {
		ent_clear(&z->cur[i]);
		ent_clear(&z->dur[i]);
	}
	free(z->cur);
	free(z->dur);
	free(z->keys);
	free(z->val);
	free(z->got);
}

static int ops_mode(struct cfg *c, const char *extra)
{
	struct fz z;
	struct wodan_mkfs_params p;
	int rc, failed = 0;

	memset(&z, 0, sizeof z);
	z.c = *c;
	z.rng = c->seed ^ 0x5eed5eedull;
	snprintf(z.argv_extra, sizeof z.argv_extra, "%s", extra);
	draw_cfg(&z);
	z.ks = z.c.ks;
	z.op = "setup";
	if (cli_check_block_size(z.c.bs) || z.c.ks < 1 || z.c.ks > 255) {
		fprintf(stderr, "wodanc fuzz: invalid geometry: block size %u, "
			"key size %u\n", z.c.bs, z.c.ks);
		return CLI_EXIT_USAGE;
	}
	if (make_pool(&z) || !(z.val = malloc(65536)) ||
	    !(z.got = malloc(65536))) {
		fprintf(stderr, "wodanc fuzz: out of memory\n");
		fz_free(&z);
		return CLI_EXIT_OPERATIONAL;
	}
	uint64_t size = z.c.blocks * z.c.bs;
	if (c->device) {
		uint64_t g;
		if ((rc = cli_open_backend("fuzz", c->device,
					   WODAN_BACKEND_CREATE, size,
					   &z.be)) < 0) {
			fz_free(&z);
			return cli_open_failed("fuzz", c->device, rc);
		}
		if (!c->force && cli_probe_image(z.be, &g)) {
			cli_error("fuzz", c->device, 0, "holds a wodan image; "
				  "use -F to format it anyway");
			fz_free(&z);
			return CLI_EXIT_FAIL;
		}
		z.c.blocks = z.be->size_bytes / z.c.bs;
	} else if ((rc = wodan_backend_ram_create(size, &z.be)) < 0) {
		cli_error("fuzz", "ram", rc, "cannot make a RAM device");
		fz_free(&z);
		return cli_exit_code(rc);
	}
	memset(&p, 0, sizeof p);
	p.block_size_bytes = z.c.bs;
	p.key_size_bytes = z.c.ks;
	p.logical_size_blocks = z.c.blocks;
	p.tombstones = z.c.tombstones;
	p.journal = z.c.journal;
	p.magic_crc_write = z.c.magic;
	rc = wodan_mkfs(z.be, &p, NULL);
	if (rc) {
		cli_error("fuzz", c->device ? c->device : "ram", rc,
			  "mkfs (block size %u, key size %u, %llu blocks) "
			  "failed", z.c.bs, z.c.ks,
			  (unsigned long long)z.c.blocks);
		fz_free(&z);
		return cli_exit_code(rc);
	}
	z.o.flags = WODAN_OPEN_NO_AUTOFLUSH * (unsigned)z.c.no_autoflush;
	if (z.c.magic)
		z.o.flags |= WODAN_OPEN_RELAX_MAGIC_CRC |
			     WODAN_OPEN_MAGIC_CRC_WRITE;
	z.o.cache_bytes = z.c.cache;
	z.o.dirty_bytes = z.c.dirty;
	z.o.max_fanout = z.c.fanout;
	if (z.c.verbose)
		printf("wodanc fuzz: seed %llu: block size %u, key size %u, "
		       "%llu blocks, %u keys, tombstones %d, magic CRC %d, "
		       "cache %llu, dirty %llu, no-autoflush %d, journal %d, "
		       "fanout %u, value cap %u, rates flush/reopen/cut "
		       "%u/%u/%u per 1000\n", (unsigned long long)c->seed, z.c.bs,
		       z.c.ks, (unsigned long long)z.c.blocks, z.n,
		       z.c.tombstones, z.c.magic,
		       (unsigned long long)z.c.cache,
		       (unsigned long long)z.c.dirty, z.c.no_autoflush,
		       z.c.journal, z.c.fanout, z.c.max_val, z.c.flush_rate,
		       z.c.reopen_rate, z.c.cut_rate);
	failed = do_open(&z, 0);
	for (z.step = 0; !failed && z.step < z.c.ops; z.step++)
		failed = op_step(&z);
	if (!failed) {
		z.op = "final close";
		rc = wodan_close(z.w);
		z.w = NULL;
		if (rc)
			failed = diverge(&z, "close: expected success, got %s",
					 wodan_strerror(rc));
		else
			snapshot(&z, z.dur, z.cur);
		if (!failed)
			failed = check_image(&z);
	}
	if (!failed)
		printf("wodanc fuzz: seed %llu: %llu operations, no divergence "
		       "(%llu inserts, %llu deletes, %llu lookups, %llu "
		       "iterations, %llu flushes, %llu reopens, %llu power "
		       "cuts, %llu checks, %llu needs-flush, %llu auto flushes, "
		       "%llu out of space)\n", (unsigned long long)c->seed,
		       (unsigned long long)z.c.ops,
		       (unsigned long long)z.inserts,
		       (unsigned long long)z.deletes,
		       (unsigned long long)z.lookups,
		       (unsigned long long)z.iterations,
		       (unsigned long long)z.flushes,
		       (unsigned long long)z.reopens,
		       (unsigned long long)z.cuts,
		       (unsigned long long)z.checks,
		       (unsigned long long)z.needs_flush,
		       (unsigned long long)z.auto_flushes,
		       (unsigned long long)z.out_of_space);
	fz_free(&z);
	rc = cli_finish_stdout("fuzz");
	return failed ? CLI_EXIT_FAIL : rc;
}

/* ============================================================== entry */

enum { OPT_OPS = 256, OPT_SEED, OPT_DEVICE, OPT_BS, OPT_KS, OPT_BLOCKS,
       OPT_KEYS, OPT_SEAL };

static const struct option fuzz_opts[] = {
	{ "ops", required_argument, NULL, OPT_OPS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "block-size", required_argument, NULL, OPT_BS },
	{ "key-size", required_argument, NULL, OPT_KS },
	{ "blocks", required_argument, NULL, OPT_BLOCKS },
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "magic-seal", required_argument, NULL, OPT_SEAL },
	{ "force", no_argument, NULL, 'F' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Append " --NAME VALUE" to the replay options. */
static void add_extra(char *buf, size_t n, const char *name, const char *v)
{
	size_t l = strlen(buf);

	snprintf(buf + l, n - l, " --%s %s", name, v);
}

/* wodanc fuzz IMAGE | --ops N --seed S ... | --magic-seal IMAGE */
int cmd_fuzz(int argc, char **argv)
{
	struct cfg c;
	char extra[256] = "";
	const char *seal = NULL;
	int ch, have_ops = 0, have_seed = 0;
	uint64_t v;

	memset(&c, 0, sizeof c);
	c.seed = 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":Fvh", fuzz_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_OPS:
			if (cli_parse_u64(optarg, &c.ops))
				return cli_usage("fuzz", "--ops: '%s' is not a "
						 "number", optarg);
			have_ops = 1;
			break;
		case OPT_SEED:
			if (cli_parse_u64(optarg, &c.seed))
				return cli_usage("fuzz", "--seed: '%s' is not a "
						 "number", optarg);
			have_seed = 1;
			break;
		case OPT_DEVICE:
			c.device = optarg;
			add_extra(extra, sizeof extra, "device", optarg);
			break;
		case OPT_BS:
			if (cli_parse_size(optarg, &v) || cli_check_block_size(v))
				return cli_usage("fuzz", "--block-size: '%s' is "
						 "not 512..64M, a multiple of "
						 "512 (of 4096 from 4096 up)",
						 optarg);
			c.bs = (uint32_t)v;
			add_extra(extra, sizeof extra, "block-size", optarg);
			break;
		case OPT_KS:
			if (cli_parse_u64(optarg, &v) || v < 1 || v > 255)
				return cli_usage("fuzz", "--key-size: '%s' is "
						 "not 1..255", optarg);
			c.ks = (uint32_t)v;
			add_extra(extra, sizeof extra, "key-size", optarg);
			break;
		case OPT_BLOCKS:
			if (cli_parse_u64(optarg, &v) || v < 2)
				return cli_usage("fuzz", "--blocks: '%s' is not "
						 "a number >= 2", optarg);
			c.blocks = v;
			add_extra(extra, sizeof extra, "blocks", optarg);
			break;
		case OPT_KEYS:
			if (cli_parse_u64(optarg, &v) || v < 2 || v > 1000000)
				return cli_usage("fuzz", "--keys: '%s' is not "
						 "2..1000000", optarg);
			c.nkeys = (uint32_t)v;
			add_extra(extra, sizeof extra, "keys", optarg);
			break;
		case OPT_SEAL: seal = optarg; break;
		case 'F': c.force = 1; strcat(extra, " -F"); break;
		case 'v': c.verbose = 1; break;
		case 'h':
			fputs(fuzz_help, stdout);
			return cli_finish_stdout("fuzz");
		default: return cli_getopt_error("fuzz", ch, argv);
		}
	}
	if (seal) {
		if (optind < argc || have_ops)
			return cli_usage("fuzz", "--magic-seal takes one IMAGE "
					 "and no other mode");
		return magic_seal(seal, c.force);
	}
	if (have_ops) {
		if (optind < argc)
			return cli_usage("fuzz", "unexpected argument '%s' "
					 "(--ops runs on its own image)",
					 argv[optind]);
		return ops_mode(&c, extra);
	}
	if (have_seed || c.device || c.bs || c.ks || c.blocks || c.nkeys ||
	    c.force)
		return cli_usage("fuzz", "--seed, --device and the geometry "
				 "options need --ops N");
	if (optind >= argc)
		return cli_usage("fuzz", "missing IMAGE (or --ops N)");
	if (optind + 1 < argc)
		return cli_usage("fuzz", "unexpected argument '%s'",
				 argv[optind + 1]);
	return image_mode(argv[optind], c.verbose);
}
