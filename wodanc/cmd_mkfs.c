/*
 * cmd_mkfs.c -- `wodanc mkfs DEVICE`: format a device or file as an empty
 * wodan image (wodan_mkfs).  Without -F it refuses a target that holds
 * anything: a wodan image, a signature libblkid knows (file system,
 * partition table, ...), or a regular file with data in its first MiB.  It
 * also refuses a geometry too small to take a first record and its flush.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char mkfs_help[] =
	"Usage: wodanc mkfs DEVICE [OPTIONS]\n"
	"\n"
	"Format DEVICE (a file, a block device, \"file:PATH\" or \"ram:SIZE\")\n"
	"as an empty wodan image: an empty root tree of generation 1, the\n"
	"superblock and the preroots.  The image spans the whole device.\n"
	"Like mke2fs, mkfs first discards every block of the image but block 0\n"
	"(a file gets holes punched; a device that cannot discard is not an\n"
	"error), telling the device that the old contents are unused.\n"
	"\n"
	"Without -F, mkfs refuses a DEVICE that already holds something: a\n"
	"wodan image, anything libblkid recognises (a file system, a partition\n"
	"table, RAID or swap signatures; as mkfs.xfs and mke2fs do), or, for a\n"
	"regular file, any non-zero byte in its first MiB.  The message names\n"
	"what was found.  An empty or all-zero file needs no -F.\n"
	"\n"
	"The image needs at least 3 blocks (the superblock, the root, and a\n"
	"free block for the next root), so --size must be at least 3 times\n"
	"the block size (768K with the default 256K blocks); a smaller image\n"
	"could not take a single record.\n"
	"\n"
	"Options:\n"
	"  -b, --block-size N\n"
	"                   block size in bytes, 512 .. 64M, a multiple of 512\n"
	"                   (of 4096 from 4096 up); K/M/G suffixes are powers of\n"
	"                   1024 (default 262144 = 256K)\n"
	"  --key-size N     key size in bytes, 1 .. 255 (default 20)\n"
	"  --size BYTES     image size; creates the file when it does not exist\n"
	"                   and extends a shorter one (sparse); K/M/G/T suffixes\n"
	"                   (default: the whole device or file; required for a\n"
	"                   new file)\n"
	"  --no-tombstones  treat the empty value as an ordinary value, not as a\n"
	"                   deletion (image readable by the original Wodan)\n"
	"                   (default: tombstones on)\n"
	"  --journal        keep a redo journal (incompat flag 0x10): a flush\n"
	"                   appends only the changes since the last flush and\n"
	"                   the tree is written at checkpoints; much less\n"
	"                   written per small commit, but the original Wodan\n"
	"                   cannot open the image (default: off)\n"
	"  --no-discard     do not discard the device before formatting\n"
	"                   (default: discard)\n"
	"  -n, --dry-run    print the geometry that would be made; write nothing\n"
	"  -F, --force      overwrite whatever DEVICE holds (a wodan image, a\n"
	"                   file system, a partition table, data)\n"
	"                   (default: refuse)\n"
	"  -q, --quiet      print nothing when formatting succeeds\n"
	"  --json           print the summary as one JSON object; on failure\n"
	"                   one object {\"error\": {...}} instead\n"
	"  -h, --help       show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"mkfs: 1 when it refuses (DEVICE holds data, too small, invalid\n"
	"geometry), 8 when DEVICE cannot be opened or written.\n"
	"\n"
	"Examples:\n"
	"  wodanc mkfs img --size 64M --block-size 4K --key-size 32\n"
	"  wodanc mkfs -q -b 64K --size 1G img\n";

enum { OPT_KS = 256, OPT_SIZE, OPT_NO_TOMB, OPT_JSON,
	OPT_NO_DISCARD, OPT_JOURNAL };

static const struct option mkfs_opts[] = {
	{ "block-size", required_argument, NULL, 'b' },
	{ "key-size", required_argument, NULL, OPT_KS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "no-tombstones", no_argument, NULL, OPT_NO_TOMB },
	{ "no-discard", no_argument, NULL, OPT_NO_DISCARD },
	{ "journal", no_argument, NULL, OPT_JOURNAL },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, 'F' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* What mkfs made (or would make), for the summary. */
struct mkfs_result {
	const char *dev;
	int dry_run, existing_image, have_info;
	char foreign[256];            /* dry run: what else DEVICE holds */
	uint32_t bs, ks, max_value;
	uint64_t blocks;
	int tombstones;
	int journal;
	int discard;                  /* discard blocks 1..N-1 first */
	struct wodan_info info;       /* valid when have_info */
};

/* Largest value a geometry accepts (doc/SPEC.md §6). */
static uint32_t max_value_for(uint32_t bs, uint32_t ks)
{
	int64_t lim = (int64_t)(15ull * bs / 16) - 35 - (int64_t)ks;

	if (lim < 0)
		return 0;
	return lim > 65535 ? 65535 : (uint32_t)lim;
}

/* Validate block/key size with the library on a small RAM device (so the
 * dry run refuses what mkfs would refuse).  Returns 0 or a wodan error. */
static int trial_geometry(uint32_t bs, uint32_t ks, int tombstones)
{
	struct wodan_backend *ram = NULL;
	struct wodan_mkfs_params p;
	int rc;

	rc = wodan_backend_ram_create(4ull * bs, &ram);
	if (rc < 0)
		return rc == WODAN_E_NOMEM ? 0 : rc; /* cannot tell: skip */
	memset(&p, 0, sizeof p);
	p.block_size_bytes = bs;
	p.key_size_bytes = ks;
	p.tombstones = tombstones;
	rc = wodan_mkfs(ram, &p, NULL);
	wodan_backend_close(ram);
	return rc;
}

/* Print the summary as text or JSON. */
static void print_result(const struct mkfs_result *r, int json)
{
	char hs[32], fsid[37] = "";

	cli_human_size(r->blocks * r->bs, hs, sizeof hs);
	if (r->have_info)
		cli_fsid_str(r->info.fsid, fsid);
	if (json) {
		struct cli_json j;
		cj_begin(&j, stdout);
		cj_str(&j, "device", r->dev);
		cj_bool(&j, "dry_run", r->dry_run);
		cj_u64(&j, "block_size_bytes", r->bs);
		cj_u64(&j, "key_size_bytes", r->ks);
		cj_u64(&j, "logical_size_blocks", r->blocks);
		cj_u64(&j, "size_bytes", r->blocks * r->bs);
		cj_u64(&j, "max_value_bytes", r->max_value);
		cj_bool(&j, "tombstones", r->tombstones);
		cj_bool(&j, "journal", r->journal);
		if (r->dry_run) {
			cj_bool(&j, "existing_image", r->existing_image);
			if (r->foreign[0])
				cj_str(&j, "existing_data", r->foreign);
			else
				cj_null(&j, "existing_data");
		}
		if (r->have_info) {
			cj_u64(&j, "incompat_flags", r->info.incompat_flags);
			cj_str(&j, "fsid", fsid);
			cj_u64(&j, "generation", r->info.generation);
			cj_u64(&j, "root_block", r->info.root_block);
			cj_u64(&j, "free_blocks", r->info.free_blocks);
		}
		cj_end(&j);
		return;
	}
	if (r->dry_run)
		printf("%s: dry run, nothing written; mkfs would make:\n",
		       r->dev);
	else
		printf("%s: formatted as a wodan image\n", r->dev);
	printf("  block size:      %u bytes\n", r->bs);
	printf("  key size:        %u bytes\n", r->ks);
	printf("  blocks:          %llu (%s)\n", (unsigned long long)r->blocks,
	       hs);
	printf("  max value size:  %u bytes\n", r->max_value);
	printf("  tombstones:      %s\n", r->tombstones ? "yes" : "no");
	printf("  journal:         %s\n", r->journal ? "yes" : "no");
	if (r->dry_run && r->existing_image)
		printf("  note: DEVICE holds a wodan image; -F is needed to "
		       "overwrite it\n");
	if (r->dry_run && r->foreign[0])
		printf("  note: DEVICE %s; -F is needed to overwrite it\n",
		       r->foreign);
	if (r->have_info) {
		printf("  fsid:            %s\n", fsid);
		printf("  generation:      %llu (root at block %llu)\n",
		       (unsigned long long)r->info.generation,
		       (unsigned long long)r->info.root_block);
	}
}

/* Fewest blocks an image needs to take a first record and flush it: the
 * superblock (block 0), the root mkfs writes, and one free block for the
 * root the first flush writes (copy-on-write never overwrites the durable
 * root).  The same for every block size and for journal images. */
#define MIN_BLOCKS 3u

/* Refuse a geometry of `blocks` blocks (from `dev_bytes` bytes) that is
 * too small; returns 0 or the exit code after a message naming the
 * smallest size that works. */
static int check_min_size(const struct mkfs_result *r, uint64_t dev_bytes,
			  const char *what)
{
	char hs[32], ms[32];

	if (dev_bytes / r->bs >= MIN_BLOCKS)
		return 0;
	cli_human_size(dev_bytes, hs, sizeof hs);
	cli_human_size((uint64_t)MIN_BLOCKS * r->bs, ms, sizeof ms);
	cli_error("mkfs", r->dev, 0, "%s %s (%llu bytes) is only %llu "
		  "block%s of %u bytes: too small to take a single record and "
		  "flush it; the smallest image with this block size is %u "
		  "blocks, --size %llu (%s)", what, hs,
		  (unsigned long long)dev_bytes,
		  (unsigned long long)(dev_bytes / r->bs),
		  dev_bytes / r->bs == 1 ? "" : "s", r->bs, MIN_BLOCKS,
		  (unsigned long long)MIN_BLOCKS * r->bs, ms);
	return CLI_EXIT_FAIL;
}

/* Look for what DEVICE holds besides nothing: a wodan image (its
 * generation in *gen, 0 when unknown) or foreign data (described in
 * r->foreign).  be is DEVICE opened read-only.  Returns 0 (nothing), 1
 * (wodan image), 2 (foreign data) or -1 (cannot read; message printed). */
static int probe_target(struct mkfs_result *r, struct wodan_backend *be,
			uint64_t *gen)
{
	int rc;

	r->foreign[0] = 0;
	if (cli_probe_image(be, gen))
		return 1;
	rc = cli_probe_foreign("mkfs", cli_device_path(r->dev), r->foreign,
			       sizeof r->foreign);
	if (rc < 0)
		return -1;
	return rc ? 2 : 0;
}

/* Dry run: compute and validate the geometry without writing.  be may be
 * NULL (the file does not exist yet; its size is size_bytes). */
static int dry_run(struct mkfs_result *r, struct wodan_backend *be,
		   uint64_t size_bytes, int json)
{
	uint64_t dev_bytes = size_bytes;
	int rc;

	if (be) {
		uint64_t gen;
		if (!dev_bytes)
			dev_bytes = be->size_bytes;
		if (be->io_size_bytes && r->bs % be->io_size_bytes) {
			cli_error("mkfs", r->dev, 0, "block size %u is not a "
				  "multiple of the device's I/O size %u",
				  r->bs, be->io_size_bytes);
			return CLI_EXIT_FAIL;
		}
		rc = probe_target(r, be, &gen);
		if (rc < 0)
			return CLI_EXIT_OPERATIONAL;
		r->existing_image = rc == 1;
	}
	r->blocks = dev_bytes / r->bs;
	rc = check_min_size(r, dev_bytes, size_bytes ? "image size" : "device size");
	if (rc)
		return rc;
	rc = trial_geometry(r->bs, r->ks, r->tombstones);
	if (rc < 0) {
		cli_error("mkfs", r->dev, rc, "block size %u with key size %u "
			  "is not a valid geometry", r->bs, r->ks);
		return CLI_EXIT_FAIL;
	}
	r->max_value = max_value_for(r->bs, r->ks);
	print_result(r, json);
	return CLI_EXIT_OK;
}

/* Format: probe, refuse without -F, mkfs, mount once for the summary. */
static int do_mkfs(struct mkfs_result *r, int missing, uint64_t size_bytes,
		   int force, int json, int quiet)
{
	struct wodan_backend *be = NULL;
	struct wodan_mkfs_params p;
	wodan_t *w = NULL;
	const char *path = cli_device_path(r->dev);
	int rc, ex = CLI_EXIT_FAIL;

	if (!missing) {
		uint64_t gen;
		rc = cli_open_device("mkfs", r->dev, WODAN_BACKEND_RDONLY, 0,
				     &be);
		if (rc)
			return rc;
		if (!size_bytes &&
		    (rc = check_min_size(r, be->size_bytes, "device size"))) {
			wodan_backend_close(be);
			return rc;
		}
		rc = force ? 0 : probe_target(r, be, &gen);
		wodan_backend_close(be);
		be = NULL;
		if (rc < 0)
			return CLI_EXIT_OPERATIONAL;
		if (rc == 1) {
			if (gen)
				cli_error("mkfs", r->dev, 0, "already holds a wodan "
					  "image (generation %llu); use -F "
					  "(--force) to overwrite it",
					  (unsigned long long)gen);
			else
				cli_error("mkfs", r->dev, 0, "looks like a wodan "
					  "image already; use -F (--force) to "
					  "overwrite it");
			return CLI_EXIT_FAIL;
		}
		if (rc == 2) {
			cli_error("mkfs", r->dev, 0, "%s; use -F (--force) to "
				  "overwrite it", r->foreign);
			return CLI_EXIT_FAIL;
		}
	}
	ex = cli_open_device("mkfs", r->dev,
			     size_bytes ? WODAN_BACKEND_CREATE : 0, size_bytes,
			     &be);
	if (ex) {
		if (missing && path)
			unlink(path);
		return ex;
	}
	memset(&p, 0, sizeof p);
	p.block_size_bytes = r->bs;
	p.key_size_bytes = r->ks;
	p.tombstones = r->tombstones;
	p.journal = r->journal;
	p.discard = r->discard;
	p.logical_size_blocks = size_bytes / r->bs; /* 0: whole device */
	rc = wodan_mkfs(be, &p, NULL);
	if (rc < 0) {
		cli_error("mkfs", r->dev, rc, "cannot format (block size %u, "
			  "key size %u, %llu bytes)", r->bs, r->ks,
			  (unsigned long long)be->size_bytes);
		ex = cli_exit_code(rc);
		goto fail;
	}
	/* read-only: a writable open of a journal image would write a root */
	struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
	rc = wodan_open(be, &ro, &w);
	if (rc < 0) {
		cli_error("mkfs", r->dev, rc, "the new image does not mount");
		ex = cli_exit_code(rc);
		goto fail;
	}
	wodan_get_info(w, &r->info);
	r->have_info = 1;
	rc = wodan_close(w);
	if (rc < 0) {
		cli_error("mkfs", r->dev, rc, "closing the new image failed");
		ex = cli_exit_code(rc);
		goto fail;
	}
	wodan_backend_close(be);
	r->blocks = r->info.logical_size_blocks;
	r->max_value = r->info.max_value_bytes;
	r->tombstones = r->info.tombstones;
	r->journal = (r->info.incompat_flags & 0x10u) != 0;
	if (json || !quiet)
		print_result(r, json);
	return CLI_EXIT_OK;
fail:
	wodan_backend_close(be);
	if (missing && path)
		unlink(path); /* do not leave a half-made new file behind */
	return ex;
}

/* wodanc mkfs DEVICE [OPTIONS] */
int cmd_mkfs(int argc, char **argv)
{
	struct mkfs_result r;
	struct wodan_backend *be = NULL;
	uint64_t v, size_bytes = 0;
	int c, json = 0, force = 0, dry = 0, quiet = 0, missing, rc;

	memset(&r, 0, sizeof r);
	r.bs = WODAN_DEFAULT_BLOCK_SIZE;
	r.ks = WODAN_DEFAULT_KEY_SIZE;
	r.tombstones = 1;
	r.discard = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":b:nFqh", mkfs_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (cli_parse_size(optarg, &v) < 0 ||
			    cli_check_block_size(v) < 0)
				return cli_usage("mkfs", "invalid --block-size "
						 "'%s': need 512 .. 64M, a multiple "
						 "of 512 (of 4096 from 4096 up)",
						 optarg);
			r.bs = (uint32_t)v;
			break;
		case OPT_KS:
			if (cli_parse_u64(optarg, &v) < 0 || v < 1 || v > 255)
				return cli_usage("mkfs", "invalid --key-size '%s': "
						 "need 1 .. 255", optarg);
			r.ks = (uint32_t)v;
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, &v) < 0 || v == 0)
				return cli_usage("mkfs", "invalid --size '%s': need "
						 "a positive number of bytes with "
						 "an optional K/M/G/T suffix",
						 optarg);
			size_bytes = v;
			break;
		case OPT_NO_TOMB: r.tombstones = 0; break;
		case OPT_NO_DISCARD: r.discard = 0; break;
		case OPT_JOURNAL: r.journal = 1; break;
		case 'n': dry = 1; break;
		case 'F': force = 1; break;
		case 'q': quiet = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': return cli_help("mkfs", mkfs_help);
		default: return cli_getopt_error("mkfs", c, argv);
		}
	}
	rc = cli_device_operand("mkfs", argc, argv, &r.dev);
	if (rc)
		return rc;
	cli_json_errors(json);
	r.dry_run = dry;
	missing = cli_device_missing(r.dev);
	if (missing && !size_bytes) {
		cli_error("mkfs", r.dev, 0, "No such file or directory; give "
			  "--size BYTES to create it");
		rc = CLI_EXIT_OPERATIONAL;
	} else if (size_bytes && (rc = check_min_size(&r, size_bytes,
						      "image size"))) {
		;
	} else if (!dry) {
		rc = do_mkfs(&r, missing, size_bytes, force, json, quiet);
	} else if (!missing && (rc = cli_open_device("mkfs", r.dev,
				WODAN_BACKEND_RDONLY, 0, &be))) {
		;
	} else {
		rc = dry_run(&r, be, size_bytes, json);
		wodan_backend_close(be);
	}
	c = cli_finish_stdout("mkfs");
	return rc ? rc : c;
}
