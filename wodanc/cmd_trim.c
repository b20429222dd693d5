/*
 * cmd_trim.c -- `wodanc trim DEVICE`: discard every block not reachable
 * from the newest durable root (wodan_fstrim), like fstrim(8).
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
	"preroots, never-written space), like fstrim(8).  For a file, discard\n"
	"punches holes, so the file takes less disk space.  Older roots are\n"
	"no longer available for --rollback afterwards.\n"
	"\n"
	"Options:\n"
	"  -v, --verbose  print how much was trimmed, as fstrim -v does\n"
	"                 (default: print nothing)\n"
	"  --json         print {device, trimmed_blocks, trimmed_bytes,\n"
	"                 generation} as one JSON object\n"
	"  --live         trim only blocks freed during this mount (not\n"
	"                 supported yet: exits 8)\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit codes: 0 trimmed, 1 failed (cannot open image, device does not\n"
	"support discard, I/O error), 8 --live (not supported yet), 16 usage\n"
	"error.\n"
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
	if (live) {
		cli_error("trim", dev, 0, "--live is not supported yet (it "
			  "comes in a later release); plain 'wodanc trim' "
			  "discards all unused blocks");
		return CLI_EXIT_OPERATIONAL;
	}
	if (cli_open_backend("trim", dev, 0, 0, &be) < 0)
		return CLI_EXIT_FAIL;
	rc = wodan_open(be, NULL, &w);
	if (rc < 0) {
		cli_error("trim", dev, rc, "cannot open image");
		wodan_backend_close(be);
		return CLI_EXIT_FAIL;
	}
	rc = wodan_fstrim(w, &blocks);
	if (rc < 0) {
		cli_error("trim", dev, rc, "trim failed");
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
		cj_u64(&j, "generation", info.generation);
		cj_end(&j);
	} else if (verbose) {
		char hs[32];
		cli_human_size(bytes, hs, sizeof hs);
		printf("%s: %s (%llu bytes) trimmed\n", dev, hs,
		       (unsigned long long)bytes);
	}
	return CLI_EXIT_OK;
}
