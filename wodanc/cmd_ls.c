/*
 * cmd_ls.c -- `wodanc ls DEVICE`: list the live keys of an image (or a key
 * range of it) in ascending order with their value sizes, as lines or as
 * one JSON object streamed while the tree is walked (wodan_iterate).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "keyarg.h"

static const char ls_help[] =
	"Usage: wodanc ls DEVICE [OPTIONS]\n"
	"\n"
	"List the live keys of the image on DEVICE in ascending order (bytewise,\n"
	"as memcmp compares them), one per line: the key, a space, the size of\n"
	"its value in bytes.  The image is opened read-only.\n"
	"\n"
	"Options:\n"
	"  --from P      start at the first key >= P padded with 00 bytes\n"
	"  --to P        stop after the last key <= P padded with ff bytes, so\n"
	"                every key starting with P is included\n"
	"  --prefix P    only keys starting with P (--from P --to P)\n"
	"                P is a key or a shorter prefix: hex, 1 to key-size\n"
	"                bytes (an even number of hex digits), or text with\n"
	"                --key-text (not padded).  Given together, the\n"
	"                options narrow the range further\n"
	"  --limit N     stop after N keys\n"
	"  --values      add the value as hex as a third field ('-' when\n"
	"                empty); with --json a \"value\" member\n"
	"  --key-text    keys are text: printed with every byte outside\n"
	"                0x21..0x7e and the backslash written \\xNN (\\\\ for\n"
	"                a backslash) and trailing zero bytes left out;\n"
	"                --from/--to/--prefix are taken as text the same way\n"
	"  --json        one JSON object:\n"
	"                  {\"keys\": [{\"key\": \"0000002a\", \"size\": 5}, ...],\n"
	"                   \"count\": 1}\n"
	"                printed while the keys are read; errors as a JSON\n"
	"                error object (after output began: an \"error\" member\n"
	"                before \"count\", and exit status non-zero)\n"
	"  -h, --help    show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"ls: an empty range is not an error (exit 0, nothing printed).\n"
	"\n"
	"Examples:\n"
	"  wodanc ls img\n"
	"  0000000a 5\n"
	"  0000002a 11\n"
	"  wodanc ls img --prefix 0000 --limit 10\n"
	"  wodanc ls img --from 00000010 --to 000000ff --json\n"
	"  wodanc ls img --key-text --prefix 'user:' --values\n";

enum {
	OPT_FROM = 256, OPT_TO, OPT_PREFIX, OPT_LIMIT, OPT_VALUES,
	OPT_KEY_TEXT, OPT_JSON
};

static const struct option ls_opts[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "values", no_argument, NULL, OPT_VALUES },
	{ "key-text", no_argument, NULL, OPT_KEY_TEXT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The walk's state. */
struct ls_state {
	uint32_t ks;
	int text, json, values;
	uint64_t limit;          /* UINT64_MAX: no limit */
	uint64_t count;          /* keys printed */
	uint8_t last[KEYARG_MAX_KEY]; /* the last key printed */
	int stopped_output;      /* stdout failed: stop walking */
	struct cli_json j;
	char *kbuf;              /* KEYARG_FMT_SIZE(ks) */
	char *vbuf;              /* 2 * max value + 1, with --values */
};

static void value_hex(char *o, const uint8_t *val, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		*o++ = hx[val[i] >> 4];
		*o++ = hx[val[i] & 15];
	}
	*o = 0;
}

/* wodan_iterate callback: print one key; stop at --limit or when stdout
 * failed (a full disk, a closed pipe: keep the walk short). */
static int ls_key(void *arg, const uint8_t *key, const uint8_t *val,
		  size_t val_len)
{
	struct ls_state *s = arg;

	if (s->count >= s->limit)
		return 1;
	keyarg_format(key, s->ks, s->text, s->kbuf);
	if (s->values)
		value_hex(s->vbuf, val, val_len);
	if (s->json) {
		cj_obj(&s->j, NULL);
		cj_str(&s->j, "key", s->kbuf);
		cj_u64(&s->j, "size", val_len);
		if (s->values)
			cj_str(&s->j, "value", s->vbuf);
		cj_close_obj(&s->j);
	} else if (s->values) {
		printf("%s %zu %s\n", s->kbuf, val_len,
		       val_len ? s->vbuf : "-");
	} else {
		printf("%s %zu\n", s->kbuf, val_len);
	}
	memcpy(s->last, key, s->ks);
	s->count++;
	if (ferror(stdout)) {
		s->stopped_output = 1;
		return 1;
	}
	return s->count >= s->limit;
}

/* Parse a range option into key[0..ks), padded with `fill`.  Returns 0 or
 * the usage exit code. */
static int range_key(const char *opt, const char *arg, int text, uint32_t ks,
		     uint8_t fill, uint8_t *key)
{
	char err[256];
	size_t len;

	if (keyarg_parse(arg, text, ks, 1, key, &len, err, sizeof err) < 0)
		return cli_usage("ls", "%s: %s", opt, err);
	keyarg_pad(key, len, ks, fill);
	return 0;
}

/* wodanc ls DEVICE [OPTIONS] */
int cmd_ls(int argc, char **argv)
{
	const char *dev, *from_arg = NULL, *to_arg = NULL, *prefix = NULL;
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	struct ls_state s;
	wodan_t *w = NULL;
	uint8_t lo[KEYARG_MAX_KEY], hi[KEYARG_MAX_KEY], tmp[KEYARG_MAX_KEY];
	int have_lo = 0, have_hi = 0, c, rc = 0, ex, attempt;
	uint64_t limit = UINT64_MAX;

	memset(&s, 0, sizeof s);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", ls_opts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM: from_arg = optarg; break;
		case OPT_TO: to_arg = optarg; break;
		case OPT_PREFIX: prefix = optarg; break;
		case OPT_LIMIT:
			if (cli_parse_u64(optarg, &limit) < 0)
				return cli_usage("ls", "invalid --limit '%s': "
						 "need a number of keys",
						 optarg);
			break;
		case OPT_VALUES: s.values = 1; break;
		case OPT_KEY_TEXT: s.text = 1; break;
		case OPT_JSON: s.json = 1; break;
		case 'h': return cli_help("ls", ls_help);
		default: return cli_getopt_error("ls", c, argv);
		}
	}
	ex = cli_device_operand("ls", argc, argv, &dev);
	if (ex)
		return ex;
	cli_json_errors(s.json);
	ex = kv_open("ls", dev, 0, &be, &w);
	if (ex)
		goto out;
	wodan_get_info(w, &info);
	s.ks = info.key_size_bytes;
	s.limit = limit;
	/* the range: [lo, hi] inclusive, from the options */
	if (from_arg) {
		ex = range_key("--from", from_arg, s.text, s.ks, 0x00, lo);
		have_lo = 1;
	}
	if (!ex && to_arg) {
		ex = range_key("--to", to_arg, s.text, s.ks, 0xff, hi);
		have_hi = 1;
	}
	if (!ex && prefix) {
		ex = range_key("--prefix", prefix, s.text, s.ks, 0x00, tmp);
		if (!have_lo || memcmp(tmp, lo, s.ks) > 0)
			memcpy(lo, tmp, s.ks);
		have_lo = 1;
		if (!ex)
			ex = range_key("--prefix", prefix, s.text, s.ks, 0xff,
				       tmp);
		if (!have_hi || memcmp(tmp, hi, s.ks) < 0)
			memcpy(hi, tmp, s.ks);
		have_hi = 1;
	}
	if (ex)
		goto out;
	/* wodan_iterate's end is exclusive: the key after hi (none after
	 * ff..ff: through the largest key) */
	if (have_hi && keyarg_next(hi, s.ks) < 0)
		have_hi = 0;
	s.kbuf = malloc(KEYARG_FMT_SIZE(s.ks));
	if (s.values)
		s.vbuf = malloc(2 * (size_t)info.max_value_bytes + 1);
	if (!s.kbuf || (s.values && !s.vbuf)) {
		cli_error("ls", dev, WODAN_E_NOMEM, "output buffers");
		ex = CLI_EXIT_OPERATIONAL;
		goto out;
	}
	if (s.json) {
		cj_begin(&s.j, stdout);
		cj_arr(&s.j, "keys");
		/* from here on errors become an "error" member of this
		 * object (stdout holds one object) and a stderr line */
		cli_json_errors(0);
	}
	for (attempt = 1;; attempt++) {
		rc = 0;
		if (s.limit > 0 && !(have_lo && have_hi &&
				     memcmp(lo, hi, s.ks) >= 0))
			rc = wodan_iterate(w, have_lo ? lo : NULL,
					   have_hi ? hi : NULL, ls_key, &s);
		if (rc == WODAN_E_ABORTED)
			rc = 0;
		if (rc != WODAN_E_CHANGED || attempt == KV_CHANGED_RETRIES)
			break;
		/* the writer reused a block: reopen and go on after the last
		 * key printed (the keys before it were right) */
		kv_close("ls", dev, be, w);
		be = NULL;
		w = NULL;
		if (s.count) {
			memcpy(lo, s.last, s.ks);
			if (keyarg_next(lo, s.ks) < 0)
				break; /* the last key was ff..ff */
			have_lo = 1;
		}
		ex = kv_open("ls", dev, 0, &be, &w);
		if (ex)
			break;
	}
	if (s.json) {
		cj_close_arr(&s.j);
		if (rc < 0 || ex) {
			cj_obj(&s.j, "error");
			cj_int(&s.j, "code", rc < 0 ? rc : 0);
			cj_str(&s.j, "message", rc < 0 ? wodan_strerror(rc)
			       : "cannot reopen the image");
			cj_close_obj(&s.j);
		}
		cj_u64(&s.j, "count", s.count);
		cj_end(&s.j);
	}
	if (ex)
		goto out;
	if (rc < 0) {
		cli_error("ls", dev, rc, "listing failed after %llu keys",
			  (unsigned long long)s.count);
		ex = cli_exit_code(rc);
	}
out:
	free(s.kbuf);
	free(s.vbuf);
	rc = kv_close("ls", dev, be, w);
	if (!ex)
		ex = rc;
	rc = cli_finish_stdout("ls");
	return ex ? ex : rc;
}
