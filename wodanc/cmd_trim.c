/*
 * cmd_trim.c -- `wodanc trim DEVICE`: discard every block not reachable
 * from the newest durable root (wodan_fstrim), like fstrim(8); with --live,
 * only the blocks freed since this command opened the image
 * (wodan_live_trim).
 *
 * -o/-l/-m (range and minimum extent, as fstrim) and -n (dry run) are built
 * on the public backend interface: the library is given a wrapper backend
 * whose discard() sees each run of free blocks the library discards (one
 * call per maximal run), clips it to the range, skips it when shorter than
 * the minimum, and in a dry run only counts it.  In a dry run the wrapper
 * also keeps every write in memory (a journal image writes a root at open;
 * fstrim flushes first), so the device is never written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char trim_help[] =
	"Usage: wodanc trim DEVICE [OPTIONS]\n"
	"\n"
	"Mount the image on DEVICE, flush, and discard every block that the\n"
	"newest root's tree does not use (stale node versions, old roots,\n"
	"preroots, never-written space), like fstrim(8).  Adjacent blocks are\n"
	"discarded as one range.  For a file, discard punches holes, so the\n"
	"file takes less disk space.  Older roots are no longer available for\n"
	"--rollback afterwards.  A power cut during trim is harmless: only\n"
	"blocks that no durable root uses are discarded.\n"
	"\n"
	"Options:\n"
	"  -o, --offset BYTES   trim only from this byte of the image on\n"
	"                       (rounded up to a block) (default 0)\n"
	"  -l, --length BYTES   trim only this many bytes after the offset\n"
	"                       (rounded down to a block) (default: to the end)\n"
	"  -m, --minimum BYTES  skip runs of free blocks shorter than this\n"
	"                       (counted inside the range) (default 0: every\n"
	"                       run)\n"
	"                       BYTES take K/M/G/T suffixes (powers of 1024)\n"
	"  -n, --dry-run        report what would be discarded; discard and\n"
	"                       write nothing\n"
	"  -v, --verbose        print how much was trimmed, as fstrim -v does\n"
	"                       (default: print nothing)\n"
	"  --json               print {device, trimmed_blocks, trimmed_bytes,\n"
	"                       block_size, dry_run} as one JSON object; on\n"
	"                       failure one object {\"error\": {...}} instead\n"
	"  --live               live trim (wodan_live_trim): discard only\n"
	"                       blocks freed by flushes since THIS COMMAND\n"
	"                       opened the image.  wodanc changes nothing in\n"
	"                       between, so this trims 0 blocks; it exists to\n"
	"                       exercise the library call, which is meant for\n"
	"                       long-running programs that keep an image open.\n"
	"                       To reclaim space from the command line, use\n"
	"                       plain 'wodanc trim'.\n"
	"  -h, --help           show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"trim: 0 also when nothing was to trim; 1 when the device cannot\n"
	"discard; 8 when DEVICE cannot be opened or an I/O error stops it.\n"
	"\n"
	"Examples:\n"
	"  wodanc trim -v img\n"
	"  img: 12 MiB (12582912 bytes) trimmed\n"
	"  wodanc trim -n -v -m 1M img      # what runs of 1 MiB or more hold\n"
	"  wodanc trim -o 1G -l 1G img      # only the second GiB\n";

enum { OPT_JSON = 256, OPT_LIVE };

static const struct option trim_opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "offset", required_argument, NULL, 'o' },
	{ "length", required_argument, NULL, 'l' },
	{ "minimum", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* ----------------------------------------------------- wrapper backend */

/* One write kept in memory during a dry run. */
struct overlay {
	struct overlay *next;
	uint64_t off;
	size_t len;
	uint8_t data[];
};

#define OVERLAY_MAX (256ull << 20) /* bytes a dry run may hold back */

struct trim_wrap {
	struct wodan_backend be;      /* what the library sees */
	struct wodan_backend *inner;  /* the real device */
	int dry;                      /* -n: count, never discard or write */
	uint64_t lo, hi;              /* byte range to trim, [lo, hi) */
	uint64_t min;                 /* shortest run to trim, bytes */
	uint32_t bs;                  /* image block size (0 until known) */
	uint64_t bytes;               /* discarded (or would be) */
	struct overlay *ov;           /* dry run: writes, newest first */
	uint64_t ov_bytes;
};

static int w_read(struct wodan_backend *be, uint64_t off, void *buf,
		  size_t len)
{
	struct trim_wrap *t = be->ctx;
	struct overlay *o;
	int rc = t->inner->read(t->inner, off, buf, len);

	if (rc)
		return rc;
	/* lay the held-back writes over what the device holds, oldest
	 * first (the list is newest first), so the newest bytes win */
	{
		size_t n = 0, i;
		struct overlay **v;

		for (o = t->ov; o; o = o->next)
			if (o->off < off + len && off < o->off + o->len)
				n++;
		if (!n)
			return 0;
		v = malloc(n * sizeof *v);
		if (!v)
			return -ENOMEM;
		i = n;
		for (o = t->ov; o; o = o->next)
			if (o->off < off + len && off < o->off + o->len)
				v[--i] = o;
		for (i = 0; i < n; i++) {
			uint64_t a = v[i]->off > off ? v[i]->off : off;
			uint64_t e = v[i]->off + v[i]->len < off + len ?
				     v[i]->off + v[i]->len : off + len;
			memcpy((uint8_t *)buf + (a - off),
			       v[i]->data + (a - v[i]->off), (size_t)(e - a));
		}
		free(v);
	}
	return 0;
}

static int w_write(struct wodan_backend *be, uint64_t off, const void *buf,
		   size_t len)
{
	struct trim_wrap *t = be->ctx;
	struct overlay *o;

	if (!t->dry)
		return t->inner->write(t->inner, off, buf, len);
	if (off > t->inner->size_bytes || len > t->inner->size_bytes - off)
		return -EINVAL;
	if (t->ov_bytes + len > OVERLAY_MAX)
		return -ENOMEM;
	o = malloc(sizeof *o + len);
	if (!o)
		return -ENOMEM;
	o->off = off;
	o->len = len;
	memcpy(o->data, buf, len);
	o->next = t->ov;
	t->ov = o;
	t->ov_bytes += len;
	return 0;
}

static int w_barrier(struct wodan_backend *be)
{
	struct trim_wrap *t = be->ctx;

	if (t->dry || !t->inner->barrier)
		return 0;
	return t->inner->barrier(t->inner);
}

static int w_lock(struct wodan_backend *be, unsigned mode)
{
	struct trim_wrap *t = be->ctx;

	return t->inner->lock(t->inner, mode);
}

/* One run of free blocks from the library: clip, filter, discard. */
static int w_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	struct trim_wrap *t = be->ctx;
	uint64_t a = off > t->lo ? off : t->lo;
	uint64_t e = off + len < t->hi ? off + len : t->hi;
	int rc;

	if (t->bs) { /* whole blocks only */
		a = (a + t->bs - 1) / t->bs * t->bs;
		e = e / t->bs * t->bs;
	}
	if (e <= a || e - a < t->min)
		return 0;
	if (!t->dry) {
		rc = t->inner->discard(t->inner, a, e - a);
		if (rc)
			return rc;
	}
	t->bytes += e - a;
	return 0;
}

static void wrap_init(struct trim_wrap *t, struct wodan_backend *inner)
{
	t->inner = inner;
	t->be = *inner;
	t->be.ctx = t;
	t->be.read = w_read;
	t->be.write = w_write;
	t->be.barrier = w_barrier;
	t->be.discard = inner->discard || t->dry ? w_discard : NULL;
	t->be.lock = inner->lock ? w_lock : NULL;
	t->be.close = NULL;
}

static void wrap_free(struct trim_wrap *t)
{
	while (t->ov) {
		struct overlay *o = t->ov;
		t->ov = o->next;
		free(o);
	}
}

/* ------------------------------------------------------------- command */

/* Parse a byte count option; 0 or the usage exit code. */
static int parse_bytes(const char *opt, const char *arg, uint64_t *out)
{
	if (cli_parse_size(arg, out) < 0)
		return cli_usage("trim", "invalid %s '%s': need a number of "
				 "bytes with an optional K/M/G/T suffix", opt,
				 arg);
	return 0;
}

/* wodanc trim DEVICE [OPTIONS] */
int cmd_trim(int argc, char **argv)
{
	struct trim_wrap t;
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	wodan_t *w = NULL;
	const char *dev;
	uint64_t blocks = 0, bytes, off = 0, len = UINT64_MAX;
	int c, rc, ex, verbose = 0, json = 0, live = 0, have_range = 0;

	memset(&t, 0, sizeof t);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":vno:l:m:h", trim_opts,
				NULL)) != -1) {
		switch (c) {
		case 'v': verbose = 1; break;
		case 'n': t.dry = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_LIVE: live = 1; break;
		case 'o':
			if ((rc = parse_bytes("--offset", optarg, &off)))
				return rc;
			have_range = 1;
			break;
		case 'l':
			if ((rc = parse_bytes("--length", optarg, &len)))
				return rc;
			have_range = 1;
			break;
		case 'm':
			if ((rc = parse_bytes("--minimum", optarg, &t.min)))
				return rc;
			break;
		case 'h': return cli_help("trim", trim_help);
		default: return cli_getopt_error("trim", c, argv);
		}
	}
	rc = cli_device_operand("trim", argc, argv, &dev);
	if (rc)
		return rc;
	if (live && (have_range || t.min || t.dry))
		return cli_usage("trim", "--live takes no -o, -l, -m or -n");
	t.lo = off;
	t.hi = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	cli_json_errors(json);
	ex = cli_open_device("trim", dev, 0, 0, &be);
	if (ex) {
		cli_finish_stdout("trim");
		return ex;
	}
	wrap_init(&t, be);
	rc = wodan_open(&t.be, NULL, &w);
	if (rc < 0) {
		ex = cli_open_failed("trim", dev, rc);
		goto out;
	}
	wodan_get_info(w, &info);
	t.bs = info.block_size_bytes;
	if (live) {
		/* honest: only what flushes of this handle freed (none) */
		rc = wodan_flush(w, NULL);
		if (rc == 0)
			rc = wodan_live_trim(w, &blocks);
	} else {
		rc = wodan_fstrim(w, &blocks);
	}
	blocks = t.bytes / info.block_size_bytes;
	if (rc < 0) {
		cli_error("trim", dev, rc, "%s failed%s",
			  live ? "live trim" : "trim",
			  blocks ? " (some blocks were discarded)" : "");
		wodan_abandon(w);
		ex = cli_exit_code(rc);
		goto out;
	}
	if (t.dry) {
		wodan_abandon(w); /* nothing to write back: change nothing */
		rc = 0;
	} else {
		rc = wodan_close(w);
	}
	if (rc < 0) {
		cli_error("trim", dev, rc, "closing the image failed");
		ex = cli_exit_code(rc);
		goto out;
	}
	bytes = t.bytes;
	if (json) {
		struct cli_json j;
		cj_begin(&j, stdout);
		cj_str(&j, "device", dev);
		cj_u64(&j, "trimmed_blocks", blocks);
		cj_u64(&j, "trimmed_bytes", bytes);
		cj_u64(&j, "block_size", info.block_size_bytes);
		cj_bool(&j, "dry_run", t.dry);
		cj_end(&j);
	} else if (verbose) {
		char hs[32];
		cli_human_size(bytes, hs, sizeof hs);
		printf("%s: %s (%llu bytes) %s\n", dev, hs,
		       (unsigned long long)bytes,
		       t.dry ? "would be trimmed (dry run)" : "trimmed");
		if (live)
			fprintf(stderr, "wodanc trim: note: --live only trims "
				"blocks freed since this command opened the "
				"image; use 'wodanc trim' without --live to "
				"discard all unused blocks\n");
	}
	ex = CLI_EXIT_OK;
out:
	wodan_backend_close(be);
	wrap_free(&t);
	rc = cli_finish_stdout("trim");
	return ex ? ex : rc;
}
