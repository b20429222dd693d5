/*
 * cmd_restore.c -- `wodanc restore DEVICE`: read a CBOR dump (DUMP.md) from
 * stdin or a file and insert its records into an image (wodan_restore),
 * optionally formatting the device first with the dump's key size.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char restore_help[] =
	"Usage: wodanc restore DEVICE [OPTIONS]\n"
	"\n"
	"Read a wodan dump (CBOR, see 'wodanc dump') from standard input or\n"
	"FILE and insert every record into the image on DEVICE, then flush.\n"
	"Records already in the image are overwritten by the dump's values.\n"
	"A malformed dump stops the restore with an error naming the byte\n"
	"offset and record number; records after the last flush are dropped\n"
	"and the image stays consistent.\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE   read the dump from FILE (default: standard input;\n"
	"                     \"-\" also means standard input)\n"
	"  --mkfs             format DEVICE first (destroying its contents) with\n"
	"                     the dump's key size and tombstones flag\n"
	"                     (default: restore into the existing image)\n"
	"  --block-size N     block size for --mkfs, K/M suffixes allowed\n"
	"                     (default 262144 = 256K)\n"
	"  --size BYTES       image size for --mkfs; creates a missing file\n"
	"                     (default: the whole device or file)\n"
	"  --json             print the summary as one JSON object\n"
	"  -h, --help         show this help\n"
	"\n"
	"A progress line is shown on standard error when it is a terminal.\n"
	"\n"
	"Exit codes: 0 restored, 1 failed (malformed dump, key size differs\n"
	"from the image's, device error), 16 usage error.\n"
	"\n"
	"Example:\n"
	"  wodanc dump old.img | wodanc restore new.img --mkfs --size 1G\n";

enum { OPT_MKFS = 256, OPT_BS, OPT_SIZE, OPT_JSON };

static const struct option restore_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "mkfs", no_argument, NULL, OPT_MKFS },
	{ "block-size", required_argument, NULL, OPT_BS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* State of the dump input: a stdio stream and the first error seen. */
struct input {
	FILE *f;
	int err;     /* errno of a failed read, 0 if none */
};

/* wodan_read_fn over a FILE *: returns bytes read, 0 at end, -errno. */
static long read_input(void *arg, void *buf, size_t len)
{
	struct input *in = arg;
	size_t n = fread(buf, 1, len, in->f);

	if (n == 0 && ferror(in->f)) {
		in->err = errno ? errno : EIO;
		return -in->err;
	}
	return (long)n;
}

/* Options of one restore run. */
struct restore_args {
	const char *dev, *input;
	int mkfs, json;
	uint32_t bs;
	uint64_t size_bytes;
};

/* Name of the input for messages. */
static const char *input_name(const struct restore_args *a)
{
	return a->input ? a->input : "standard input";
}

/* Format the device for --mkfs with the dump header's key size and
 * tombstones flag.  Opens *be.  Returns an exit code. */
static int format_for_dump(const struct restore_args *a,
			   const struct wodan_dump_header *h,
			   struct wodan_backend **be)
{
	struct wodan_mkfs_params p;
	int missing = cli_device_missing(a->dev), rc;

	if (missing && !a->size_bytes) {
		cli_error("restore", a->dev, 0, "no such file; give --size "
			  "BYTES with --mkfs to create it");
		return CLI_EXIT_FAIL;
	}
	if (cli_open_backend("restore", a->dev,
			     a->size_bytes ? WODAN_BACKEND_CREATE : 0,
			     a->size_bytes, be) < 0)
		return CLI_EXIT_FAIL;
	memset(&p, 0, sizeof p);
	p.block_size_bytes = a->bs;
	p.key_size_bytes = h->key_size_bytes;
	p.tombstones = h->tombstones;
	p.logical_size_blocks = a->size_bytes / a->bs;
	rc = wodan_mkfs(*be, &p, NULL);
	if (rc < 0) {
		cli_error("restore", a->dev, rc, "cannot format (block size %u, "
			  "key size %u)", a->bs, h->key_size_bytes);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* Print the summary line or JSON object. */
static void print_summary(const struct restore_args *a, uint64_t records,
			  uint64_t bytes, double secs, uint64_t gen)
{
	char hs[40] = "";

	if (a->json) {
		struct cli_json j;
		cj_begin(&j, stdout);
		cj_str(&j, "device", a->dev);
		cj_u64(&j, "records", records);
		cj_u64(&j, "bytes", bytes);
		cj_double(&j, "seconds", secs);
		cj_u64(&j, "generation", gen);
		cj_end(&j);
		return;
	}
	if (bytes >= 1024) {
		strcpy(hs, ", ");
		cli_human_size(bytes, hs + 2, sizeof hs - 2);
	}
	printf("%s: restored %llu records (%llu bytes of dump%s) in %.2f s, "
	       "generation %llu\n", a->dev, (unsigned long long)records,
	       (unsigned long long)bytes, hs, secs, (unsigned long long)gen);
}

/* The restore proper, with the dump header already read. */
static int restore_into(const struct restore_args *a, wodan_dump_reader *rd)
{
	const struct wodan_dump_header *h = wodan_dump_reader_header(rd);
	struct wodan_backend *be = NULL;
	struct cli_progress prog;
	struct wodan_info info;
	wodan_t *w = NULL;
	uint64_t records = 0;
	double t0 = cli_now();
	int rc, ex = CLI_EXIT_FAIL;

	if (a->mkfs) {
		ex = format_for_dump(a, h, &be);
		if (ex != CLI_EXIT_OK)
			goto out;
		ex = CLI_EXIT_FAIL;
	} else if (cli_open_backend("restore", a->dev, 0, 0, &be) < 0) {
		goto out;
	}
	rc = wodan_open(be, NULL, &w);
	if (rc < 0) {
		cli_error("restore", a->dev, rc, "cannot open image");
		goto out;
	}
	wodan_get_info(w, &info);
	if (info.key_size_bytes != h->key_size_bytes) {
		cli_error("restore", a->dev, 0, "%s: the dump header (byte "
			  "offset 0) has key size %u, the image has key size %u",
			  input_name(a), h->key_size_bytes, info.key_size_bytes);
		goto out;
	}
	if (!h->tombstones != !info.tombstones)
		fprintf(stderr, "wodanc restore: %s: warning: the dump %s "
			"tombstones but the image %s; a record with an empty "
			"value will fail\n", a->dev,
			h->tombstones ? "uses" : "does not use",
			info.tombstones ? "does" : "does not");
	wodan_dump_reader_set_max_value(rd, info.max_value_bytes);
	cli_progress_init(&prog, "restore", "records");
	prog.rd = rd;
	rc = wodan_restore(w, rd, cli_progress_cb, &prog, &records);
	cli_progress_end(&prog);
	if (rc < 0) {
		cli_error("restore", a->dev, rc, "restoring from %s stopped "
			  "after %llu bytes; records after the last flush are "
			  "dropped", input_name(a),
			  (unsigned long long)wodan_dump_reader_offset(rd));
		wodan_abandon(w);
		w = NULL;
		goto out;
	}
	wodan_get_info(w, &info);
	rc = wodan_close(w);
	w = NULL;
	if (rc < 0) {
		cli_error("restore", a->dev, rc, "closing the image failed");
		goto out;
	}
	print_summary(a, records, wodan_dump_reader_offset(rd),
		      cli_now() - t0, info.generation);
	ex = CLI_EXIT_OK;
out:
	if (w)
		wodan_abandon(w);
	wodan_backend_close(be);
	return ex;
}

/* wodanc restore DEVICE [OPTIONS] */
int cmd_restore(int argc, char **argv)
{
	struct restore_args a;
	struct input in = { NULL, 0 };
	wodan_dump_reader *rd = NULL;
	uint64_t v;
	int c, rc, ex, bs_given = 0;

	memset(&a, 0, sizeof a);
	a.bs = WODAN_DEFAULT_BLOCK_SIZE;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":i:h", restore_opts, NULL)) != -1) {
		switch (c) {
		case 'i': a.input = strcmp(optarg, "-") ? optarg : NULL; break;
		case OPT_MKFS: a.mkfs = 1; break;
		case OPT_BS:
			if (cli_parse_size(optarg, &v) < 0 ||
			    cli_check_block_size(v) < 0)
				return cli_usage("restore", "invalid --block-size "
						 "'%s': need 512 .. 64M, a multiple "
						 "of 512 (of 4096 from 4096 up)",
						 optarg);
			a.bs = (uint32_t)v;
			bs_given = 1;
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, &v) < 0 || v == 0)
				return cli_usage("restore", "invalid --size '%s'",
						 optarg);
			a.size_bytes = v;
			break;
		case OPT_JSON: a.json = 1; break;
		case 'h': fputs(restore_help, stdout); return CLI_EXIT_OK;
		default: return cli_getopt_error("restore", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("restore", "missing DEVICE");
	if (optind + 1 < argc)
		return cli_usage("restore", "unexpected argument '%s'",
				 argv[optind + 1]);
	a.dev = argv[optind];
	if (!a.mkfs && (bs_given || a.size_bytes))
		return cli_usage("restore", "--block-size and --size need --mkfs");
	if (a.mkfs && a.size_bytes && a.size_bytes / a.bs < 2) {
		cli_error("restore", a.dev, 0, "--size %llu holds fewer than 2 "
			  "blocks of %u bytes",
			  (unsigned long long)a.size_bytes, a.bs);
		return CLI_EXIT_FAIL;
	}
	if (a.input) {
		in.f = fopen(a.input, "rb");
		if (!in.f) {
			cli_error("restore", a.dev, 0, "cannot open %s: %s",
				  a.input, strerror(errno));
			return CLI_EXIT_FAIL;
		}
	} else {
		if (isatty(STDIN_FILENO)) {
			cli_error("restore", a.dev, 0, "refusing to read a dump "
				  "from a terminal; use -i FILE or a pipe");
			return CLI_EXIT_FAIL;
		}
		in.f = stdin;
	}
	rc = wodan_dump_reader_new(read_input, &in, 0, &rd);
	if (rc < 0) {
		if (in.err)
			cli_error("restore", a.dev, 0, "reading %s: %s",
				  input_name(&a), strerror(in.err));
		else
			cli_error("restore", a.dev, rc, "%s: bad dump header",
				  input_name(&a));
		ex = CLI_EXIT_FAIL;
	} else {
		ex = restore_into(&a, rd);
		wodan_dump_reader_free(rd);
	}
	if (in.f != stdin)
		fclose(in.f);
	return ex;
}
