/*
 * cmd_dump.c -- `wodanc dump DEVICE`: write the live keys of an image (or a
 * key range of it) as a CBOR dump (wodan_dump.h) or its text form
 * (textfmt.h) to stdout or a file.  The output file is written through
 * safeout.h: a failed or interrupted dump never changes an existing file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "safeout.h"
#include "textfmt.h"

static const char dump_help[] =
	"Usage: wodanc dump DEVICE [OPTIONS]\n"
	"\n"
	"Write every live key of the image on DEVICE, in ascending key order,\n"
	"as a wodan dump: by default a CBOR sequence of a header (key size,\n"
	"tombstones, block size, generation, fsid), [key, value] records and a\n"
	"trailer with the record count and a CRC32C.  'wodanc restore' reads it\n"
	"back.  The image is opened read-only.\n"
	"\n"
	"Options:\n"
	"  -o, -f, --output FILE\n"
	"                     write the dump to FILE (default: standard output,\n"
	"                     which must not be a terminal for CBOR).  A new or\n"
	"                     regular FILE is written as a temporary file\n"
	"                     .FILE.XXXXXX in the same directory and renamed\n"
	"                     over FILE only once complete and synced: a failed\n"
	"                     or interrupted dump leaves FILE as it was.  A\n"
	"                     device or FIFO is written straight through.  FILE\n"
	"                     may not be DEVICE itself\n"
	"  --format FORMAT    cbor (default) or text: one line per record,\n"
	"                     for people and pipelines:\n"
	"                       wodan-dump-text 1 key_size=K tombstones=0|1 \\\n"
	"                         block_size=B generation=G fsid=32HEX\n"
	"                       KEYHEX VALUEHEX      (one per record; the value\n"
	"                       KEYHEX -              '-' when empty)\n"
	"                       end records=N\n"
	"                     every line ends with a line feed; hex in lower\n"
	"                     case; keys in ascending order ('wodanc restore\n"
	"                     --help' tells what it accepts)\n"
	"  --from HEX         first key to dump, inclusive: exactly key-size\n"
	"                     bytes as hex digits (default: the smallest key)\n"
	"  --to HEX           end of the range, exclusive, same form\n"
	"                     (default: through the largest key)\n"
	"  --rollback         if the newest root's tree is damaged, dump the\n"
	"                     newest older intact root instead (default: fail);\n"
	"                     the whole tree is verified before dumping, and\n"
	"                     standard error names the generation dumped and\n"
	"                     the newer generations skipped\n"
	"  --json             with -o FILE: print the summary as one JSON object\n"
	"                     on standard output (records, bytes, generation,\n"
	"                     rolled_back, skipped_generations), and errors as\n"
	"                     a JSON error object\n"
	"  -h, --help         show this help\n"
	"\n"
	"Nothing but the dump is written to standard output.  With -o, a\n"
	"summary goes to standard output.  A progress line is shown on\n"
	"standard error when it is a terminal.  SIGINT or SIGTERM stops the\n"
	"dump cleanly (FILE unchanged, exit 1).\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"dump: 1 interrupted; 4 the image is damaged (try --rollback); 8\n"
	"cannot read the image, cannot create or write FILE (a directory, no\n"
	"permission, disk full); 16 also for a bad --from/--to key and for\n"
	"FILE being DEVICE.\n"
	"\n"
	"Examples:\n"
	"  wodanc dump img -o backup.cbor\n"
	"  wodanc dump img --from 00000010 --to 00000020 | wc -c\n"
	"  wodanc dump img --format text | grep -c .\n"
	"  wodanc dump img --rollback -o rescue.cbor --json\n";

enum { OPT_FROM = 256, OPT_TO, OPT_ROLLBACK, OPT_FORMAT, OPT_JSON };

static const struct option dump_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "rollback", no_argument, NULL, OPT_ROLLBACK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

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
		return CLI_EXIT_OPERATIONAL;
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

/* A damaged tree (as opposed to an I/O or usage problem): --rollback
 * may help. */
static int tree_error(int rc)
{
	return rc == WODAN_E_CORRUPT || rc == WODAN_E_BAD_CRC ||
	       rc == WODAN_E_BAD_NODE_TYPE || rc == WODAN_E_FSID ||
	       rc == WODAN_E_NO_ROOT;
}

/* What a --rollback open did. */
struct rollback_info {
	int rolled_back;
	uint64_t newest;     /* generation of the damaged newest root, 0 if
			      * it could not be identified */
};

/* Progress callback: the terminal line, and stop on SIGINT/SIGTERM. */
static int dump_progress(void *arg, uint64_t done, uint64_t total)
{
	if (safeout_stop_signal)
		return 1;
	return cli_progress_cb(arg, done, total);
}

/*
 * Open the image read-only.  Without --rollback: fast scan (leaves are
 * verified when read).  With --rollback: a full verifying open; if the
 * newest tree is damaged, find its generation (wodan_check lists the
 * newest root even when its tree is broken) and open the newest intact
 * older root.  Returns 0 or the error (for cli_open_failed, right
 * after: wodan_last_error() is still the failing open's).
 */
static int open_image(const char *dev, struct wodan_backend *be,
		      int rollback, wodan_t **w, struct rollback_info *ri)
{
	struct wodan_open_opts oo;
	struct wodan_check_report rep;
	struct wodan_error_detail first;
	int rc;

	memset(ri, 0, sizeof *ri);
	memset(&oo, 0, sizeof oo);
	oo.flags = WODAN_OPEN_READONLY |
		   (rollback ? 0u : WODAN_OPEN_FAST_SCAN);
	rc = wodan_open(be, &oo, w);
	/* as the library does with WODAN_OPEN_ROLLBACK: any failure but a
	 * read error or no memory (or a lock) may have an older root */
	if (rc < 0 && rollback && rc != WODAN_E_IO_READ &&
	    rc != WODAN_E_NOMEM && rc != WODAN_E_LOCKED) {
		first = *wodan_last_error();
		memset(&rep, 0, sizeof rep);
		if (wodan_check(be, 0, &rep, NULL, NULL) >= 0)
			ri->newest = rep.generation;
		wodan_check_report_free(&rep);
		oo.flags |= WODAN_OPEN_ROLLBACK;
		rc = wodan_open(be, &oo, w);
		if (rc == 0) {
			ri->rolled_back = 1;
			char g[40] = "";
			if (ri->newest)
				snprintf(g, sizeof g, " (generation %llu)",
					 (unsigned long long)ri->newest);
			fprintf(stderr, "wodanc dump: %s: the newest root%s is "
				"damaged: %s%s%s\n", dev, g,
				wodan_strerror(first.code),
				first.message[0] ? ": " : "", first.message);
		}
	}
	return rc;
}

/* Tell which generation a rolled-back dump used and what it skipped. */
static void report_rollback(const char *dev, const struct rollback_info *ri,
			    uint64_t gen)
{
	if (!ri->rolled_back)
		return;
	if (ri->newest > gen)
		fprintf(stderr, "wodanc dump: %s: rolled back: dumping "
			"generation %llu; generations %llu..%llu are skipped "
			"(their changes are not in the dump)\n", dev,
			(unsigned long long)gen, (unsigned long long)gen + 1,
			(unsigned long long)ri->newest);
	else
		fprintf(stderr, "wodanc dump: %s: rolled back: dumping "
			"generation %llu; the newer generations are skipped "
			"(the newest could not be identified)\n", dev,
			(unsigned long long)gen);
}

/* The summary after a dump to a file: a line or a JSON object. */
static void print_summary(const char *dev, const char *path, int text,
			  int json, uint64_t records, uint64_t bytes,
			  uint64_t gen, const struct rollback_info *ri)
{
	char hs[40] = "";

	if (json) {
		struct cli_json j;
		cj_begin(&j, stdout);
		cj_str(&j, "device", dev);
		cj_str(&j, "output", path);
		cj_str(&j, "format", text ? "text" : "cbor");
		cj_u64(&j, "records", records);
		cj_u64(&j, "bytes", bytes);
		cj_u64(&j, "generation", gen);
		cj_bool(&j, "rolled_back", ri->rolled_back);
		if (ri->rolled_back && ri->newest > gen) {
			cj_u64(&j, "newest_generation", ri->newest);
			cj_obj(&j, "skipped_generations");
			cj_u64(&j, "first", gen + 1);
			cj_u64(&j, "last", ri->newest);
			cj_close_obj(&j);
		} else if (ri->rolled_back) {
			cj_null(&j, "newest_generation");
			cj_obj(&j, "skipped_generations");
			cj_u64(&j, "first", gen + 1);
			cj_null(&j, "last");
			cj_close_obj(&j);
		} else {
			cj_null(&j, "skipped_generations");
		}
		cj_end(&j);
		return;
	}
	if (bytes >= 1024) {
		strcpy(hs, ", ");
		cli_human_size(bytes, hs + 2, sizeof hs - 2);
	}
	printf("%s: dumped %llu records (%llu bytes%s) of generation %llu%s "
	       "to %s\n", dev, (unsigned long long)records,
	       (unsigned long long)bytes, hs, (unsigned long long)gen,
	       ri->rolled_back ? " (rolled back)" : "", path);
}

/* wodanc dump DEVICE [OPTIONS] */
int cmd_dump(int argc, char **argv)
{
	const char *dev, *out_path = NULL, *from_hex = NULL, *to_hex = NULL;
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	struct cli_progress prog;
	struct rollback_info ri;
	struct safeout out;
	uint8_t *from = NULL, *to = NULL;
	uint64_t records = 0;
	wodan_t *w = NULL;
	char msg[512];
	int c, rc, rollback = 0, text = 0, json = 0, out_open = 0;
	int ex = CLI_EXIT_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:f:h", dump_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case 'f':
			out_path = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				text = 1;
			else if (!strcmp(optarg, "cbor"))
				text = 0;
			else
				return cli_usage("dump", "invalid --format "
						 "'%s': cbor or text", optarg);
			break;
		case OPT_FROM: from_hex = optarg; break;
		case OPT_TO: to_hex = optarg; break;
		case OPT_ROLLBACK: rollback = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': return cli_help("dump", dump_help);
		default: return cli_getopt_error("dump", c, argv);
		}
	}
	rc = cli_device_operand("dump", argc, argv, &dev);
	if (rc)
		return rc;
	if (json && !out_path)
		return cli_usage("dump", "--json needs -o FILE (standard "
				 "output carries the dump)");
	if (json)
		cli_json_errors(1);
	if (!out_path && !text && isatty(STDOUT_FILENO)) {
		cli_error("dump", dev, 0, "refusing to write a binary dump to a "
			  "terminal; use -o FILE, redirect standard output, or "
			  "--format text");
		return CLI_EXIT_FAIL;
	}
	if (out_path && safeout_same_file(cli_device_path(dev), out_path)) {
		cli_error("dump", dev, 0, "refusing to write the dump over the "
			  "image being dumped (%s is %s)", out_path, dev);
		return CLI_EXIT_USAGE;
	}
	rc = cli_open_device("dump", dev, WODAN_BACKEND_RDONLY, 0, &be);
	if (rc)
		return rc;
	rc = open_image(dev, be, rollback, &w, &ri);
	if (rc < 0) {
		ex = cli_open_failed("dump", dev, rc);
		if (tree_error(rc) && !rollback)
			fprintf(stderr, "wodanc dump: %s: --rollback may find "
				"an older intact root\n", dev);
		goto out;
	}
	wodan_get_info(w, &info);
	report_rollback(dev, &ri, info.generation);
	ex = parse_key("--from", from_hex, info.key_size_bytes, &from);
	if (ex == CLI_EXIT_OK)
		ex = parse_key("--to", to_hex, info.key_size_bytes, &to);
	if (ex != CLI_EXIT_OK)
		goto out;
	safeout_catch_signals();
	if (safeout_open(&out, out_path, msg, sizeof msg) < 0) {
		cli_error("dump", dev, 0, "%s", msg);
		ex = CLI_EXIT_OPERATIONAL;
		goto out;
	}
	out_open = 1;
	out.stop = &safeout_stop_signal;
	cli_progress_init(&prog, "dump", "records");
	if (text)
		rc = textfmt_dump(w, from, to, safeout_write, &out,
				  dump_progress, &prog, &records);
	else
		rc = wodan_dump(w, from, to, safeout_write, &out,
				dump_progress, &prog, &records);
	cli_progress_end(&prog);
	if (rc < 0) {
		const char *name = out_path ? out_path : "standard output";
		if (safeout_stop_signal) {
			cli_error("dump", dev, 0, "interrupted by signal %d "
				  "after %llu records; %s", (int)safeout_stop_signal,
				  (unsigned long long)records, out_path ?
				  "the output file is unchanged" : "the output "
				  "is incomplete (no trailer)");
			ex = CLI_EXIT_FAIL;
		} else if (out.err) {
			cli_error("dump", dev, 0, "writing %s: %s%s", name,
				  strerror(out.err), out.tmp ? " (the file is "
				  "unchanged)" : "");
			ex = CLI_EXIT_OPERATIONAL;
		} else {
			cli_error("dump", dev, rc, "dump failed after %llu "
				  "records%s%s", (unsigned long long)records,
				  out.tmp ? "; the output file is unchanged" : "",
				  tree_error(rc) && !rollback ? " (--rollback "
				  "may find an older intact root)" : "");
			ex = cli_exit_code(rc);
		}
		goto out;
	}
	out_open = 0;
	if (safeout_commit(&out, msg, sizeof msg) < 0) {
		cli_error("dump", dev, 0, "%s", msg);
		ex = CLI_EXIT_OPERATIONAL;
		goto out;
	}
	if (out_path)
		print_summary(dev, out_path, text, json, records, out.bytes,
			      info.generation, &ri);
	ex = cli_finish_stdout("dump");
out:
	if (out_open)
		safeout_abort(&out);
	free(from);
	free(to);
	if (w)
		wodan_close(w);
	wodan_backend_close(be);
	return ex;
}
