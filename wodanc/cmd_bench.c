/*
 * cmd_bench.c -- `wodanc bench`: the doc/BENCH.md workloads (original, index,
 * dbbench) against libwodan's public API, with per-phase throughput,
 * latency percentiles, device bytes, amplification, flushes, barriers,
 * memory and space figures, as a table or one JSON object per phase.
 *
 * Keys and values come from seeded splitmix64 streams defined exactly in
 * bench_util.h, so that other stores' harnesses can do the same work.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "bench_util.h"

static const char bench_help[] =
	"Usage: wodanc bench [--workload original|index|dbbench] [OPTIONS]\n"
	"\n"
	"Measure libwodan on the workloads other stores are measured on\n"
	"(doc/BENCH.md).  Every phase reports operations, seconds,\n"
	"operations per second, p50/p99 latency, device bytes written and\n"
	"read, write and read amplification, flushes, barriers, peak RSS and\n"
	"blocks in use.  A benchmark is a measurement, not a test: compare\n"
	"figures only from the same machine, command line and build.\n"
	"\n"
	"Workloads (defaults; --n, --block-size, --key-size, --value-size\n"
	"change them):\n"
	"  workload  key/value         block    N          phases\n"
	"  original  20 B / 400 B zero 256 KiB  10,000     insert, flush\n"
	"  index     32 B / 13 B       256 KiB  1,000,000  insert, lookup,\n"
	"                                                  lookup_absent, scan,\n"
	"                                                  mixed\n"
	"  dbbench   16 B / 100 B      256 KiB  1,000,000  fillseq, fillrandom,\n"
	"                                                  overwrite, readrandom,\n"
	"                                                  readseq, fillsync\n"
	"\n"
	"Phases (run in this order; \"fresh\" = on a newly formatted image):\n"
	"  original insert        fresh; N inserts of keys 0..N-1, no flush\n"
	"                         (the default RAM device is 32 MiB)\n"
	"  original flush         one wodan_flush of everything inserted\n"
	"  index insert           fresh; N inserts of keys 0..N-1, a flush\n"
	"                         every --flush-every (10,000) and at the end\n"
	"  index lookup           reopen (close + open), then every present key\n"
	"                         once, in random order\n"
	"  index lookup_absent    N lookups of keys never inserted\n"
	"  index scan             one full ordered scan (ops = entries)\n"
	"  index mixed            N operations, 50/50 inserts of new keys and\n"
	"                         lookups of present keys; flushes as insert\n"
	"  dbbench fillseq        fresh; N inserts of sequential keys, one\n"
	"                         flush at the end\n"
	"  dbbench fillrandom     fresh; N inserts of keys 0..N-1, one flush\n"
	"                         at the end\n"
	"  dbbench overwrite      on fillrandom's image: every key once more,\n"
	"                         random order, new values, flush at the end\n"
	"  dbbench readrandom     reopen; every key once, random order\n"
	"  dbbench readseq        one full ordered scan\n"
	"  dbbench fillsync       fresh; min(N, 10,000) inserts, each followed\n"
	"                         by a durable flush\n"
	"A phase that needs an earlier phase's image (flush, lookup*, scan,\n"
	"mixed, overwrite, read*) runs that phase first, unreported, when\n"
	"--phases leaves it out.  Every open uses WODAN_OPEN_FAST_SCAN, so a\n"
	"reopen does not read the leaves.\n"
	"\n"
	"Options:\n"
	"  --workload W       original, index or dbbench (default original)\n"
	"  --n N              operations per phase (see the table)\n"
	"  --phases LIST      comma-separated phases to report (default all)\n"
	"  --device DEV       ram:SIZE, file:PATH, PATH or direct:PATH (default\n"
	"                     a RAM device of 4 x the data + 64 MiB + 64\n"
	"                     blocks; original: at least 32 MiB).  A file is\n"
	"                     created sparse and removed at the end (unless\n"
	"                     --keep); an existing non-empty file or a\n"
	"                     direct: device is formatted only with -F\n"
	"  --size BYTES       device size for the default RAM device or a new\n"
	"                     file (K/M/G/T suffixes)\n"
	"  --block-size BYTES block size (default 256K)\n"
	"  --key-size N       key size in bytes, 8 .. 255\n"
	"  --value-size N     value size in bytes\n"
	"  --cache BYTES      clean-node cache budget (default 256M)\n"
	"  --dirty BYTES      dirty-node soft ceiling (default 128M; the hard\n"
	"                     ceiling is twice it)\n"
	"  --fanout N         maximum child links per inner node (default: the\n"
	"                     layout's capacity)\n"
	"  --flush-every N    flush after every N inserts in the bulk insert\n"
	"                     phases and mixed (index default 10,000; other\n"
	"                     workloads 0 = no periodic flush)\n"
	"  --seed S           seed of the key and value streams (default 42)\n"
	"  --zero-values      all-zero values (always on for original)\n"
	"  --journal          format with a redo journal (mkfs --journal,\n"
	"                     incompat 0x10): a flush appends the changes to\n"
	"                     journal blocks; the tree is written at\n"
	"                     checkpoints (counted as checkpoints)\n"
	"  --no-autoflush     open with WODAN_OPEN_NO_AUTOFLUSH: inserts get\n"
	"                     \"needs flush\", the bench flushes and retries\n"
	"                     (counted as needs_flush_retries)\n"
	"  --cold             before each reopen, drop the image file from the\n"
	"                     page cache (file devices)\n"
	"  --verify           also compare every value read and the order of\n"
	"                     the scan (costs time)\n"
	"  --json             one JSON object per phase per line on stdout\n"
	"  --keep             do not remove a file device the bench created\n"
	"  -F, --force        format an existing file or a direct: device\n"
	"  -h, --help         show this help\n"
	"\n"
	"Metrics:\n"
	"  ops/s         operations / seconds (wall clock of the phase loop,\n"
	"                key generation and flushes included)\n"
	"  p50/p99 us    latency of one operation (CLOCK_MONOTONIC between\n"
	"                consecutive operations, so it includes generating the\n"
	"                key, ~20 ns, and any flush the operation ends with);\n"
	"                log-linear histogram, 1.6 % resolution; none for scans\n"
	"  written/read  bytes the library wrote to / read from the device\n"
	"                (wodan_get_stats) during the phase\n"
	"  WA            write amplification = device bytes written / key+value\n"
	"                bytes inserted (for original flush: inserted since the\n"
	"                previous flush)\n"
	"  RA            read amplification = device bytes read / key+value\n"
	"                bytes looked up (found or not) or scanned\n"
	"  flushes, barriers  counted by the library during the phase\n"
	"  peak RSS      getrusage ru_maxrss of the process so far; a RAM\n"
	"                device's written pages count in it\n"
	"  blocks        used blocks at the end of the phase (wodan_get_info)\n"
	"JSON keys: workload phase n ops seconds ops_per_sec p50_us p99_us\n"
	"  p999_us max_us mean_us (null for scans) bytes_written bytes_read\n"
	"  user_bytes_written user_bytes_read write_amplification\n"
	"  read_amplification (null when undefined) flushes barriers\n"
	"  peak_rss_kib rss_kib used_blocks free_blocks depth block_size\n"
	"  key_size value_size device seed cache dirty fanout (effective\n"
	"  values) flush_every zero_values inserts lookups found\n"
	"  blocks_written blocks_read cache_hits cache_misses cache_evictions\n"
	"  spills splits auto_flushes needs_flush_retries cache_bytes_now\n"
	"  dirty_bytes_now reopen_seconds reopen_bytes_read\n"
	"  reopen_bytes_written (the checkpoint before a reopen: with\n"
	"  --journal, the tree writes the journal deferred) libwodan;\n"
	"  journal journal_commits checkpoints (flushes made durable by\n"
	"  journal blocks; full flushes of the tree)\n"
	"  dirty_hard dirty_peak_bytes hard_ceiling_stops (dirty-node memory\n"
	"  ceilings, the highest dirty memory since open, operations stopped\n"
	"  at the hard ceiling).\n"
	"A present key not found, an absent key found or a wrong scan count\n"
	"is a failure (exit 1); a library failure exits with the code of the\n"
	"table below (8 for I/O errors and out of memory); with --json it\n"
	"also prints one object {\"error\": {...}} on standard output (after\n"
	"the objects of the phases that completed).\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"\n"
	"Keys (exact, so that other stores' harnesses do the same work):\n"
	"  splitmix64: s += G; z = s; z = (z^(z>>30))*0xbf58476d1ce4e5b9;\n"
	"  z = (z^(z>>27))*0x94d049bb133111eb; output z^(z>>31);\n"
	"  G = 0x9e3779b97f4a7c15, all modulo 2^64.  Key i is the little-endian\n"
	"  bytes of the outputs of the stream starting at s = seed ^ (i * G),\n"
	"  cut at the key size.  Absent key j is key (2^63 + j).  Sequential\n"
	"  key i (fillseq) is big-endian i in the last 8 bytes, zeros before.\n"
	"  Value of key i, version v (0 first fill, 1 overwrite): the stream\n"
	"  at s = seed ^ 0x6a09e667f3bcc909 ^ (v * 0xbb67ae8584caa73b) ^ (i*G).\n"
	"  Random order: lookup j reads key (j * P + off) mod N (P coprime to\n"
	"  N; see wodanc/bench_util.h).\n"
	"\n"
	"Examples:\n"
	"  wodanc bench --workload original\n"
	"  wodanc bench --workload index --device file:/tmp/x.img --json\n"
	"  wodanc bench --workload index --n 100000 --phases insert \\\n"
	"      --fanout 64 --flush-every 0\n"
	"  wodanc bench --workload dbbench --phases fillrandom,readrandom\n";

/* ------------------------------------------------------------ workloads */

enum { WL_ORIGINAL, WL_INDEX, WL_DBBENCH };

enum phase_id {
	PH_O_INSERT, PH_O_FLUSH,
	PH_I_INSERT, PH_I_LOOKUP, PH_I_ABSENT, PH_I_SCAN, PH_I_MIXED,
	PH_D_FILLSEQ, PH_D_FILLRANDOM, PH_D_OVERWRITE, PH_D_READRANDOM,
	PH_D_READSEQ, PH_D_FILLSYNC,
};

struct phase_def {
	const char *name;
	enum phase_id id;
	int base;      /* index (in the workload) of the phase whose image
			* this one needs, -1 = none (fresh image) */
};

#define MAX_PHASES 8

struct workload {
	const char *name;
	int id;
	uint32_t key_size, value_size, block_size;
	uint64_t n, flush_every;
	int zero_values;
	int n_phases;
	struct phase_def phases[MAX_PHASES];
};

static const struct workload workloads[] = {
	{ "original", WL_ORIGINAL, 20, 400, 262144, 10000, 0, 1, 2, {
		{ "insert", PH_O_INSERT, -1 },
		{ "flush", PH_O_FLUSH, 0 } } },
	{ "index", WL_INDEX, 32, 13, 262144, 1000000, 10000, 0, 5, {
		{ "insert", PH_I_INSERT, -1 },
		{ "lookup", PH_I_LOOKUP, 0 },
		{ "lookup_absent", PH_I_ABSENT, 0 },
		{ "scan", PH_I_SCAN, 0 },
		{ "mixed", PH_I_MIXED, 0 } } },
	{ "dbbench", WL_DBBENCH, 16, 100, 262144, 1000000, 0, 0, 6, {
		{ "fillseq", PH_D_FILLSEQ, -1 },
		{ "fillrandom", PH_D_FILLRANDOM, -1 },
		{ "overwrite", PH_D_OVERWRITE, 1 },
		{ "readrandom", PH_D_READRANDOM, 1 },
		{ "readseq", PH_D_READSEQ, 1 },
		{ "fillsync", PH_D_FILLSYNC, -1 } } },
};

#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])
#define FILLSYNC_OPS 10000u
#define DEFAULT_CACHE (256ull << 20) /* wodan_open_opts cache_bytes 0 */
#define DEFAULT_BUDGET (128ull << 20) /* wodan_open_opts dirty_bytes 0 */

/* ---------------------------------------------------------------- state */

struct bench {
	/* configuration */
	const struct workload *wl;
	uint64_t n, seed, cache, dirty, flush_every, size;
	uint32_t bs, ks, vs, fanout;
	int zero, json, cold, verify, no_autoflush, keep, force, journal;
	int exit_code;             /* of the first failure (cli.h table) */
	const char *spec;          /* --device, NULL = default RAM */
	char label[300];           /* device as reported */
	const char *path;          /* file path of a file device, else NULL */
	int is_ram, created;
	/* run state */
	struct wodan_backend *be;
	wodan_t *w;
	uint64_t present;          /* random keys 0 .. present-1 are in */
	uint64_t version;          /* value version of those keys */
	uint64_t unflushed;        /* key+value bytes inserted, not flushed */
	int need_reopen;           /* a write phase ran since the last open */
	int header_done;
	uint8_t *key, *val, *buf, *prev;
	struct cli_progress prog;
	char prog_label[64];
	struct bench_hist *hist;
};

/* What one phase did. */
struct phase {
	const char *name;
	int has_latency;
	uint64_t ops, t0, t1;      /* t in ns */
	uint64_t user_w, user_r;   /* key+value bytes inserted / looked up */
	uint64_t found, retries;
	double reopen_s;
	uint64_t reopen_read, reopen_written;
	struct wodan_stats s0, s1;
};

/* Report a library failure (right after the failing call). */
static int fail(struct bench *b, int rc, const char *what)
{
	cli_progress_end(&b->prog);
	cli_error("bench", b->label, rc, "%s", what);
	if (!b->exit_code)
		b->exit_code = cli_exit_code(rc);
	return -1;
}

/* --------------------------------------------------------- device, open */

static int open_handle(struct bench *b)
{
	struct wodan_open_opts o;
	int rc;

	memset(&o, 0, sizeof o);
	o.flags = WODAN_OPEN_FAST_SCAN |
		  (b->no_autoflush ? WODAN_OPEN_NO_AUTOFLUSH : 0);
	o.cache_bytes = b->cache;
	o.dirty_bytes = b->dirty;
	o.max_fanout = b->fanout;
	rc = wodan_open(b->be, &o, &b->w);
	if (rc < 0) {
		b->w = NULL;
		return fail(b, rc, "cannot open the image");
	}
	return 0;
}

static int close_handle(struct bench *b)
{
	int rc;

	if (!b->w)
		return 0;
	rc = wodan_close(b->w);
	b->w = NULL;
	if (rc < 0)
		return fail(b, rc, "close (flush) failed");
	return 0;
}

/* Drop the image file from the page cache (--cold). */
static void drop_cache(struct bench *b)
{
	int fd;

	if (!b->path)
		return;
	fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* Open the backend (the first time, and for each fresh RAM image). */
static int open_backend(struct bench *b)
{
	int rc;

	if (!b->spec)
		rc = wodan_backend_ram_create(b->size, &b->be);
	else
		rc = wodan_backend_open(b->spec,
					b->is_ram ? 0 : WODAN_BACKEND_CREATE,
					b->size, &b->be);
	if (rc < 0) {
		b->be = NULL;
		cli_progress_end(&b->prog);
		if (!b->exit_code)
			b->exit_code = cli_open_failed("bench", b->label, rc);
		return -1;
	}
	if (b->spec && !strncmp(b->spec, "direct:", 7) &&
	    strcmp(b->be->name, "direct")) {
		/* this libwodan took "direct:PATH" for a file name */
		wodan_backend_close(b->be);
		b->be = NULL;
		if (b->created)
			unlink(b->spec); /* the file it created */
		cli_error("bench", b->label, 0, "this libwodan has no direct "
			  "backend (use file:PATH)");
		return -1;
	}
	return 0;
}

/* Close the handle, format a new image, open it.  RAM devices are made
 * anew (a fresh zero mapping); files are formatted with discard (holes). */
static int fresh_image(struct bench *b)
{
	struct wodan_mkfs_params mp;
	int rc;

	if (close_handle(b) < 0)
		return -1;
	if (b->is_ram && b->be) {
		wodan_backend_close(b->be);
		b->be = NULL;
	}
	if (!b->be && open_backend(b) < 0)
		return -1;
	memset(&mp, 0, sizeof mp);
	mp.block_size_bytes = b->bs;
	mp.key_size_bytes = b->ks;
	mp.tombstones = b->vs > 0; /* an empty value would be a deletion */
	mp.discard = !b->is_ram;
	mp.journal = b->journal;
	rc = wodan_mkfs(b->be, &mp, NULL);
	if (rc < 0)
		return fail(b, rc, "mkfs failed");
	if (open_handle(b) < 0)
		return -1;
	b->present = 0;
	b->version = 0;
	b->unflushed = 0;
	b->need_reopen = 0;
	return 0;
}

/* Close + open after a write phase, timed (reported with the phase). */
static int maybe_reopen(struct bench *b, struct phase *p)
{
	struct wodan_stats st;
	uint64_t t0;

	if (!b->need_reopen)
		return 0;
	t0 = bench_now_ns();
	if (b->journal) {
		/* the checkpoint close would make, counted on its own: the
		 * tree writes the journal deferred (reopen_bytes_written) */
		struct wodan_stats s0;
		wodan_get_stats(b->w, &s0);
		int rc = wodan_checkpoint(b->w, NULL);
		if (rc < 0)
			return fail(b, rc, "checkpoint failed");
		wodan_get_stats(b->w, &st);
		p->reopen_written = st.bytes_written - s0.bytes_written;
	}
	if (close_handle(b) < 0)
		return -1;
	if (b->cold)
		drop_cache(b);
	if (open_handle(b) < 0)
		return -1;
	p->reopen_s = (double)(bench_now_ns() - t0) / 1e9;
	wodan_get_stats(b->w, &st);
	p->reopen_read = st.bytes_read;
	b->need_reopen = 0;
	return 0;
}

/* ---------------------------------------------------------- operations */

static int do_flush(struct bench *b)
{
	int rc = wodan_flush(b->w, NULL);

	if (rc < 0)
		return fail(b, rc, "flush failed");
	b->unflushed = 0;
	return 0;
}

/* Insert b->key -> b->val; on "needs flush" flush and retry once. */
static int do_insert(struct bench *b, struct phase *p)
{
	int rc = wodan_insert(b->w, b->key, b->ks, b->val, b->vs);

	if (rc == WODAN_E_NEEDS_FLUSH) {
		p->retries++;
		if (do_flush(b) < 0)
			return -1;
		rc = wodan_insert(b->w, b->key, b->ks, b->val, b->vs);
	}
	if (rc < 0)
		return fail(b, rc, "insert failed");
	b->unflushed += b->ks + b->vs;
	p->user_w += b->ks + b->vs;
	return 0;
}

/* Hex of the current key into s (for messages). */
static const char *key_hex(struct bench *b, char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < b->ks && 2 * i + 2 < n; i++) {
		s[2 * i] = hx[b->key[i] >> 4];
		s[2 * i + 1] = hx[b->key[i] & 15];
	}
	s[2 * i] = 0;
	return s;
}

/* A lookup of the current key (index i) that went wrong: "wodanc bench:
 * LABEL: <which>key #I (HEX)<what>".  Returns -1. */
static int key_wrong(struct bench *b, const char *which, uint64_t i,
		     const char *what)
{
	char hs[520];

	cli_progress_end(&b->prog);
	fprintf(stderr, "wodanc bench: %s: %skey #%llu (%s)%s\n", b->label,
		which, (unsigned long long)i, key_hex(b, hs, sizeof hs), what);
	return -1;
}

/* Look up b->key, which must be present (key index i, for messages). */
static int lookup_present(struct bench *b, struct phase *p, uint64_t i)
{
	size_t len = 0;
	int rc = wodan_lookup(b->w, b->key, b->ks, b->buf, b->vs, &len);

	if (rc < 0)
		return fail(b, rc, "lookup failed");
	p->user_r += b->ks + b->vs;
	if (rc == 0)
		return key_wrong(b, "present ", i, " not found");
	if (len != b->vs) {
		cli_progress_end(&b->prog);
		fprintf(stderr, "wodanc bench: %s: key #%llu: value of %zu "
			"bytes, expected %u\n", b->label,
			(unsigned long long)i, len, b->vs);
		return -1;
	}
	p->found++;
	if (b->verify) {
		bench_value(b->seed, i, b->version, b->zero, b->val, b->vs);
		if (memcmp(b->val, b->buf, b->vs))
			return key_wrong(b, "", i, ": wrong value");
	}
	return 0;
}

/* Latency bookkeeping after operation j of total. */
static inline void tick(struct bench *b, uint64_t *prev, uint64_t j,
			uint64_t total)
{
	uint64_t now = bench_now_ns();

	bench_hist_add(b->hist, now - *prev);
	*prev = now;
	if (b->prog.on && !(j & 4095))
		cli_progress_cb(&b->prog, j, total);
}

/* -------------------------------------------------------------- phases */

enum key_kind { K_RANDOM, K_SEQ, K_PERM };

/* After operation j of n: a flush when *since (changes since the last
 * flush) reached flush_every (0 = never) or when `last`, then the progress
 * tick.  0, or -1 when the flush failed (reported). */
static int after_op(struct bench *b, uint64_t *since, uint64_t flush_every,
		    int last, uint64_t *prev, uint64_t j, uint64_t n)
{
	if ((flush_every && *since == flush_every) || last) {
		if (do_flush(b) < 0)
			return -1;
		*since = 0;
	}
	tick(b, prev, j, n);
	return 0;
}

/* N inserts: keys by kind (K_PERM: existing keys in random order), value
 * version ver; a flush every flush_every inserts, and after the last one
 * when final_flush. */
static int run_inserts(struct bench *b, struct phase *p, uint64_t n,
		       enum key_kind kind, uint64_t ver, uint64_t flush_every,
		       int final_flush)
{
	struct bench_perm perm;
	uint64_t j, since = 0, prev = p->t0;

	bench_perm_init(&perm, n, b->seed, BENCH_SALT_OVERWRITE);
	for (j = 0; j < n; j++) {
		uint64_t i = kind == K_PERM ? bench_perm_at(&perm, j) : j;

		if (kind == K_SEQ)
			bench_seq_key(i, b->key, b->ks);
		else
			bench_key(b->seed, i, b->key, b->ks);
		bench_value(b->seed, i, ver, b->zero, b->val, b->vs);
		if (do_insert(b, p) < 0)
			return -1;
		since++;
		if (after_op(b, &since, flush_every, final_flush && j + 1 == n,
			     &prev, j, n) < 0)
			return -1;
	}
	p->ops = n;
	return 0;
}

/* Every present key once, in random order. */
static int run_lookups(struct bench *b, struct phase *p, uint64_t salt)
{
	struct bench_perm perm;
	uint64_t j, n = b->present, prev = p->t0;

	bench_perm_init(&perm, n, b->seed, salt);
	for (j = 0; j < n; j++) {
		uint64_t i = bench_perm_at(&perm, j);

		bench_key(b->seed, i, b->key, b->ks);
		if (lookup_present(b, p, i) < 0)
			return -1;
		tick(b, &prev, j, n);
	}
	p->ops = n;
	return 0;
}

/* N lookups of keys never inserted. */
static int run_absent(struct bench *b, struct phase *p)
{
	uint64_t j, prev = p->t0;

	for (j = 0; j < b->n; j++) {
		size_t len;
		int rc;

		bench_key(b->seed, BENCH_ABSENT_BASE | j, b->key, b->ks);
		rc = wodan_lookup(b->w, b->key, b->ks, b->buf, b->vs, &len);
		if (rc < 0)
			return fail(b, rc, "lookup failed");
		if (rc > 0)
			return key_wrong(b, "absent ", j, " found");
		p->user_r += b->ks + b->vs;
		tick(b, &prev, j, b->n);
	}
	p->ops = b->n;
	return 0;
}

struct scan_ctx {
	struct bench *b;
	uint64_t entries, bytes, total;
	int have_prev, bad_order;
};

static int scan_cb(void *arg, const uint8_t *key, const uint8_t *val,
		   size_t val_len)
{
	struct scan_ctx *c = arg;
	struct bench *b = c->b;

	(void)val;
	c->entries++;
	c->bytes += b->ks + val_len;
	if (b->verify) {
		if (c->have_prev && memcmp(b->prev, key, b->ks) >= 0)
			c->bad_order = 1;
		memcpy(b->prev, key, b->ks);
		c->have_prev = 1;
	}
	if (b->prog.on && !(c->entries & 65535))
		cli_progress_cb(&b->prog, c->entries, c->total);
	return 0;
}

/* One full ordered scan; must visit every present key. */
static int run_scan(struct bench *b, struct phase *p)
{
	struct scan_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	c.b = b;
	c.total = b->present;
	rc = wodan_iterate(b->w, NULL, NULL, scan_cb, &c);
	if (rc < 0)
		return fail(b, rc, "scan failed");
	p->ops = c.entries;
	p->user_r = c.bytes;
	p->has_latency = 0;
	if (c.entries != b->present || c.bad_order) {
		cli_progress_end(&b->prog);
		fprintf(stderr, "wodanc bench: %s: scan visited %llu entries%s,"
			" expected %llu in ascending order\n", b->label,
			(unsigned long long)c.entries,
			c.bad_order ? " out of order" : "",
			(unsigned long long)b->present);
		return -1;
	}
	return 0;
}

/* N operations: 50/50 inserts of new keys and lookups of present keys. */
static int run_mixed(struct bench *b, struct phase *p)
{
	uint64_t j, since = 0, prev = p->t0, n = b->n;

	for (j = 0; j < n; j++) {
		uint64_t r = bench_first(b->seed ^ BENCH_SALT_MIXED ^
					 (j * BENCH_GOLDEN));

		if (r & 1) {
			uint64_t i = b->present;
			bench_key(b->seed, i, b->key, b->ks);
			bench_value(b->seed, i, b->version, b->zero, b->val,
				    b->vs);
			if (do_insert(b, p) < 0)
				return -1;
			b->present++;
			since++;
		} else {
			uint64_t i = (r >> 1) % b->present;
			bench_key(b->seed, i, b->key, b->ks);
			if (lookup_present(b, p, i) < 0)
				return -1;
		}
		if (after_op(b, &since, b->flush_every, j + 1 == n, &prev, j,
			     n) < 0)
			return -1;
	}
	p->ops = n;
	return 0;
}

/* fillsync: each insert followed by a durable flush. */
static int run_fillsync(struct bench *b, struct phase *p)
{
	uint64_t n = b->n < FILLSYNC_OPS ? b->n : FILLSYNC_OPS;

	return run_inserts(b, p, n, K_RANDOM, 0, 1, 1);
}

/* Run phase `d`; fills p (stats taken around the work). */
static int run_phase(struct bench *b, const struct phase_def *d,
		     struct phase *p)
{
	int rc = 0, fresh = d->base < 0, reads = 0;

	switch (d->id) {
	case PH_I_LOOKUP: case PH_I_ABSENT: case PH_I_SCAN:
	case PH_D_READRANDOM: case PH_D_READSEQ:
		reads = 1;
		break;
	default:
		break;
	}
	if (fresh && fresh_image(b) < 0)
		return -1;
	if (reads && maybe_reopen(b, p) < 0)
		return -1;
	snprintf(b->prog_label, sizeof b->prog_label, "bench %s %s",
		 b->wl->name, d->name);
	cli_progress_init(&b->prog, b->prog_label,
			  d->id == PH_I_SCAN || d->id == PH_D_READSEQ
			  ? "entries" : "ops");
	bench_hist_reset(b->hist);
	p->name = d->name;
	p->has_latency = 1;
	wodan_get_stats(b->w, &p->s0);
	p->t0 = bench_now_ns();
	switch (d->id) {
	case PH_O_INSERT:
		rc = run_inserts(b, p, b->n, K_RANDOM, 0, b->flush_every, 0);
		b->present = b->n;
		break;
	case PH_O_FLUSH: {
		uint64_t t;
		p->user_w = b->unflushed; /* what the flush makes durable */
		rc = do_flush(b);
		t = bench_now_ns();
		bench_hist_add(b->hist, t - p->t0);
		p->ops = 1;
		break;
	}
	case PH_I_INSERT:
	case PH_D_FILLRANDOM:
		rc = run_inserts(b, p, b->n, K_RANDOM, 0, b->flush_every, 1);
		b->present = b->n;
		break;
	case PH_D_FILLSEQ:
		rc = run_inserts(b, p, b->n, K_SEQ, 0, b->flush_every, 1);
		b->present = 0; /* sequential keys: not the random set */
		break;
	case PH_D_OVERWRITE:
		rc = run_inserts(b, p, b->present, K_PERM, 1, b->flush_every,
				 1);
		b->version = 1;
		break;
	case PH_I_LOOKUP:
		rc = run_lookups(b, p, BENCH_SALT_LOOKUP);
		break;
	case PH_D_READRANDOM:
		rc = run_lookups(b, p, BENCH_SALT_READ);
		break;
	case PH_I_ABSENT:
		rc = run_absent(b, p);
		break;
	case PH_I_SCAN:
	case PH_D_READSEQ:
		rc = run_scan(b, p);
		break;
	case PH_I_MIXED:
		rc = run_mixed(b, p);
		break;
	case PH_D_FILLSYNC:
		rc = run_fillsync(b, p);
		b->present = p->ops;
		break;
	}
	p->t1 = bench_now_ns();
	cli_progress_end(&b->prog);
	if (rc < 0)
		return -1;
	wodan_get_stats(b->w, &p->s1);
	if (!reads && d->id != PH_O_FLUSH)
		b->need_reopen = 1;
	return 0;
}

/* ------------------------------------------------------------- reports */

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void print_header(struct bench *b, const struct wodan_info *in)
{
	char bs[32], cache[32], dirty[32];

	cli_human_size(b->bs, bs, sizeof bs);
	cli_human_size(b->cache ? b->cache : DEFAULT_CACHE, cache,
		       sizeof cache);
	cli_human_size(b->dirty ? b->dirty : DEFAULT_BUDGET, dirty,
		       sizeof dirty);
	printf("wodanc bench: workload %s, n %llu, key %u B, value %u B%s, "
	       "block %s, device %s, cache %s, dirty %s, fanout %u, "
	       "flush every %llu, seed %llu, libwodan %s\n",
	       b->wl->name, (unsigned long long)b->n, b->ks, b->vs,
	       b->zero ? " (zero)" : "", bs, b->label, cache, dirty,
	       in->max_fanout, (unsigned long long)b->flush_every,
	       (unsigned long long)b->seed, wodan_version());
	printf("%-13s %9s %8s %11s %8s %8s %10s %10s %7s %8s %7s %8s %9s "
	       "%7s\n", "phase", "ops", "seconds", "ops/s", "p50 us",
	       "p99 us", "written", "read", "WA", "RA", "flushes",
	       "barriers", "peak RSS", "blocks");
}

/* An amplification for the table: "-" when undefined. */
static void fmt_amp(double v, char *s, size_t n)
{
	if (isnan(v))
		snprintf(s, n, "-");
	else if (v >= 99999.5)
		snprintf(s, n, "%.3g", v);
	else if (v >= 100)
		snprintf(s, n, "%.0f", v);
	else
		snprintf(s, n, "%.2f", v);
}

static void report(struct bench *b, const struct phase *p)
{
	struct wodan_info in;
	const struct wodan_stats *s0 = &p->s0, *s1 = &p->s1;
	double secs = (double)(p->t1 - p->t0) / 1e9;
	double p50 = bench_hist_quantile(b->hist, 0.50) / 1e3;
	double p99 = bench_hist_quantile(b->hist, 0.99) / 1e3;
	double p999 = bench_hist_quantile(b->hist, 0.999) / 1e3;
	uint64_t wr = s1->bytes_written - s0->bytes_written;
	uint64_t rd = s1->bytes_read - s0->bytes_read;
	double wa = ratio(wr, p->user_w), ra = ratio(rd, p->user_r);
	uint64_t peak = bench_peak_rss_kib();

	wodan_get_info(b->w, &in);
	if (!b->json) {
		char w[32], r[32], was[32], ras[32], rss[32], l50[32], l99[32];
		if (!b->header_done) {
			print_header(b, &in);
			b->header_done = 1;
		}
		cli_human_size(wr, w, sizeof w);
		cli_human_size(rd, r, sizeof r);
		cli_human_size(peak * 1024, rss, sizeof rss);
		fmt_amp(wa, was, sizeof was);
		fmt_amp(ra, ras, sizeof ras);
		if (p->has_latency) {
			snprintf(l50, sizeof l50, "%.2f", p50);
			snprintf(l99, sizeof l99, "%.2f", p99);
		} else {
			strcpy(l50, "-");
			strcpy(l99, "-");
		}
		printf("%-13s %9llu %8.3f %11.0f %8s %8s %10s %10s %7s %8s "
		       "%7llu %8llu %9s %7llu\n", p->name,
		       (unsigned long long)p->ops, secs,
		       secs > 0 ? (double)p->ops / secs : 0.0, l50, l99, w, r,
		       was, ras,
		       (unsigned long long)(s1->flushes - s0->flushes),
		       (unsigned long long)(s1->barriers - s0->barriers), rss,
		       (unsigned long long)in.used_blocks);
		fflush(stdout);
		return;
	}
	struct cli_json j;
	cj_begin(&j, stdout);
	cj_str(&j, "workload", b->wl->name);
	cj_str(&j, "phase", p->name);
	cj_u64(&j, "n", b->n);
	cj_u64(&j, "ops", p->ops);
	cj_double(&j, "seconds", secs);
	cj_double(&j, "ops_per_sec", secs > 0 ? (double)p->ops / secs : NAN);
	if (p->has_latency) {
		cj_double(&j, "p50_us", p50);
		cj_double(&j, "p99_us", p99);
		cj_double(&j, "p999_us", p999);
		cj_double(&j, "max_us", (double)b->hist->max_ns / 1e3);
		cj_double(&j, "mean_us", b->hist->count ?
			  (double)b->hist->sum_ns / 1e3 /
			  (double)b->hist->count : NAN);
	} else {
		cj_null(&j, "p50_us");
		cj_null(&j, "p99_us");
		cj_null(&j, "p999_us");
		cj_null(&j, "max_us");
		cj_null(&j, "mean_us");
	}
	cj_u64(&j, "bytes_written", wr);
	cj_u64(&j, "bytes_read", rd);
	cj_u64(&j, "user_bytes_written", p->user_w);
	cj_u64(&j, "user_bytes_read", p->user_r);
	cj_double(&j, "write_amplification", wa);
	cj_double(&j, "read_amplification", ra);
	cj_u64(&j, "flushes", s1->flushes - s0->flushes);
	cj_u64(&j, "barriers", s1->barriers - s0->barriers);
	cj_u64(&j, "peak_rss_kib", peak);
	cj_u64(&j, "rss_kib", bench_rss_kib());
	cj_u64(&j, "used_blocks", in.used_blocks);
	cj_u64(&j, "free_blocks", in.free_blocks);
	cj_u64(&j, "depth", in.depth);
	cj_u64(&j, "block_size", b->bs);
	cj_u64(&j, "key_size", b->ks);
	cj_u64(&j, "value_size", b->vs);
	cj_str(&j, "device", b->label);
	cj_u64(&j, "seed", b->seed);
	cj_u64(&j, "cache", b->cache ? b->cache : DEFAULT_CACHE);
	cj_u64(&j, "dirty", s1->dirty_soft_bytes);
	cj_u64(&j, "dirty_hard", s1->dirty_hard_bytes);
	cj_u64(&j, "dirty_peak_bytes", s1->dirty_peak_bytes);
	cj_u64(&j, "hard_ceiling_stops",
	       s1->hard_ceiling_stops - s0->hard_ceiling_stops);
	cj_u64(&j, "fanout", in.max_fanout);
	cj_u64(&j, "flush_every", b->flush_every);
	cj_bool(&j, "zero_values", b->zero);
	cj_bool(&j, "journal", b->journal);
	cj_u64(&j, "journal_commits",
	       s1->journal_commits - s0->journal_commits);
	cj_u64(&j, "checkpoints", s1->checkpoints - s0->checkpoints);
	cj_u64(&j, "inserts", s1->inserts - s0->inserts);
	cj_u64(&j, "lookups", s1->lookups - s0->lookups);
	cj_u64(&j, "found", p->found);
	cj_u64(&j, "blocks_written", s1->blocks_written - s0->blocks_written);
	cj_u64(&j, "blocks_read", s1->blocks_read - s0->blocks_read);
	cj_u64(&j, "cache_hits", s1->cache_hits - s0->cache_hits);
	cj_u64(&j, "cache_misses", s1->cache_misses - s0->cache_misses);
	cj_u64(&j, "cache_evictions",
	       s1->cache_evictions - s0->cache_evictions);
	cj_u64(&j, "spills", s1->spills - s0->spills);
	cj_u64(&j, "splits", s1->splits - s0->splits);
	cj_u64(&j, "auto_flushes", s1->auto_flushes - s0->auto_flushes);
	cj_u64(&j, "needs_flush_retries", p->retries);
	cj_u64(&j, "cache_bytes_now", s1->cache_bytes);
	cj_u64(&j, "dirty_bytes_now", s1->dirty_bytes);
	cj_double(&j, "reopen_seconds", p->reopen_s);
	cj_u64(&j, "reopen_bytes_read", p->reopen_read);
	cj_u64(&j, "reopen_bytes_written", p->reopen_written);
	cj_str(&j, "libwodan", wodan_version());
	cj_end(&j);
	fflush(stdout);
}

/* ------------------------------------------------------------- options */

enum {
	OPT_WORKLOAD = 256, OPT_N, OPT_PHASES, OPT_DEVICE, OPT_SIZE, OPT_BS,
	OPT_KS, OPT_VS, OPT_CACHE, OPT_DIRTY, OPT_FANOUT, OPT_FLUSH_EVERY,
	OPT_SEED, OPT_ZERO, OPT_JOURNAL, OPT_NO_AUTOFLUSH, OPT_COLD, OPT_VERIFY, OPT_JSON,
	OPT_KEEP,
};

static const struct option bench_opts[] = {
	{ "workload", required_argument, NULL, OPT_WORKLOAD },
	{ "n", required_argument, NULL, OPT_N },
	{ "phases", required_argument, NULL, OPT_PHASES },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "block-size", required_argument, NULL, OPT_BS },
	{ "key-size", required_argument, NULL, OPT_KS },
	{ "value-size", required_argument, NULL, OPT_VS },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "dirty", required_argument, NULL, OPT_DIRTY },
	{ "fanout", required_argument, NULL, OPT_FANOUT },
	{ "flush-every", required_argument, NULL, OPT_FLUSH_EVERY },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "zero-values", no_argument, NULL, OPT_ZERO },
	{ "no-autoflush", no_argument, NULL, OPT_NO_AUTOFLUSH },
	{ "journal", no_argument, NULL, OPT_JOURNAL },
	{ "cold", no_argument, NULL, OPT_COLD },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "force", no_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Parse --phases LIST into a bit mask of the workload's phases. */
static int parse_phases(const struct workload *wl, const char *list,
			unsigned *mask)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int i, bad = 0;

	if (!copy)
		return -1;
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			*mask |= (1u << wl->n_phases) - 1;
			continue;
		}
		for (i = 0; i < wl->n_phases; i++)
			if (!strcmp(tok, wl->phases[i].name))
				break;
		if (i == wl->n_phases) {
			fprintf(stderr, "wodanc bench: workload %s has no phase "
				"'%s'; its phases:", wl->name, tok);
			for (i = 0; i < wl->n_phases; i++)
				fprintf(stderr, " %s", wl->phases[i].name);
			fputc('\n', stderr);
			bad = 1;
			break;
		}
		*mask |= 1u << i;
	}
	free(copy);
	if (bad || !*mask)
		return -1;
	return 0;
}

/* Largest value of a geometry (doc/SPEC.md §6). */
static uint64_t max_value_for(uint32_t bs, uint32_t ks)
{
	int64_t lim = (int64_t)(15ull * bs / 16) - 35 - (int64_t)ks;

	if (lim < 0)
		return 0;
	return lim > 65535 ? 65535 : (uint64_t)lim;
}

/* Default device size: 4 x the data + 64 MiB + 64 blocks (original: at
 * least 32 MiB), a multiple of the block size. */
static uint64_t default_size(const struct bench *b)
{
	uint64_t data = b->n * (b->ks + b->vs), sz;

	if (b->wl->id == WL_INDEX)
		data += data / 2; /* mixed adds about N/2 keys */
	if (b->wl->id == WL_ORIGINAL) {
		sz = 4 * data + (8ull << 20) + 16ull * b->bs;
		if (sz < (32ull << 20))
			sz = 32ull << 20;
	} else {
		sz = 4 * data + (64ull << 20) + 64ull * b->bs;
	}
	return (sz + b->bs - 1) / b->bs * b->bs;
}

/* Parse a number option (a size with K/M/G/T when `size`) into *out.
 * Returns 0, or CLI_EXIT_USAGE after "invalid NAME 'ARG'". */
static int opt_num(const char *name, const char *arg, uint64_t *out,
		   int size)
{
	if ((size ? cli_parse_size(arg, out) : cli_parse_u64(arg, out)) < 0)
		return cli_usage("bench", "invalid %s '%s'", name, arg);
	return 0;
}

/* opt_num() for a plain number that must be in lo..hi: outside, the usage
 * error `range` ("--n must be 1 .. 2^40").  Returns 0 or CLI_EXIT_USAGE. */
static int opt_range(const char *name, const char *arg, uint64_t *out,
		     uint64_t lo, uint64_t hi, const char *range)
{
	if (opt_num(name, arg, out, 0))
		return CLI_EXIT_USAGE;
	if (*out < lo || *out > hi)
		return cli_usage("bench", "%s", range);
	return 0;
}

/* wodanc bench [OPTIONS] */
int cmd_bench(int argc, char **argv)
{
	struct bench b;
	struct phase p;
	const char *wl_name = "original", *phases = NULL;
	uint64_t v, n = 0, bs = 0, ks = 0, vs = 0, fe = 0;
	int c, i, ex = 0, have_fe = 0, ret = CLI_EXIT_FAIL;
	unsigned mask, need;
	size_t wi;

	memset(&b, 0, sizeof b);
	b.seed = 42;
	optind = 0;
	while (!ex &&
	       (c = getopt_long(argc, argv, ":Fh", bench_opts, NULL)) != -1) {
		switch (c) {
		case OPT_WORKLOAD: wl_name = optarg; break;
		case OPT_PHASES: phases = optarg; break;
		case OPT_DEVICE: b.spec = optarg; break;
		case OPT_N:
			ex = opt_range("--n", optarg, &n, 1, 1ull << 40,
				       "--n must be 1 .. 2^40");
			break;
		case OPT_SIZE:
			ex = opt_num("--size", optarg, &b.size, 1);
			break;
		case OPT_BS:
			ex = opt_num("--block-size", optarg, &bs, 1);
			if (!ex && cli_check_block_size(bs) < 0)
				ex = cli_usage("bench", "invalid block size "
					       "%s (512 .. 64M, a multiple "
					       "of 512, of 4096 from 4096)",
					       optarg);
			break;
		case OPT_KS:
			ex = opt_range("--key-size", optarg, &ks, 8, 255,
				       "--key-size must be 8 .. 255");
			break;
		case OPT_VS:
			ex = opt_range("--value-size", optarg, &vs, 0, 65535,
				       "--value-size must be at most 65535");
			vs++; /* 0 = not given */
			break;
		case OPT_CACHE:
			ex = opt_num("--cache", optarg, &b.cache, 1);
			break;
		case OPT_DIRTY:
			ex = opt_num("--dirty", optarg, &b.dirty, 1);
			break;
		case OPT_FANOUT:
			ex = opt_range("--fanout", optarg, &v, 0, UINT32_MAX,
				       "--fanout too large");
			b.fanout = (uint32_t)v;
			break;
		case OPT_FLUSH_EVERY:
			ex = opt_num("--flush-every", optarg, &fe, 0);
			have_fe = 1;
			break;
		case OPT_SEED:
			ex = opt_num("--seed", optarg, &b.seed, 0);
			break;
		case OPT_ZERO: b.zero = 1; break;
		case OPT_NO_AUTOFLUSH: b.no_autoflush = 1; break;
		case OPT_JOURNAL: b.journal = 1; break;
		case OPT_COLD: b.cold = 1; break;
		case OPT_VERIFY: b.verify = 1; break;
		case OPT_JSON: b.json = 1; cli_json_errors(1); break;
		case OPT_KEEP: b.keep = 1; break;
		case 'F': b.force = 1; break;
		case 'h': return cli_help("bench", bench_help);
		default: return cli_getopt_error("bench", c, argv);
		}
	}
	if (ex)
		return ex;
	if (optind < argc)
		return cli_usage("bench", "unexpected argument '%s'",
				 argv[optind]);
	for (wi = 0; wi < N_WORKLOADS; wi++)
		if (!strcmp(wl_name, workloads[wi].name))
			break;
	if (wi == N_WORKLOADS)
		return cli_usage("bench", "unknown workload '%s' (original, "
				 "index or dbbench)", wl_name);
	b.wl = &workloads[wi];
	b.n = n ? n : b.wl->n;
	b.bs = bs ? (uint32_t)bs : b.wl->block_size;
	b.ks = ks ? (uint32_t)ks : b.wl->key_size;
	b.vs = vs ? (uint32_t)(vs - 1) : b.wl->value_size;
	b.zero = b.zero || b.wl->zero_values;
	b.flush_every = have_fe ? fe : b.wl->flush_every;
	if (b.vs > max_value_for(b.bs, b.ks))
		return cli_usage("bench", "value size %u exceeds the maximum "
				 "%llu of block size %u and key size %u",
				 b.vs,
				 (unsigned long long)max_value_for(b.bs, b.ks),
				 b.bs, b.ks);
	mask = (1u << b.wl->n_phases) - 1;
	if (phases && parse_phases(b.wl, phases, &mask) < 0)
		return cli_usage("bench", "invalid --phases '%s'", phases);
	need = mask;
	for (i = 0; i < b.wl->n_phases; i++)
		if ((mask >> i & 1) && b.wl->phases[i].base >= 0)
			need |= 1u << b.wl->phases[i].base;
	if (b.size && b.size % 512)
		return cli_usage("bench", "--size must be a multiple of 512");
	if (!b.size)
		b.size = default_size(&b);

	/* the device */
	if (!b.spec) {
		b.is_ram = 1;
		if (b.size % (1 << 20) == 0)
			snprintf(b.label, sizeof b.label, "ram:%lluM",
				 (unsigned long long)(b.size >> 20));
		else
			snprintf(b.label, sizeof b.label, "ram:%llu",
				 (unsigned long long)b.size);
	} else {
		snprintf(b.label, sizeof b.label, "%s", b.spec);
		b.is_ram = !strncmp(b.spec, "ram:", 4);
		if (!strncmp(b.spec, "direct:", 7))
			b.path = b.spec + 7;
		else if (!b.is_ram)
			b.path = cli_device_path(b.spec);
		if (b.path) {
			struct stat st;
			if (stat(b.path, &st) != 0) {
				b.created = 1;
			} else if ((st.st_size > 0 || S_ISBLK(st.st_mode)) &&
				   !b.force) {
				cli_error("bench", b.label, 0, "exists; the "
					  "bench formats its device: give -F "
					  "to overwrite it");
				return CLI_EXIT_FAIL;
			}
		}
	}
	b.hist = malloc(sizeof *b.hist);
	b.key = malloc(b.ks);
	b.prev = malloc(b.ks);
	b.val = malloc(b.vs + 1);
	b.buf = malloc(b.vs + 1);
	if (!b.hist || !b.key || !b.prev || !b.val || !b.buf) {
		cli_error("bench", NULL, WODAN_E_NOMEM, "cannot allocate "
			  "the buffers");
		b.exit_code = CLI_EXIT_OPERATIONAL;
		goto out;
	}
	cli_progress_init(&b.prog, "bench", "ops");

	for (i = 0; i < b.wl->n_phases; i++) {
		if (!(need >> i & 1))
			continue;
		memset(&p, 0, sizeof p);
		if (run_phase(&b, &b.wl->phases[i], &p) < 0)
			goto out;
		if (mask >> i & 1)
			report(&b, &p);
	}
	if (close_handle(&b) < 0)
		goto out;
	ret = CLI_EXIT_OK;
out:
	if (b.w)
		wodan_abandon(b.w);
	wodan_backend_close(b.be);
	if (b.created && !b.keep && b.path)
		unlink(b.path);
	free(b.hist);
	free(b.key);
	free(b.prev);
	free(b.val);
	free(b.buf);
	if (ret && b.exit_code)
		ret = b.exit_code;
	c = cli_finish_stdout("bench");
	return ret ? ret : c;
}
