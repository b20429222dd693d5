/*
 * cmd_trim.c -- `wodanc trim DEVICE`: discard every block not reachable
 * from the newest durable root (wodan_fstrim), like fstrim(8); with --live,
 * only the blocks freed since this command opened the image
 * (wodan_live_trim).
 */
#include <getopt.h>
#include <stdio.h>
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
	"  -v, --verbose  print how much was trimmed, as fstrim -v does\n"
	"                 (default: print nothing)\n"
	"  --json         print {device, trimmed_blocks, trimmed_bytes,\n"
	"                 block_size} as one JSON object\n"
	"  --live         live trim (wodan_live_trim): discard only blocks\n"
	"                 freed by flushes since THIS COMMAND opened the\n"
	"                 image.  wodanc changes nothing in between, so this\n"
	"                 trims 0 blocks; it exists to exercise the library\n"
	"                 call, which is meant for long-running programs that\n"
	"                 keep an image open.  To reclaim space from the\n"
	"                 command line, use plain 'wodanc trim'.\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit codes: 0 trimmed (also when nothing was to trim), 1 failed\n"
	"(cannot open image, device does not support discard, I/O error),\n"
	"16 usage error.\n"
	"\n"
	"Example:\n"
	"  wodanc trim -v img\n"
	"  img: 12 MiB (12582912 bytes) trimmed\n";

enum { OPT_JSON = 256, OPT_LIVE };

static const struct option trim_opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* wodanc trim DEVICE [OPTIONS] */
int cmd_trim(int argc, char **argv)
{
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	wodan_t *w = NULL;
	const char *dev;
	uint64_t blocks = 0, bytes;
	int c, rc, verbose = 0, json = 0, live = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":vh", trim_opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbose = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_LIVE: live = 1; break;
		case 'h': fputs(trim_help, stdout); return CLI_EXIT_OK;
		default: return cli_getopt_error("trim", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("trim", "missing DEVICE");
	if (optind + 1 < argc)
		return cli_usage("trim", "unexpected argument '%s'",
				 argv[optind + 1]);
	dev = argv[optind];
	if (cli_open_backend("trim", dev, 0, 0, &be) < 0)
		return CLI_EXIT_FAIL;
	rc = wodan_open(be, NULL, &w);
	if (rc < 0) {
		cli_error("trim", dev, rc, "cannot open image");
		wodan_backend_close(be);
		return CLI_EXIT_FAIL;
	}
	if (live) {
		/* honest: only what flushes of this handle freed (none) */
		rc = wodan_flush(w, NULL);
		if (rc == 0)
			rc = wodan_live_trim(w, &blocks);
	} else {
		rc = wodan_fstrim(w, &blocks);
	}
	if (rc < 0) {
		cli_error("trim", dev, rc, "%s failed%s",
			  live ? "live trim" : "trim",
			  blocks ? " (some blocks were discarded)" : "");
		wodan_abandon(w);
		wodan_backend_close(be);
		return CLI_EXIT_FAIL;
	}
	wodan_get_info(w, &info);
	rc = wodan_close(w);
	wodan_backend_close(be);
	if (rc < 0) {
		cli_error("trim", dev, rc, "closing the image failed");
		return CLI_EXIT_FAIL;
	}
	bytes = blocks * info.block_size_bytes;
	if (json) {
		struct cli_json j;
		cj_begin(&j, stdout);
		cj_str(&j, "device", dev);
		cj_u64(&j, "trimmed_blocks", blocks);
		cj_u64(&j, "trimmed_bytes", bytes);
		cj_u64(&j, "block_size", info.block_size_bytes);
		cj_end(&j);
	} else if (verbose) {
		char hs[32];
		cli_human_size(bytes, hs, sizeof hs);
		printf("%s: %s (%llu bytes) trimmed\n", dev, hs,
		       (unsigned long long)bytes);
		if (live)
			fprintf(stderr, "wodanc trim: note: --live only trims "
				"blocks freed since this command opened the "
				"image; use 'wodanc trim' without --live to "
				"discard all unused blocks\n");
	}
	return CLI_EXIT_OK;
}
