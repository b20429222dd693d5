/*
 * cmd_restore.c -- `wodanc restore DEVICE`: read a dump (CBOR, wodan_dump.h,
 * or its text form, textfmt.h) from stdin or a file and insert its records
 * into an image, optionally formatting the device first with the dump's key
 * size (refusing to format an existing image without -F, as mkfs does).
 *
 * The records are applied here, one by one, with automatic flushing off:
 * every flush is ours, so the number of records made durable is known
 * exactly.  Whatever stops the restore (a malformed record, no space, an
 * I/O error, SIGINT/SIGTERM), the records before the stopping one are
 * flushed and the report says how many are durable and at which
 * generation.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "safeout.h"
#include "textfmt.h"

static const char restore_help[] =
	"Usage: wodanc restore DEVICE [OPTIONS]\n"
	"\n"
	"Read a wodan dump (see 'wodanc dump') from standard input or FILE and\n"
	"insert every record into the image on DEVICE, then flush.  Records\n"
	"already in the image are overwritten by the dump's values; with\n"
	"tombstones, an empty value deletes the key.\n"
	"\n"
	"Whatever stops a restore early (a malformed record, out of space, an\n"
	"I/O error, SIGINT or SIGTERM), the records before the stopping one\n"
	"are flushed, and the report says how many records are durable, at\n"
	"which generation, and which record (number, key in hex) stopped it.\n"
	"The image stays consistent.  A second SIGINT kills at once (the image\n"
	"is still consistent, at the last flush).\n"
	"\n"
	"Options:\n"
	"  -i, -f, --input FILE\n"
	"                     read the dump from FILE (default: standard input;\n"
	"                     \"-\" also means standard input)\n"
	"  --format FORMAT    cbor, text or auto (default): auto tells them\n"
	"                     apart by the first byte.  The text form (see\n"
	"                     'wodanc dump --help') is read strictly: a header\n"
	"                     line 'wodan-dump-text 1 key_size=K tombstones=T\n"
	"                     ...', one 'KEYHEX VALUEHEX' (or 'KEYHEX -') line\n"
	"                     per record, in any order, and 'end records=N'\n"
	"                     (a bare 'end' line skips the count check, for\n"
	"                     pipelines that drop or add records); a bad line\n"
	"                     is refused naming its number\n"
	"  --mkfs             format DEVICE first with the dump's key size and\n"
	"                     tombstones flag (default: restore into the\n"
	"                     existing image); refuses a DEVICE that holds a\n"
	"                     wodan image unless -F is given\n"
	"  -F, --force        with --mkfs: overwrite an existing wodan image\n"
	"  --block-size N     block size for --mkfs, K/M suffixes allowed\n"
	"                     (default 262144 = 256K)\n"
	"  --size BYTES       image size for --mkfs; creates a missing file\n"
	"                     (default: the whole device or file)\n"
	"  --json             print the summary (also of a failed or interrupted\n"
	"                     restore: complete, interrupted, records durable,\n"
	"                     generation, failed_record, failed_key, error) as\n"
	"                     one JSON object\n"
	"  -h, --help         show this help\n"
	"\n"
	"A progress line is shown on standard error when it is a terminal.\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"restore: 1 malformed dump, key size differs from the image's, out of\n"
	"space, interrupted, or --mkfs over an image without -F; 4 the image\n"
	"is damaged; 8 I/O error, cannot read the input.\n"
	"\n"
	"Examples:\n"
	"  wodanc dump old.img | wodanc restore new.img --mkfs --size 1G\n"
	"  wodanc dump img --format text | sed '/^ff/d; s/^end .*/end/' |\n"
	"    wodanc restore img2        (every key except those starting ff)\n"
	"  wodanc restore img -f backup.cbor --json\n";

enum { OPT_MKFS = 256, OPT_BS, OPT_SIZE, OPT_JSON, OPT_FORMAT };

static const struct option restore_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "mkfs", no_argument, NULL, OPT_MKFS },
	{ "force", no_argument, NULL, 'F' },
	{ "block-size", required_argument, NULL, OPT_BS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Records between progress lines. */
#define PROGRESS_EVERY 1000u
/* NEEDS_FLUSH rounds for one record before it counts as out of space (a
 * retry that needs a flush again has reorganised the tree; the library
 * answers OUT_OF_SPACE itself once nothing is dirty). */
#define MAX_FLUSHES_PER_RECORD 16

enum fmt { FMT_AUTO, FMT_CBOR, FMT_TEXT };

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
	int mkfs, force, json;
	enum fmt fmt;
	uint32_t bs;
	uint64_t size_bytes;
};

/* The records' source: a CBOR reader or a text reader. */
struct source {
	wodan_dump_reader *rd;
	textfmt_reader *tr;
	struct input *in;
	const struct wodan_dump_header *h;
};

/* What happened, for the report. */
struct outcome {
	uint64_t read;       /* records taken from the dump */
	uint64_t applied;    /* records inserted/deleted in memory */
	uint64_t durable;    /* records covered by a successful flush */
	uint64_t gen;        /* generation of the last successful flush */
	int code;            /* the stopping error, 0 if none */
	int input_error;     /* the error is the dump's, not the image's */
	int interrupted;     /* signal number, 0 if none */
	int have_key;        /* failed_key is valid */
	uint8_t key[255];    /* key of the record that failed */
	char msg[400];       /* the error's one-line description */
};

/* Name of the input for messages. */
static const char *input_name(const struct restore_args *a)
{
	return a->input ? a->input : "standard input";
}

/* Next record from the source: 1, 0 at the end, or a negative error with
 * o->msg set. */
static int src_next(struct source *s, const struct restore_args *a,
		    const uint8_t **key, const uint8_t **val, size_t *len,
		    struct outcome *o)
{
	const struct wodan_error_detail *d;
	int r;

	if (s->tr) {
		r = textfmt_reader_next(s->tr, key, val, len);
		if (r < 0)
			snprintf(o->msg, sizeof o->msg, "%s: %s", input_name(a),
				 textfmt_reader_error(s->tr));
		return r;
	}
	r = wodan_dump_reader_next(s->rd, key, val, len);
	if (r < 0) {
		d = wodan_last_error();
		if (s->in->err)
			snprintf(o->msg, sizeof o->msg, "%s: reading: %s",
				 input_name(a), strerror(s->in->err));
		else
			snprintf(o->msg, sizeof o->msg, "%s: %s", input_name(a),
				 d->code == r ? d->message : wodan_strerror(r));
	}
	return r;
}

/* Bytes of the dump consumed so far. */
static uint64_t src_offset(const struct source *s)
{
	return s->tr ? textfmt_reader_offset(s->tr)
		     : wodan_dump_reader_offset(s->rd);
}

/* Format the device for --mkfs with the dump header's key size and
 * tombstones flag, refusing an existing image without -F.  Opens *be.
 * Returns an exit code. */
static int format_for_dump(const struct restore_args *a,
			   const struct wodan_dump_header *h,
			   struct wodan_backend **be)
{
	struct wodan_mkfs_params p;
	int missing = cli_device_missing(a->dev), rc;
	uint64_t gen = 0;

	if (missing && !a->size_bytes) {
		cli_error("restore", a->dev, 0, "no such file; give --size "
			  "BYTES with --mkfs to create it");
		return CLI_EXIT_FAIL;
	}
	rc = cli_open_device("restore", a->dev,
			     a->size_bytes ? WODAN_BACKEND_CREATE : 0,
			     a->size_bytes, be);
	if (rc)
		return rc;
	if (!missing && !a->force && cli_probe_image(*be, &gen)) {
		if (gen)
			cli_error("restore", a->dev, 0, "holds a wodan image "
				  "(generation %llu); --mkfs would destroy it: "
				  "use -F (--force) to overwrite it, or leave "
				  "out --mkfs to restore into it",
				  (unsigned long long)gen);
		else
			cli_error("restore", a->dev, 0, "looks like a wodan "
				  "image already; use -F (--force) with --mkfs "
				  "to overwrite it");
		return CLI_EXIT_FAIL;
	}
	memset(&p, 0, sizeof p);
	p.block_size_bytes = a->bs;
	p.key_size_bytes = h->key_size_bytes;
	p.tombstones = h->tombstones;
	p.logical_size_blocks = a->size_bytes / a->bs;
	rc = wodan_mkfs(*be, &p, NULL);
	if (rc < 0) {
		cli_error("restore", a->dev, rc, "cannot format (block size %u, "
			  "key size %u)", a->bs, h->key_size_bytes);
		return cli_exit_code(rc);
	}
	return CLI_EXIT_OK;
}

/* Flush (final: a checkpoint, so that on a journal image the close that
 * follows has nothing left to write and the generation reported is the
 * image's); on success every applied record is durable.  0 or the
 * error. */
static int flush_now(wodan_t *w, struct outcome *o, int final)
{
	uint64_t gen = 0;
	int r = final ? wodan_checkpoint(w, &gen) : wodan_flush(w, &gen);

	if (r == 0) {
		o->durable = o->applied;
		o->gen = gen;
	}
	return r;
}

/* Apply one record: insert, or delete for an empty value in a tombstone
 * dump; on NEEDS_FLUSH flush and retry.  0 or the error (nothing of this
 * record changed). */
static int apply(wodan_t *w, const struct wodan_info *info,
		 const struct wodan_dump_header *h, const uint8_t *key,
		 const uint8_t *val, size_t len, struct outcome *o)
{
	int del = len == 0 && h->tombstones, flushes = 0, r;

	if (len == 0 && !h->tombstones != !info->tombstones) {
		snprintf(o->msg, sizeof o->msg, "%s", h->tombstones ?
			 "an empty value (a deletion), but the image has no "
			 "tombstones" : "an empty value, but the image has "
			 "tombstones: it would delete the key");
		return WODAN_E_NOT_SUPPORTED;
	}
	for (;;) {
		r = del ? wodan_delete(w, key, info->key_size_bytes)
			: wodan_insert(w, key, info->key_size_bytes, val, len);
		if (r != WODAN_E_NEEDS_FLUSH)
			break;
		if (flushes++ >= MAX_FLUSHES_PER_RECORD) {
			snprintf(o->msg, sizeof o->msg, "no room after %d "
				 "flushes", MAX_FLUSHES_PER_RECORD);
			return WODAN_E_OUT_OF_SPACE;
		}
		r = flush_now(w, o, 0);
		if (r)
			break;
	}
	if (r) {
		const struct wodan_error_detail *d = wodan_last_error();
		snprintf(o->msg, sizeof o->msg, "%s", d->code == r &&
			 d->message[0] ? d->message : wodan_strerror(r));
	}
	return r;
}

/* Key as hex (2 * ks + 1 bytes). */
static void key_hex(const uint8_t *k, uint32_t ks, char *out)
{
	static const char hd[] = "0123456789abcdef";

	for (uint32_t i = 0; i < ks; i++) {
		out[2 * i] = hd[k[i] >> 4];
		out[2 * i + 1] = hd[k[i] & 15];
	}
	out[2 * ks] = 0;
}

/* The report: a line on stdout (success) or stderr (anything else), or
 * one JSON object on stdout. */
static void report(const struct restore_args *a, const struct outcome *o,
		   uint32_t ks, uint64_t bytes, double secs)
{
	char hs[40] = "", kh[511] = "";
	int complete = !o->code && !o->interrupted;
	const char *en = wodan_strerror(o->code);
	int named = !strncmp(o->msg, en, strlen(en));

	if (o->have_key)
		key_hex(o->key, ks, kh);
	if (!complete) {
		fprintf(stderr, "wodanc restore: %s: ", a->dev);
		if (o->interrupted)
			fprintf(stderr, "interrupted by signal %d after %llu "
				"records", o->interrupted,
				(unsigned long long)o->applied);
		else if (o->have_key)
			/* the error's name, unless the message starts with it */
			fprintf(stderr, "record %llu (key %s, %s) failed: %s%s"
				"%s", (unsigned long long)o->applied, kh,
				input_name(a), named ? "" : en,
				named ? "" : ": ", o->msg);
		else
			fprintf(stderr, "%s%s", o->input_error ? "" :
				"stopped: ", o->msg);
		if (o->durable)
			fprintf(stderr, "; the first %llu records of the dump "
				"(0..%llu) are durable",
				(unsigned long long)o->durable,
				(unsigned long long)o->durable - 1);
		else
			fprintf(stderr, "; no record of the dump was applied");
		fprintf(stderr, ", image at generation %llu; the image is "
			"consistent\n", (unsigned long long)o->gen);
		if (o->durable != o->applied)
			fprintf(stderr, "wodanc restore: %s: the last flush "
				"failed: records %llu..%llu were not made "
				"durable\n", a->dev,
				(unsigned long long)o->durable,
				(unsigned long long)o->applied - 1);
	}
	if (a->json) {
		struct cli_json j;
		if (cli_json_error_printed())
			return;
		cj_begin(&j, stdout);
		cj_str(&j, "device", a->dev);
		cj_bool(&j, "complete", complete);
		cj_bool(&j, "interrupted", o->interrupted != 0);
		cj_u64(&j, "records", o->durable);
		cj_u64(&j, "bytes", bytes);
		cj_double(&j, "seconds", secs);
		cj_u64(&j, "generation", o->gen);
		if (!complete) {
			cj_u64(&j, "records_read", o->read);
			if (o->have_key) {
				cj_u64(&j, "failed_record", o->applied);
				cj_str(&j, "failed_key", kh);
			} else {
				cj_null(&j, "failed_record");
				cj_null(&j, "failed_key");
			}
		}
		if (o->code) {
			cj_obj(&j, "error");
			cj_int(&j, "code", o->code);
			cj_str(&j, "message", wodan_strerror(o->code));
			cj_str(&j, "detail", o->msg);
			cj_close_obj(&j);
		}
		cj_end(&j);
		return;
	}
	if (!complete)
		return;
	if (bytes >= 1024) {
		strcpy(hs, ", ");
		cli_human_size(bytes, hs + 2, sizeof hs - 2);
	}
	printf("%s: restored %llu records (%llu bytes of dump%s) in %.2f s, "
	       "generation %llu\n", a->dev, (unsigned long long)o->durable,
	       (unsigned long long)bytes, hs, secs, (unsigned long long)o->gen);
}

/* The exit code of a restore that stopped with o->code. */
static int outcome_exit(const struct outcome *o, const struct source *s)
{
	if (o->interrupted && !o->code)
		return CLI_EXIT_FAIL;
	if (o->input_error)
		return o->code == WODAN_E_IO_READ ||
		       (s->in && s->in->err) ? CLI_EXIT_OPERATIONAL
					     : CLI_EXIT_FAIL;
	return cli_exit_code(o->code);
}

/* The restore proper, with the dump header already read. */
static int restore_into(const struct restore_args *a, struct source *s)
{
	const struct wodan_dump_header *h = s->h;
	const uint8_t *key, *val;
	struct wodan_backend *be = NULL;
	struct wodan_open_opts oo;
	struct cli_progress prog;
	struct wodan_info info;
	struct outcome o;
	wodan_t *w = NULL;
	double t0 = cli_now();
	size_t len;
	int rc, ex = CLI_EXIT_FAIL;

	memset(&o, 0, sizeof o);
	if (a->mkfs) {
		ex = format_for_dump(a, h, &be);
		if (ex != CLI_EXIT_OK)
			goto out;
	} else if ((rc = cli_open_device("restore", a->dev, 0, 0, &be))) {
		ex = rc;
		goto out;
	}
	memset(&oo, 0, sizeof oo);
	oo.flags = WODAN_OPEN_NO_AUTOFLUSH;   /* every flush is ours */
	rc = wodan_open(be, &oo, &w);
	if (rc < 0) {
		ex = cli_open_failed("restore", a->dev, rc);
		goto out;
	}
	wodan_get_info(w, &info);
	o.gen = info.generation;
	if (info.key_size_bytes != h->key_size_bytes) {
		cli_error("restore", a->dev, 0, "%s: the dump header (%s) has "
			  "key size %u, the image has key size %u",
			  input_name(a), s->tr ? "line 1" : "byte offset 0",
			  h->key_size_bytes, info.key_size_bytes);
		ex = CLI_EXIT_FAIL;
		goto out;
	}
	if (!h->tombstones != !info.tombstones)
		fprintf(stderr, "wodanc restore: %s: warning: the dump %s "
			"tombstones but the image %s; a record with an empty "
			"value will fail\n", a->dev,
			h->tombstones ? "uses" : "does not use",
			info.tombstones ? "does" : "does not");
	if (s->tr)
		textfmt_reader_set_max_value(s->tr, info.max_value_bytes);
	else
		wodan_dump_reader_set_max_value(s->rd, info.max_value_bytes);
	cli_progress_init(&prog, "restore", "records");
	prog.rd = s->rd;
	for (;;) {
		rc = src_next(s, a, &key, &val, &len, &o);
		if (rc == 0)
			break;
		if (rc < 0) {
			o.code = rc;
			o.input_error = 1;
			break;
		}
		o.read++;
		if (safeout_stop_signal)     /* stop before this record */
			break;
		rc = apply(w, &info, h, key, val, len, &o);
		if (rc < 0) {
			o.code = rc;
			o.have_key = 1;
			memcpy(o.key, key, info.key_size_bytes);
			break;
		}
		o.applied++;
		if (o.applied % PROGRESS_EVERY == 0)
			cli_progress_cb(&prog, o.applied, 0);
	}
	cli_progress_end(&prog);
	o.interrupted = (int)safeout_stop_signal;
	/* make every record applied durable, whatever stopped us */
	rc = flush_now(w, &o, 1);
	if (rc < 0 && !o.code) {
		const struct wodan_error_detail *d = wodan_last_error();
		o.code = rc;
		snprintf(o.msg, sizeof o.msg, "the final flush failed: %s",
			 d->code == rc ? d->message : wodan_strerror(rc));
	}
	if (rc == 0) {
		rc = wodan_close(w);   /* a checkpoint on a journal image */
		w = NULL;
		if (rc < 0 && !o.code) {
			const struct wodan_error_detail *d = wodan_last_error();
			o.code = rc;
			snprintf(o.msg, sizeof o.msg, "closing the image "
				 "failed: %s", d->code == rc ? d->message
				 : wodan_strerror(rc));
		}
	}
	report(a, &o, info.key_size_bytes, src_offset(s), cli_now() - t0);
	ex = o.code || o.interrupted ? outcome_exit(&o, s) : CLI_EXIT_OK;
out:
	if (w)
		wodan_abandon(w);
	wodan_backend_close(be);
	return ex;
}

/* Pick the format: --format, or by the first byte (d9 = the CBOR tag,
 * 'w' = a text header). */
static enum fmt detect(FILE *f, enum fmt want)
{
	int c;

	if (want != FMT_AUTO)
		return want;
	c = getc(f);
	if (c == EOF)
		return FMT_CBOR;
	ungetc(c, f);
	return c == 'w' ? FMT_TEXT : FMT_CBOR;
}

/* wodanc restore DEVICE [OPTIONS] */
int cmd_restore(int argc, char **argv)
{
	struct restore_args a;
	struct input in = { NULL, 0 };
	struct source s;
	uint64_t v;
	int c, rc, ex, bs_given = 0;

	memset(&a, 0, sizeof a);
	memset(&s, 0, sizeof s);
	a.bs = WODAN_DEFAULT_BLOCK_SIZE;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":i:f:Fh", restore_opts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
		case 'f':
			a.input = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "cbor"))
				a.fmt = FMT_CBOR;
			else if (!strcmp(optarg, "text"))
				a.fmt = FMT_TEXT;
			else if (!strcmp(optarg, "auto"))
				a.fmt = FMT_AUTO;
			else
				return cli_usage("restore", "invalid --format "
						 "'%s': cbor, text or auto",
						 optarg);
			break;
		case OPT_MKFS: a.mkfs = 1; break;
		case 'F': a.force = 1; break;
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
		case 'h': return cli_help("restore", restore_help);
		default: return cli_getopt_error("restore", c, argv);
		}
	}
	rc = cli_device_operand("restore", argc, argv, &a.dev);
	if (rc)
		return rc;
	if (!a.mkfs && (bs_given || a.size_bytes || a.force))
		return cli_usage("restore", "--block-size, --size and -F need "
				 "--mkfs");
	if (a.json)
		cli_json_errors(1);
	if (a.mkfs && a.size_bytes && a.size_bytes / a.bs < 2) {
		cli_error("restore", a.dev, 0, "--size %llu holds fewer than 2 "
			  "blocks of %u bytes",
			  (unsigned long long)a.size_bytes, a.bs);
		return CLI_EXIT_FAIL;
	}
	safeout_catch_signals();
	if (a.input) {
		in.f = fopen(a.input, "rb");
		if (!in.f) {
			cli_error("restore", a.dev, 0, "cannot open %s: %s",
				  a.input, strerror(errno));
			return CLI_EXIT_OPERATIONAL;
		}
	} else {
		if (isatty(STDIN_FILENO)) {
			cli_error("restore", a.dev, 0, "refusing to read a dump "
				  "from a terminal; use -i FILE or a pipe");
			return CLI_EXIT_FAIL;
		}
		in.f = stdin;
	}
	s.in = &in;
	if (detect(in.f, a.fmt) == FMT_TEXT) {
		rc = textfmt_reader_new(in.f, &s.tr);
		if (rc < 0)
			cli_error("restore", a.dev, 0, "%s: bad text dump "
				  "header: %s", input_name(&a),
				  s.tr ? textfmt_reader_error(s.tr)
				  : "out of memory");
		else
			s.h = textfmt_reader_header(s.tr);
	} else {
		rc = wodan_dump_reader_new(read_input, &in, 0, &s.rd);
		if (rc < 0 && in.err)
			cli_error("restore", a.dev, 0, "reading %s: %s",
				  input_name(&a), strerror(in.err));
		else if (rc < 0)
			cli_error("restore", a.dev, rc, "%s: bad dump header",
				  input_name(&a));
		else
			s.h = wodan_dump_reader_header(s.rd);
	}
	if (rc < 0)
		ex = rc == WODAN_E_IO_READ || rc == WODAN_E_NOMEM || in.err
		     ? CLI_EXIT_OPERATIONAL : CLI_EXIT_FAIL;
	else
		ex = restore_into(&a, &s);
	if (s.rd)
		wodan_dump_reader_free(s.rd);
	textfmt_reader_free(s.tr);
	if (in.f && in.f != stdin)
		fclose(in.f);
	rc = cli_finish_stdout("restore");
	return ex ? ex : rc;
}
