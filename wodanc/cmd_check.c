/*
 * cmd_check.c -- `wodanc check DEVICE`: fsck for wodan images
 * (wodan_check): a read-only mount that reads every node and checks every
 * rule of doc/SPEC.md §2/§8.2, then a report.  Exit codes: the table of cli.h
 * (0 clean, 4 problems found, 8 cannot run; as fsck(8)).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char check_help[] =
	"Usage: wodanc check DEVICE [OPTIONS]\n"
	"\n"
	"Verify the image on DEVICE without changing it: superblock, the\n"
	"search for the newest root, and a full walk that reads every node\n"
	"and checks every rule (CRCs, node types, fsid, generations, key\n"
	"order and ranges, single ownership of blocks, leaf depth).  Prints\n"
	"the geometry, the tree's shape and counts, space use, older roots\n"
	"that are still intact, and every problem with its block address.\n"
	"\n"
	"Options:\n"
	"  --json       print the report as one JSON object (snake_case keys,\n"
	"               integer counts and bytes, problems as an array of\n"
	"               {block, error, code, what})\n"
	"  --rollback   also search for older intact roots (they are always\n"
	"               searched when the newest root's tree is damaged)\n"
	"  -q, --quiet  print only the problems, nothing when clean\n"
	"  -n           read-only: change nothing (accepted for fsck\n"
	"               compatibility; check never writes anyway)\n"
	"  -f, --force  check even if the image looks clean (accepted for\n"
	"               fsck compatibility; every check is a full check)\n"
	"  -h, --help   show this help\n"
	"\n"
	"A progress line is shown on standard error when it is a terminal.\n"
	"With --json, a check that cannot run prints one object\n"
	"{\"error\": {...}} on standard output instead of the report.\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"check, as fsck: 0 clean, 4 problems found (nothing is corrected),\n"
	"8 cannot run (DEVICE missing or unreadable, holds no wodan image,\n"
	"I/O error, cannot write the report).\n"
	"\n"
	"Example:\n"
	"  wodanc check img || echo \"img needs attention\"\n";

enum { OPT_JSON = 256, OPT_ROLLBACK };

static const struct option check_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "rollback", no_argument, NULL, OPT_ROLLBACK },
	{ "quiet", no_argument, NULL, 'q' },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Names of the known incompat bits, space separated, into buf. */
static void flag_names(uint32_t flags, char *buf, size_t n)
{
	static const char *names[] = { "rdepth", "fsid", "value_count",
				       "tombstones", "journal" };
	const int nnames = (int)(sizeof names / sizeof names[0]);
	size_t o = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < 32 && o < n; i++) {
		if (!(flags & (1u << i)))
			continue;
		if (i < nnames)
			o += (size_t)snprintf(buf + o, n - o, "%s%s",
					      o ? " " : "", names[i]);
		else
			o += (size_t)snprintf(buf + o, n - o, "%sunknown-0x%x",
					      o ? " " : "", 1u << i);
	}
}

/* Number of rdepth levels worth printing. */
static uint32_t n_levels(const struct wodan_check_report *r)
{
	return r->depth < WODAN_CHECK_MAX_LEVELS ? r->depth + 1
						 : WODAN_CHECK_MAX_LEVELS;
}

/* The report as one JSON object. */
static void print_json(const char *dev, const struct wodan_check_report *r,
		       int clean)
{
	struct cli_json j;
	char fsid[37];
	uint32_t i;

	cli_fsid_str(r->fsid, fsid);
	cj_begin(&j, stdout);
	cj_str(&j, "device", dev);
	cj_bool(&j, "clean", clean);
	cj_bool(&j, "opened", r->opened);
	cj_u64(&j, "block_size_bytes", r->block_size_bytes);
	cj_u64(&j, "key_size_bytes", r->key_size_bytes);
	cj_u64(&j, "logical_size_blocks", r->logical_size_blocks);
	cj_u64(&j, "incompat_flags", r->incompat_flags);
	cj_bool(&j, "tombstones", r->tombstones);
	cj_str(&j, "fsid", fsid);
	if (r->opened) {
		cj_u64(&j, "generation", r->generation);
		cj_u64(&j, "root_block", r->root_block);
		cj_u64(&j, "depth", r->depth);
		cj_arr(&j, "nodes_per_level");
		for (i = 0; i < n_levels(r); i++)
			cj_u64(&j, NULL, r->nodes_per_level[i]);
		cj_close_arr(&j);
	} else {
		cj_null(&j, "generation");
		cj_null(&j, "root_block");
		cj_null(&j, "depth");
		cj_null(&j, "nodes_per_level");
	}
	cj_u64(&j, "nodes", r->nodes);
	cj_u64(&j, "live_keys", r->live_keys);
	cj_u64(&j, "tombstones_stored", r->tombstones_stored);
	cj_u64(&j, "logged_items", r->logged_items);
	cj_u64(&j, "journal_commits", r->journal_commits);
	cj_u64(&j, "journal_blocks", r->journal_blocks);
	cj_u64(&j, "used_blocks", r->used_blocks);
	cj_u64(&j, "free_blocks", r->free_blocks);
	cj_double(&j, "fill_factor_percent", r->fill_factor * 100.0);
	cj_arr(&j, "intact_older_generations");
	for (i = 0; i < r->n_intact_older && i < 8; i++)
		cj_u64(&j, NULL, r->intact_older_generations[i]);
	cj_close_arr(&j);
	cj_arr(&j, "problems");
	for (i = 0; i < r->n_problems; i++) {
		cj_obj(&j, NULL);
		cj_u64(&j, "block", r->problems[i].block);
		cj_str(&j, "error", wodan_strerror(r->problems[i].code));
		cj_int(&j, "code", r->problems[i].code);
		cj_str(&j, "what", r->problems[i].what);
		cj_close_obj(&j);
	}
	cj_close_arr(&j);
	cj_end(&j);
}

/* One line per problem on `f`. */
static void print_problems(FILE *f, const char *dev,
			   const struct wodan_check_report *r)
{
	uint32_t i;

	for (i = 0; i < r->n_problems; i++)
		fprintf(f, "%s: block %llu: %s: %s\n", dev,
			(unsigned long long)r->problems[i].block,
			wodan_strerror(r->problems[i].code),
			r->problems[i].what);
}

/* The human-readable report. */
static void print_text(const char *dev, const struct wodan_check_report *r,
		       int clean)
{
	char fsid[37], flags[160], hs[32];
	uint32_t i;

	cli_fsid_str(r->fsid, fsid);
	flag_names(r->incompat_flags, flags, sizeof flags);
	cli_human_size(r->logical_size_blocks * r->block_size_bytes, hs,
		       sizeof hs);
	printf("device:             %s\n", dev);
	if (!r->block_size_bytes) {
		/* the superblock could not be used: no geometry to show */
		printf("superblock:         unusable (see problems)\n");
		goto tree;
	}
	printf("block size:         %u bytes\n", r->block_size_bytes);
	printf("key size:           %u bytes\n", r->key_size_bytes);
	printf("blocks:             %llu (%s)\n",
	       (unsigned long long)r->logical_size_blocks, hs);
	printf("incompat flags:     0x%x (%s)\n", r->incompat_flags, flags);
	printf("tombstones:         %s\n", r->tombstones ? "yes" : "no");
	printf("fsid:               %s\n", fsid);
tree:
	if (r->opened) {
		printf("generation:         %llu\n",
		       (unsigned long long)r->generation);
		printf("root block:         %llu\n",
		       (unsigned long long)r->root_block);
		printf("depth:              %u\n", r->depth);
		printf("nodes per level:   ");
		for (i = n_levels(r); i-- > 0;)
			printf(" %u:%llu", i,
			       (unsigned long long)r->nodes_per_level[i]);
		printf("  (level 0 = leaves)\n");
	} else {
		printf("root:               none found\n");
	}
	printf("nodes:              %llu\n", (unsigned long long)r->nodes);
	printf("live keys:          %llu\n", (unsigned long long)r->live_keys);
	printf("tombstones stored:  %llu\n",
	       (unsigned long long)r->tombstones_stored);
	printf("logged items:       %llu\n",
	       (unsigned long long)r->logged_items);
	if (r->incompat_flags & 0x10u)
		printf("journal:            %llu commits in %llu blocks after "
		       "the root (replayed; included above)\n",
		       (unsigned long long)r->journal_commits,
		       (unsigned long long)r->journal_blocks);
	printf("used blocks:        %llu\n", (unsigned long long)r->used_blocks);
	printf("free blocks:        %llu\n", (unsigned long long)r->free_blocks);
	printf("fill factor:        %.1f%%\n", r->fill_factor * 100.0);
	printf("older intact roots: %u", r->n_intact_older);
	for (i = 0; i < r->n_intact_older && i < 8; i++)
		printf("%s%llu", i ? ", " : " (generations ",
		       (unsigned long long)r->intact_older_generations[i]);
	printf("%s\n", r->n_intact_older ? ")" : "");
	if (clean) {
		printf("problems:           none\nresult:             clean\n");
		return;
	}
	printf("problems:           %u%s\n", r->n_problems,
	       r->n_problems >= 1000 ? " (list truncated)" : "");
	print_problems(stdout, dev, r);
	printf("result:             PROBLEMS FOUND (nothing was changed)\n");
}

/* wodanc check DEVICE [OPTIONS] */
int cmd_check(int argc, char **argv)
{
	struct wodan_check_report rep;
	struct wodan_backend *be = NULL;
	struct cli_progress prog;
	const char *dev;
	int c, rc, json = 0, quiet = 0, clean;
	unsigned flags = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":qnfh", check_opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case OPT_ROLLBACK: flags |= WODAN_OPEN_ROLLBACK; break;
		case 'q': quiet = 1; break;
		case 'n': break; /* read-only: always */
		case 'f': break; /* full check: always */
		case 'h': return cli_help("check", check_help);
		default: return cli_getopt_error("check", c, argv);
		}
	}
	rc = cli_device_operand("check", argc, argv, &dev);
	if (rc)
		return rc;
	cli_json_errors(json);
	rc = cli_open_device("check", dev, WODAN_BACKEND_RDONLY, 0, &be);
	if (rc) {
		/* any open failure: check could not run */
		c = cli_finish_stdout("check");
		return rc == CLI_EXIT_PROBLEMS ? rc : CLI_EXIT_OPERATIONAL;
	}
	memset(&rep, 0, sizeof rep);
	cli_progress_init(&prog, "check", "blocks");
	rc = wodan_check(be, flags, &rep, cli_progress_cb, &prog);
	cli_progress_end(&prog);
	if (rc < 0) {
		cli_error("check", dev, rc, "check could not run");
		wodan_check_report_free(&rep);
		wodan_backend_close(be);
		cli_finish_stdout("check");
		return CLI_EXIT_OPERATIONAL;
	}
	/* No superblock (not an image at all) or one that records more
	 * blocks than the device holds (a truncated copy): say so plainly
	 * instead of a report of one cryptic superblock problem. */
	if (!rep.opened && !rep.block_size_bytes && rep.n_problems == 1 &&
	    rep.problems[0].block == 0 &&
	    (rep.problems[0].code == WODAN_E_BAD_MAGIC ||
	     rep.problems[0].code == WODAN_E_INVAL)) {
		int code = rep.problems[0].code;

		wodan_check_report_free(&rep);
		wodan_backend_close(be);
		rc = cli_open_failed("check", dev, code);
		c = cli_finish_stdout("check");
		if (rc == CLI_EXIT_PROBLEMS || rc == CLI_EXIT_OPERATIONAL)
			return rc;
		/* not explained: an unusable superblock is a problem */
		return c ? c : CLI_EXIT_PROBLEMS;
	}
	clean = rc == 0 && rep.n_problems == 0 && rep.opened;
	if (json)
		print_json(dev, &rep, clean);
	else if (quiet) {
		print_problems(stdout, dev, &rep);
		if (!clean && !rep.n_problems)
			printf("%s: %s\n", dev, rep.opened ? "problems found"
			       : "no valid root found");
	}
	else
		print_text(dev, &rep, clean);
	wodan_check_report_free(&rep);
	wodan_backend_close(be);
	c = cli_finish_stdout("check");
	if (c)
		return c;
	return clean ? CLI_EXIT_OK : CLI_EXIT_PROBLEMS;
}
