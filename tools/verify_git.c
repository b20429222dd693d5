/*
 * wodan-verify-git -- check a dump of git objects (as wodan-git2dump writes
 * it, or as `wodanc dump` gives it back).
 *
 *   wodan-verify-git [DUMP|-] [--expect FILE] [-v]
 *
 * For every record: the value is a type byte 1..4 followed by the content,
 * and SHA-1("<type> <len>\0" <content>) equals the key; keys ascend
 * strictly.  With --expect FILE (a second dump, both sorted ascending), the
 * keys and values of the two dumps must be identical (merge-compare):
 * a key only in FILE is "missing", a key only in DUMP or a different value
 * is "mismatched".  Prints
 *     verified N objects, M missing, K mismatched
 * and exits 0 only when both counts are 0 and every check passed.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wodan.h"
#include "wodan_dump.h"
#include "gitobj.h"

static const char *prog = "wodan-verify-git";

/* Problems printed in full; later ones are only counted. */
#define MAX_REPORTED 20

static unsigned reported;
static int verbose;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [DUMP|-] [--expect FILE] [-v]\n"
		"Check that every record of the dump DUMP (default: stdin) is "
		"a git object whose\nSHA-1 is its key, and that keys ascend.\n"
		"  -e, --expect FILE   also require the same keys and values "
		"as the dump FILE\n"
		"  -v, --verbose       list every problem (default: the first "
		"%d)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		prog, MAX_REPORTED);
}

static void problem(const uint8_t *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(const uint8_t *key, const char *fmt, ...)
{
	char hex[GITOBJ_HEX_SIZE + 1];
	va_list ap;

	reported++;
	if (!verbose && reported > MAX_REPORTED) {
		if (reported == MAX_REPORTED + 1)
			fprintf(stderr, "%s: more problems, not listed "
				"(use -v)\n", prog);
		return;
	}
	gitobj_bin_to_hex(key, hex);
	fprintf(stderr, "%s: %s: ", prog, hex);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The record's own checks.  Returns 0 when the value is a git object whose
 * id is the key. */
static int check_object(const uint8_t *key, const uint8_t *val, size_t len)
{
	uint8_t id[GITOBJ_KEY_SIZE];
	char hex[GITOBJ_HEX_SIZE + 1];

	if (len == 0) {
		problem(key, "empty value (no type byte)");
		return -1;
	}
	if (!gitobj_type_name(val[0])) {
		problem(key, "bad type byte %u (want 1..4)", (unsigned)val[0]);
		return -1;
	}
	if (gitobj_hash(val[0], val + 1, len - 1, id) < 0 ||
	    memcmp(id, key, GITOBJ_KEY_SIZE) != 0) {
		gitobj_bin_to_hex(id, hex);
		problem(key, "content hashes to %s", hex);
		return -1;
	}
	return 0;
}

/* Next record of `in`; returns 1, 0 at the end, -1 on error (printed). */
static int next_record(struct gitobj_dump_in *in, const uint8_t **key,
		       const uint8_t **val, size_t *len)
{
	int rc = wodan_dump_reader_next(in->rd, key, val, len);

	if (rc >= 0)
		return rc;
	if (in->read_errno)
		fprintf(stderr, "%s: %s: read error: %s\n", prog, in->name,
			strerror(in->read_errno));
	else
		gitobj_print_wodan_error(prog, in->name, rc);
	return -1;
}

/* Keeps the previous key of a stream to check strict ascent. */
struct order {
	uint8_t prev[GITOBJ_KEY_SIZE];
	int have;
	uint64_t violations;
};

static void check_order(struct order *o, const uint8_t *key,
			const char *which)
{
	if (o->have && memcmp(o->prev, key, GITOBJ_KEY_SIZE) >= 0) {
		o->violations++;
		problem(key, "key does not ascend strictly in %s", which);
	}
	memcpy(o->prev, key, GITOBJ_KEY_SIZE);
	o->have = 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "-", *expect_path = NULL;
	struct gitobj_dump_in a, x;
	struct order oa = { { 0 }, 0, 0 }, ox = { { 0 }, 0, 0 };
	const uint8_t *ka = NULL, *va = NULL, *kx = NULL, *vx = NULL;
	size_t la = 0, lx = 0;
	uint64_t verified = 0, missing = 0, mismatched = 0;
	int ra, rx = 0, c, err = 0;

	while ((c = getopt_long(argc, argv, "e:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			expect_path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s (wodan) %s\n", prog, WODAN_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog,
			argv[optind]);
		usage(stderr);
		return 1;
	}
	if (expect_path && strcmp(path, "-") == 0 &&
	    strcmp(expect_path, "-") == 0) {
		fprintf(stderr, "%s: the dump and --expect cannot both be "
			"stdin\n", prog);
		return 1;
	}

	if (gitobj_dump_open(prog, path, &a) < 0)
		return 1;
	if (expect_path && gitobj_dump_open(prog, expect_path, &x) < 0) {
		gitobj_dump_close(&a);
		return 1;
	}

	ra = next_record(&a, &ka, &va, &la);
	if (expect_path)
		rx = next_record(&x, &kx, &vx, &lx);
	/* Both streams ascend, so a merge pairs equal keys. */
	while ((ra == 1 || rx == 1) && ra >= 0 && rx >= 0) {
		int cmp;

		if (ra == 1 && rx == 1)
			cmp = memcmp(ka, kx, GITOBJ_KEY_SIZE);
		else
			cmp = ra == 1 ? -1 : 1;
		if (cmp <= 0) {
			check_order(&oa, ka, a.name);
			verified++;
			if (check_object(ka, va, la) < 0)
				mismatched++;
			else if (expect_path && cmp < 0) {
				mismatched++;
				problem(ka, "not in %s", x.name);
			} else if (expect_path &&
				   (la != lx || memcmp(va, vx, la) != 0)) {
				mismatched++;
				problem(ka, "value differs from %s", x.name);
			}
		}
		if (cmp >= 0) {
			check_order(&ox, kx, x.name);
			if (cmp > 0) {
				missing++;
				problem(kx, "missing (listed in %s)", x.name);
			}
		}
		if (cmp <= 0)
			ra = next_record(&a, &ka, &va, &la);
		if (cmp >= 0)
			rx = next_record(&x, &kx, &vx, &lx);
	}
	if (ra < 0 || rx < 0)
		err = 1;

	if (oa.violations || ox.violations)
		fprintf(stderr,
			"%s: %" PRIu64 " keys out of order in %s, %" PRIu64
			" in %s%s\n", prog, oa.violations, a.name,
			ox.violations, expect_path ? x.name : "-",
			expect_path ? " (the comparison needs both sorted)"
				    : "");
	if (err)
		fprintf(stderr, "%s: stopped early: the counts below are "
			"incomplete\n", prog);
	printf("verified %" PRIu64 " objects, %" PRIu64 " missing, %" PRIu64
	       " mismatched\n", verified, missing, mismatched);
	if (fflush(stdout) != 0)
		err = 1;

	gitobj_dump_close(&a);
	if (expect_path)
		gitobj_dump_close(&x);
	return err || missing || mismatched || oa.violations ||
	       ox.violations ? 1 : 0;
}
