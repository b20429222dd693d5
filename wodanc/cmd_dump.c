/*
 * cmd_dump.c -- `wodanc dump DEVICE`: write the live keys of an image (or a
 * key range of it) as a CBOR dump (DUMP.md) to stdout or a file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char dump_help[] =
	"Usage: wodanc dump DEVICE [OPTIONS]\n"
	"\n"
	"Write every live key of the image on DEVICE, in ascending key order,\n"
	"as a wodan dump: a CBOR sequence of a header (key size, tombstones,\n"
	"block size, generation, fsid), [key, value] records and a trailer\n"
	"with the record count and a CRC32C.  'wodanc restore' reads it back.\n"
	"The image is opened read-only.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  write the dump to FILE (default: standard output,\n"
	"                     which must not be a terminal)\n"
	"  --from HEX         first key to dump, inclusive: exactly key-size\n"
	"                     bytes as hex digits (default: the smallest key)\n"
	"  --to HEX           end of the range, exclusive, same form\n"
	"                     (default: through the largest key)\n"
	"  --rollback         if the newest root's tree is damaged, dump the\n"
	"                     newest older intact root instead (default: fail)\n"
	"  -h, --help         show this help\n"
	"\n"
	"Nothing but the dump is written to standard output.  With -o, a\n"
	"summary goes to standard output.  A progress line is shown on\n"
	"standard error when it is a terminal.\n"
	"\n"
	"Exit codes: 0 dumped, 1 failed (cannot open image, damaged node, write\n"
	"error), 16 usage error (including a bad --from/--to key).\n"
	"\n"
	"Examples:\n"
	"  wodanc dump img -o backup.cbor\n"
	"  wodanc dump img --from 00000010 --to 00000020 | wc -c\n";

enum { OPT_FROM = 256, OPT_TO, OPT_ROLLBACK };

static const struct option dump_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "rollback", no_argument, NULL, OPT_ROLLBACK },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Output state: stream, bytes written, first errno. */
struct output {
	FILE *f;
	uint64_t bytes;
	int err;
};

/* wodan_write_fn over a FILE *: 0 or -errno. */
static int write_output(void *arg, const void *buf, size_t len)
{
	struct output *o = arg;

	if (len && fwrite(buf, 1, len, o->f) != len) {
		o->err = errno ? errno : EIO;
		return -o->err;
	}
	o->bytes += len;
	return 0;
}

/* Parse --from/--to against the image's key size into a fresh buffer.
 * Returns 0, or prints a usage error and returns CLI_EXIT_USAGE. */
static int parse_key(const char *opt, const char *hex, uint32_t ks,
		     uint8_t **out)
{
	*out = NULL;
	if (!hex)
		return 0;
	*out = malloc(ks);
	if (!*out) {
		cli_error("dump", NULL, WODAN_E_NOMEM, "%s", opt);
		return CLI_EXIT_FAIL;
	}
	if (cli_parse_hex(hex, *out, ks) < 0) {
		free(*out);
		*out = NULL;
		return cli_usage("dump", "invalid %s '%s': need exactly %u hex "
				 "digits (the image's key size is %u bytes)",
				 opt, hex, 2 * ks, ks);
	}
	return 0;
}

/* Flush and close the output (unless stdout is kept); 0 or an errno. */
static int finish_output(struct output *o, int is_stdout)
{
	int err = o->err;

	if (fflush(o->f) != 0 && !err)
		err = errno ? errno : EIO;
	if (ferror(o->f) && !err)
		err = EIO;
	if (!is_stdout && fclose(o->f) != 0 && !err)
		err = errno ? errno : EIO;
	return err;
}

/* wodanc dump DEVICE [OPTIONS] */
int cmd_dump(int argc, char **argv)
{
	const char *dev, *out_path = NULL, *from_hex = NULL, *to_hex = NULL;
	struct wodan_backend *be = NULL;
	struct wodan_open_opts oo;
	struct wodan_info info;
	struct cli_progress prog;
	struct output out = { NULL, 0, 0 };
	uint8_t *from = NULL, *to = NULL;
	uint64_t records = 0;
	wodan_t *w = NULL;
	int c, rc, err, rollback = 0, ex = CLI_EXIT_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:h", dump_opts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = strcmp(optarg, "-") ? optarg : NULL; break;
		case OPT_FROM: from_hex = optarg; break;
		case OPT_TO: to_hex = optarg; break;
		case OPT_ROLLBACK: rollback = 1; break;
		case 'h': fputs(dump_help, stdout); return CLI_EXIT_OK;
		default: return cli_getopt_error("dump", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("dump", "missing DEVICE");
	if (optind + 1 < argc)
		return cli_usage("dump", "unexpected argument '%s'",
				 argv[optind + 1]);
	dev = argv[optind];
	if (!out_path && isatty(STDOUT_FILENO)) {
		cli_error("dump", dev, 0, "refusing to write a binary dump to a "
			  "terminal; use -o FILE or redirect standard output");
		return CLI_EXIT_FAIL;
	}
	if (cli_open_backend("dump", dev, WODAN_BACKEND_RDONLY, 0, &be) < 0)
		return CLI_EXIT_FAIL;
	memset(&oo, 0, sizeof oo);
	oo.flags = WODAN_OPEN_READONLY | WODAN_OPEN_FAST_SCAN |
		   (rollback ? WODAN_OPEN_ROLLBACK : 0u);
	rc = wodan_open(be, &oo, &w);
	if (rc < 0) {
		int tree = rc == WODAN_E_CORRUPT || rc == WODAN_E_BAD_CRC ||
			   rc == WODAN_E_BAD_NODE_TYPE || rc == WODAN_E_FSID;
		cli_error("dump", dev, rc, "cannot open image%s",
			  tree && !rollback ? " (--rollback may find an older "
			  "intact root)" : "");
		goto out;
	}
	wodan_get_info(w, &info);
	ex = parse_key("--from", from_hex, info.key_size_bytes, &from);
	if (ex == CLI_EXIT_OK)
		ex = parse_key("--to", to_hex, info.key_size_bytes, &to);
	if (ex != CLI_EXIT_OK)
		goto out;
	ex = CLI_EXIT_FAIL;
	if (out_path) {
		out.f = fopen(out_path, "wb");
		if (!out.f) {
			cli_error("dump", dev, 0, "cannot create %s: %s",
				  out_path, strerror(errno));
			goto out;
		}
	} else {
		out.f = stdout;
	}
	cli_progress_init(&prog, "dump", "records");
	rc = wodan_dump(w, from, to, write_output, &out, cli_progress_cb,
			&prog, &records);
	cli_progress_end(&prog);
	if (rc < 0) {
		if (out.err)
			cli_error("dump", dev, 0, "writing %s: %s",
				  out_path ? out_path : "standard output",
				  strerror(out.err));
		else
			cli_error("dump", dev, rc, "dump failed after %llu "
				  "records", (unsigned long long)records);
	}
	err = finish_output(&out, out.f == stdout);
	if (rc >= 0 && err)
		cli_error("dump", dev, 0, "writing %s: %s",
			  out_path ? out_path : "standard output",
			  strerror(err));
	if (rc < 0 || err) {
		if (out_path)
			unlink(out_path); /* no truncated dump left behind */
		goto out;
	}
	if (out_path) {
		char hs[40] = "";
		if (out.bytes >= 1024) {
			strcpy(hs, ", ");
			cli_human_size(out.bytes, hs + 2, sizeof hs - 2);
		}
		printf("%s: dumped %llu records (%llu bytes%s) of generation "
		       "%llu to %s\n", dev, (unsigned long long)records,
		       (unsigned long long)out.bytes, hs,
		       (unsigned long long)info.generation, out_path);
	}
	ex = CLI_EXIT_OK;
out:
	free(from);
	free(to);
	if (w)
		wodan_close(w);
	wodan_backend_close(be);
	return ex;
}
