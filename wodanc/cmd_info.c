/*
 * cmd_info.c -- `wodanc info DEVICE`: what a quick read-only mount tells
 * about an image (wodan_get_info, wodan_get_stats): geometry, generation,
 * usage, flags, fsid, value limit.  No leaf is read: the mount walks the
 * inner nodes only (WODAN_OPEN_FAST_SCAN), so keys are not counted here.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "keyarg.h"

static const char info_help[] =
	"Usage: wodanc info DEVICE [OPTIONS]\n"
	"\n"
	"Show the geometry and state of the image on DEVICE: block size, key\n"
	"size, max value size, size in blocks and bytes, the newest durable\n"
	"generation and its root, used and free blocks, the incompat flags by\n"
	"name (rdepth, fsid, value_count: always; tombstones: keys can be\n"
	"deleted; journal: a redo journal), the fsid, and on a journal image\n"
	"the commits not yet written into the tree.  The image is opened\n"
	"read-only with a quick mount that reads the inner nodes, not the\n"
	"leaves: it does not count keys and does not verify leaves (use\n"
	"'wodanc check' for both, or 'wodanc ls DEVICE | wc -l').\n"
	"\n"
	"Options:\n"
	"  --json      one JSON object: device, block_size, key_size,\n"
	"              max_value_bytes, logical_size_blocks, device_bytes,\n"
	"              generation, root_block, depth, used_blocks, free_blocks,\n"
	"              incompat_flags (number), flags (names), tombstones,\n"
	"              journal, fsid, first_block_written, and with a journal\n"
	"              journal_commits_replayed; errors as a JSON error object\n"
	"  -h, --help  show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  wodanc info img\n"
	"  wodanc info img --json | jq .max_value_bytes\n";

enum { OPT_JSON = 256 };

static const struct option info_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Incompat flag bits by name (doc/SPEC.md, superblock flags). */
static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ 0x1, "rdepth" },
	{ 0x2, "fsid" },
	{ 0x4, "value_count" },
	{ 0x8, "tombstones" },
	{ 0x10, "journal" },
};

#define N_FLAGS (sizeof flag_names / sizeof flag_names[0])

/* "rdepth fsid value_count tombstones" (unknown bits as 0x..). */
static void flags_str(uint32_t flags, char *buf, size_t n)
{
	size_t i, o = 0;
	uint32_t rest = flags;

	buf[0] = 0;
	for (i = 0; i < N_FLAGS; i++)
		if (flags & flag_names[i].bit) {
			o += (size_t)snprintf(buf + o, n - o, "%s%s",
					      o ? " " : "", flag_names[i].name);
			rest &= ~flag_names[i].bit;
			if (o >= n)
				return;
		}
	if (rest)
		snprintf(buf + o, n - o, "%s0x%x", o ? " " : "", rest);
}

/* wodanc info DEVICE [--json] */
int cmd_info(int argc, char **argv)
{
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	struct wodan_stats st;
	wodan_t *w = NULL;
	const char *dev;
	char fsid[37], fl[128], h1[32], h2[32], h3[32];
	uint64_t dev_bytes;
	int c, ex, json = 0, journal;
	size_t i;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", info_opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case 'h': return cli_help("info", info_help);
		default: return cli_getopt_error("info", c, argv);
		}
	}
	ex = cli_device_operand("info", argc, argv, &dev);
	if (ex)
		return ex;
	cli_json_errors(json);
	ex = kv_open("info", dev, 0, &be, &w);
	if (ex) {
		c = cli_finish_stdout("info");
		return ex;
	}
	wodan_get_info(w, &info);
	wodan_get_stats(w, &st);
	ex = kv_close("info", dev, be, w);
	if (ex)
		return ex;
	journal = (info.incompat_flags & 0x10) != 0;
	dev_bytes = info.logical_size_blocks <= UINT64_MAX /
		    info.block_size_bytes ?
		    info.logical_size_blocks * info.block_size_bytes
		    : UINT64_MAX;
	cli_fsid_str(info.fsid, fsid);
	flags_str(info.incompat_flags, fl, sizeof fl);
	if (json) {
		struct cli_json j;

		cj_begin(&j, stdout);
		cj_str(&j, "device", dev);
		cj_u64(&j, "block_size", info.block_size_bytes);
		cj_u64(&j, "key_size", info.key_size_bytes);
		cj_u64(&j, "max_value_bytes", info.max_value_bytes);
		cj_u64(&j, "logical_size_blocks", info.logical_size_blocks);
		cj_u64(&j, "device_bytes", dev_bytes);
		cj_u64(&j, "generation", info.generation);
		cj_u64(&j, "root_block", info.root_block);
		cj_u64(&j, "depth", info.depth);
		cj_u64(&j, "used_blocks", info.used_blocks);
		cj_u64(&j, "free_blocks", info.free_blocks);
		cj_u64(&j, "incompat_flags", info.incompat_flags);
		cj_arr(&j, "flags");
		for (i = 0; i < N_FLAGS; i++)
			if (info.incompat_flags & flag_names[i].bit)
				cj_str(&j, NULL, flag_names[i].name);
		cj_close_arr(&j);
		cj_bool(&j, "tombstones", info.tombstones);
		cj_bool(&j, "journal", journal);
		cj_str(&j, "fsid", fsid);
		cj_u64(&j, "first_block_written", info.first_block_written);
		if (journal)
			cj_u64(&j, "journal_commits_replayed",
			       st.journal_replayed_commits);
		cj_end(&j);
		return cli_finish_stdout("info");
	}
	cli_human_size(info.block_size_bytes, h1, sizeof h1);
	cli_human_size(dev_bytes, h2, sizeof h2);
	printf("device:              %s\n", dev);
	printf("block size:          %u bytes (%s)\n", info.block_size_bytes,
	       h1);
	printf("key size:            %u bytes\n", info.key_size_bytes);
	printf("max value size:      %u bytes\n", info.max_value_bytes);
	printf("blocks:              %llu (%s, %llu bytes)\n",
	       (unsigned long long)info.logical_size_blocks, h2,
	       (unsigned long long)dev_bytes);
	printf("generation:          %llu\n",
	       (unsigned long long)info.generation);
	printf("root:                block %llu, depth %u\n",
	       (unsigned long long)info.root_block, info.depth);
	cli_human_size(info.used_blocks * info.block_size_bytes, h1, sizeof h1);
	cli_human_size(info.free_blocks * info.block_size_bytes, h3, sizeof h3);
	printf("used blocks:         %llu (%s)\n",
	       (unsigned long long)info.used_blocks, h1);
	printf("free blocks:         %llu (%s)\n",
	       (unsigned long long)info.free_blocks, h3);
	printf("flags:               0x%x (%s)\n", info.incompat_flags, fl);
	printf("tombstones:          %s\n", info.tombstones ? "yes (keys can "
	       "be deleted)" : "no (keys cannot be deleted)");
	if (journal)
		printf("journal:             yes, %llu commits not yet in the "
		       "tree (replayed at open)\n",
		       (unsigned long long)st.journal_replayed_commits);
	else
		printf("journal:             no\n");
	printf("fsid:                %s\n", fsid);
	printf("first block written: %llu\n",
	       (unsigned long long)info.first_block_written);
	return cli_finish_stdout("info");
}
