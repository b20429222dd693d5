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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../fuzz/image_exercise.h"
#include "../fuzz/opmodel.h"

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

/* 1 when the unit's trailer is a valid Wodan CRC (doc/SPEC.md §4). */
static int unit_valid(const uint8_t *u, size_t len)
{
	return dr_crc32c(u, len) == 0xffffffffu;
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

/* Command line of --ops: the geometry fields of c are 0 unless given. */
struct ops_args {
	uint64_t ops, seed;
	const char *device;
	int force, verbose;
	struct om_cfg c;
	char extra[256];              /* options to print in the replay */
};

static void print_replay(const struct om *s, FILE *f)
{
	const struct ops_args *a = s->arg;

	fprintf(f, "%s: replay: wodanc fuzz --ops %llu --seed %llu%s\n",
		s->name, (unsigned long long)s->step + 1,
		(unsigned long long)a->seed, a->extra);
}

/* The random operation loop of fuzz/opmodel.c on a fresh image of a RAM
 * device or of --device. */
static int ops_mode(struct ops_args *a)
{
	struct om z;
	int rc, failed;

	om_init(&z, "wodanc fuzz", a->seed);
	z.replay = print_replay;
	z.arg = a;
	z.rng = a->seed ^ 0x5eed5eedull;
	z.c = a->c;
	om_draw_cfg(&z.c, &z.rng);
	if (cli_check_block_size(z.c.bs) || z.c.ks < 1 || z.c.ks > 255) {
		fprintf(stderr, "wodanc fuzz: invalid geometry: block size %u, "
			"key size %u\n", z.c.bs, z.c.ks);
		return CLI_EXIT_USAGE;
	}
	if (om_prepare(&z)) {
		fprintf(stderr, "wodanc fuzz: out of memory\n");
		om_free(&z);
		return CLI_EXIT_OPERATIONAL;
	}
	uint64_t size = z.c.blocks * z.c.bs;
	if (a->device) {
		uint64_t g;
		rc = cli_open_device("fuzz", a->device, WODAN_BACKEND_CREATE,
				     size, &z.be);
		if (rc) {
			om_free(&z);
			return rc;
		}
		if (!a->force && cli_probe_image(z.be, &g)) {
			cli_error("fuzz", a->device, 0, "holds a wodan image; "
				  "use -F to format it anyway");
			wodan_backend_close(z.be);
			om_free(&z);
			return CLI_EXIT_FAIL;
		}
		z.c.blocks = z.be->size_bytes / z.c.bs;
	} else if ((rc = wodan_backend_ram_create(size, &z.be)) < 0) {
		cli_error("fuzz", "ram", rc, "cannot make a RAM device");
		om_free(&z);
		return cli_exit_code(rc);
	}
	rc = om_mkfs(&z);
	if (rc) {
		cli_error("fuzz", a->device ? a->device : "ram", rc,
			  "mkfs (block size %u, key size %u, %llu blocks) "
			  "failed", z.c.bs, z.c.ks,
			  (unsigned long long)z.c.blocks);
		wodan_backend_close(z.be);
		om_free(&z);
		return cli_exit_code(rc);
	}
	if (a->verbose) {
		printf("wodanc fuzz: seed %llu: ", (unsigned long long)a->seed);
		om_print_cfg(&z, stdout);
	}
	failed = om_run(&z, a->ops);
	if (!failed)
		printf("wodanc fuzz: seed %llu: %llu operations, no divergence "
		       "(%llu inserts, %llu deletes, %llu lookups, %llu "
		       "iterations, %llu flushes, %llu reopens, %llu power "
		       "cuts, %llu checks, %llu needs-flush, %llu auto flushes, "
		       "%llu out of space)\n", (unsigned long long)a->seed,
		       (unsigned long long)a->ops,
		       (unsigned long long)z.n.inserts,
		       (unsigned long long)z.n.deletes,
		       (unsigned long long)z.n.lookups,
		       (unsigned long long)z.n.iterations,
		       (unsigned long long)z.n.flushes,
		       (unsigned long long)z.n.reopens,
		       (unsigned long long)z.n.cuts,
		       (unsigned long long)z.n.checks,
		       (unsigned long long)z.n.needs_flush,
		       (unsigned long long)z.n.auto_flushes,
		       (unsigned long long)z.n.out_of_space);
	om_free(&z);
	wodan_backend_close(z.be);
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

/* Parse the value ARG of option --NAME: a decimal number in lo..hi into
 * *out, else "--NAME: 'ARG' is not RANGE" (usage error).  With c, a
 * geometry option, it is also appended to c's replay options.  Returns 0
 * or CLI_EXIT_USAGE. */
static int num_opt(struct ops_args *c, const char *name, const char *arg,
		   uint64_t lo, uint64_t hi, const char *range, uint64_t *out)
{
	if (cli_parse_u64(arg, out) || *out < lo || *out > hi)
		return cli_usage("fuzz", "--%s: '%s' is not %s", name, arg,
				 range);
	if (c)
		add_extra(c->extra, sizeof c->extra, name, arg);
	return 0;
}

/* wodanc fuzz IMAGE | --ops N --seed S ... | --magic-seal IMAGE */
int cmd_fuzz(int argc, char **argv)
{
	struct ops_args c;
	static const char *const need[] = { "IMAGE (or --ops N)" };
	const char *seal = NULL;
	int ch, rc = 0, have_ops = 0, have_seed = 0;
	uint64_t v;

	memset(&c, 0, sizeof c);
	c.seed = 1;
	optind = 0;
	while (!rc &&
	       (ch = getopt_long(argc, argv, ":Fvh", fuzz_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_OPS:
			rc = num_opt(NULL, "ops", optarg, 0, UINT64_MAX,
				     "a number", &c.ops);
			have_ops = 1;
			break;
		case OPT_SEED:
			rc = num_opt(NULL, "seed", optarg, 0, UINT64_MAX,
				     "a number", &c.seed);
			have_seed = 1;
			break;
		case OPT_DEVICE:
			c.device = optarg;
			add_extra(c.extra, sizeof c.extra, "device", optarg);
			break;
		case OPT_BS:
			if (cli_parse_size(optarg, &v) || cli_check_block_size(v))
				return cli_usage("fuzz", "--block-size: '%s' is "
						 "not 512..64M, a multiple of "
						 "512 (of 4096 from 4096 up)",
						 optarg);
			c.c.bs = (uint32_t)v;
			add_extra(c.extra, sizeof c.extra, "block-size", optarg);
			break;
		case OPT_KS:
			rc = num_opt(&c, "key-size", optarg, 1, 255, "1..255",
				     &v);
			c.c.ks = (uint32_t)v;
			break;
		case OPT_BLOCKS:
			rc = num_opt(&c, "blocks", optarg, 2, UINT64_MAX,
				     "a number >= 2", &c.c.blocks);
			break;
		case OPT_KEYS:
			rc = num_opt(&c, "keys", optarg, 2, 1000000,
				     "2..1000000", &v);
			c.c.nkeys = (uint32_t)v;
			break;
		case OPT_SEAL: seal = optarg; break;
		case 'F': c.force = 1; strcat(c.extra, " -F"); break;
		case 'v': c.verbose = 1; break;
		case 'h': return cli_help("fuzz", fuzz_help);
		default: return cli_getopt_error("fuzz", ch, argv);
		}
	}
	if (rc)
		return rc;
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
		return ops_mode(&c);
	}
	if (have_seed || c.device || c.c.bs || c.c.ks || c.c.blocks || c.c.nkeys ||
	    c.force)
		return cli_usage("fuzz", "--seed, --device and the geometry "
				 "options need --ops N");
	rc = cli_operands("fuzz", argc, argv, need, 1, 1);
	if (rc)
		return rc;
	return image_mode(argv[optind], c.verbose);
}
