/*
 * cmd_kv.c -- the single-key commands of wodanc:
 *   `wodanc get DEVICE KEY`            print one value (read-only open);
 *   `wodanc put DEVICE KEY VALUE`      insert or overwrite one key, durably;
 *   `wodanc del DEVICE KEY`            delete one key (a tombstone), durably.
 * Keys are parsed by keyarg.h; every length from the command line or an
 * input file is bounded by the image's key size and max_value_bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "keyarg.h"

#define KEY_HELP \
	"KEY is hex by default: exactly two hex digits per byte of the\n" \
	"image's key size (wodanc info shows it), e.g. 0000002a for 4-byte\n" \
	"keys.  With --key-text, KEY is text: its bytes, padded with zero\n" \
	"bytes up to the key size, where \\xNN is the byte NN and \\\\ a\n" \
	"backslash (the form wodanc ls --key-text prints).  A KEY that\n" \
	"starts with '-' goes after '--'.\n"

static const char get_help[] =
	"Usage: wodanc get DEVICE KEY [OPTIONS]\n"
	"\n"
	"Print the value stored under KEY in the image on DEVICE, as raw\n"
	"bytes (nothing added, no newline) on standard output.  The image is\n"
	"opened read-only (beside a writer, it shows the newest flushed\n"
	"state).\n"
	"\n"
	KEY_HELP
	"\n"
	"Options:\n"
	"  --hex        print the value as lower-case hex digits and a newline\n"
	"               (an empty value prints an empty line)\n"
	"  --key-text   KEY is text, not hex\n"
	"  -h, --help   show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"get: 1 when KEY is not in the image (\"key KEY not found\" on\n"
	"standard error); 16 for a malformed KEY.\n"
	"\n"
	"Examples:\n"
	"  wodanc get img 0000002a > value.bin\n"
	"  wodanc get img 0000002a --hex\n"
	"  wodanc get img --key-text 'user:42' | jq .\n"
	"  wodanc get img 0000002a >/dev/null && echo present\n";

static const char put_help[] =
	"Usage: wodanc put DEVICE KEY VALUE [OPTIONS]\n"
	"       wodanc put DEVICE KEY -i FILE [OPTIONS]\n"
	"\n"
	"Store VALUE under KEY in the image on DEVICE (insert, or overwrite\n"
	"the old value), then flush: when put exits 0 the value is durable.\n"
	"VALUE is taken literally, as the bytes of the argument (no newline\n"
	"added); with -i the value is the content of FILE ('-' is standard\n"
	"input), which may hold any bytes.  A value longer than the image's\n"
	"max value size (wodanc info) is refused before anything is written;\n"
	"for a regular FILE, before reading it.  On an image with tombstones\n"
	"(the default of mkfs) an empty value means a deletion, so it is\n"
	"refused: use 'wodanc del'.\n"
	"\n"
	KEY_HELP
	"\n"
	"Options:\n"
	"  -i, --input FILE  read the value from FILE ('-': standard input)\n"
	"  --hex             VALUE is written as hex digits (an even number;\n"
	"                    not with -i)\n"
	"  --key-text        KEY is text, not hex\n"
	"  -h, --help        show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"put: 1 when the value is too large or the image is out of space\n"
	"(nothing changed then); 8 when FILE cannot be read or the image is in\n"
	"use by another writer.\n"
	"\n"
	"Examples:\n"
	"  wodanc put img 0000002a 'hello world'\n"
	"  wodanc put img 0000002a --hex 00ff00ff\n"
	"  wodanc put img 0000002a -i photo.jpg\n"
	"  date | wodanc put img --key-text today -i -\n";

static const char del_help[] =
	"Usage: wodanc del DEVICE KEY [OPTIONS]\n"
	"\n"
	"Delete KEY from the image on DEVICE (a tombstone is written; the\n"
	"space is reclaimed as the tree is rewritten), then flush: when del\n"
	"exits 0 the deletion is durable.  Unlike rm -f, deleting a key that\n"
	"is not there is an error unless --force is given.  Images made with\n"
	"'mkfs --no-tombstones' cannot delete keys: del says so and exits 1.\n"
	"\n"
	KEY_HELP
	"\n"
	"Options:\n"
	"  -f, --force   a KEY that is not there is not an error (exit 0,\n"
	"                nothing written)\n"
	"  --key-text    KEY is text, not hex\n"
	"  -h, --help    show this help\n"
	"\n"
	CLI_EXIT_STATUS_HELP
	"del: 1 when KEY is not in the image (without --force) or the image\n"
	"has no tombstones.\n"
	"\n"
	"Examples:\n"
	"  wodanc del img 0000002a\n"
	"  wodanc del -f img --key-text 'user:42'\n";

enum { OPT_HEX = 256, OPT_KEY_TEXT };

/* The operands of get, put and del (put's VALUE is optional). */
static const char *const dev_key[] = { "DEVICE", "KEY" };

static const struct option get_opts[] = {
	{ "hex", no_argument, NULL, OPT_HEX },
	{ "key-text", no_argument, NULL, OPT_KEY_TEXT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option put_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "hex", no_argument, NULL, OPT_HEX },
	{ "key-text", no_argument, NULL, OPT_KEY_TEXT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option del_opts[] = {
	{ "force", no_argument, NULL, 'f' },
	{ "key-text", no_argument, NULL, OPT_KEY_TEXT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The command line of get, put or del: which options the command takes,
 * and what they said. */
struct kv_spec {
	const char *cmd;             /* "get", "put", "del" */
	const char *optstring;       /* for getopt_long() */
	const struct option *opts;
	const char *help;            /* the --help text */
	int most;                    /* operands at the most (2 or 3) */
};

struct kv_args {
	const char *dev, *key;       /* the operands DEVICE and KEY */
	const char *value;           /* put's VALUE operand, or NULL */
	const char *input;           /* -i FILE, or NULL */
	int hex, text, force;        /* --hex, --key-text, -f */
	int help;                    /* --help was printed: exit with 0 */
};

/* Parse the options and operands of a key command into *a (pointers into
 * argv).  Returns 0, or CLI_EXIT_USAGE after the usage message; with
 * a->help set, --help was printed and the result is cli_help()'s.  The options a command does not list in sp->opts are refused
 * by getopt_long(). */
static int kv_args(const struct kv_spec *sp, int argc, char **argv,
		   struct kv_args *a)
{
	int c, ex;

	memset(a, 0, sizeof *a);
	optind = 0;
	while ((c = getopt_long(argc, argv, sp->optstring, sp->opts,
				NULL)) != -1) {
		switch (c) {
		case 'i': a->input = optarg; break;
		case 'f': a->force = 1; break;
		case OPT_HEX: a->hex = 1; break;
		case OPT_KEY_TEXT: a->text = 1; break;
		case 'h':
			a->help = 1;
			return cli_help(sp->cmd, sp->help);
		default: return cli_getopt_error(sp->cmd, c, argv);
		}
	}
	ex = cli_operands(sp->cmd, argc, argv, dev_key, 2, sp->most);
	if (ex)
		return ex;
	a->dev = argv[optind];
	a->key = argv[optind + 1];
	if (argc - optind == 3)
		a->value = argv[optind + 2];
	return 0;
}

/* Parse KEY against the open image; on failure a usage error (16). */
static int parse_key(const char *cmd, const char *arg, int text,
		     const struct wodan_info *info, uint8_t *key,
		     char *keystr)
{
	char err[256];

	if (keyarg_parse(arg, text, info->key_size_bytes, 0, key, NULL, err,
			 sizeof err) < 0)
		return cli_usage(cmd, "%s", err);
	keyarg_format(key, info->key_size_bytes, text, keystr);
	return 0;
}

/* Insert (val != NULL) or delete, flushing and retrying once on
 * NEEDS_FLUSH; then flush.  Returns 0 or the exit code (reported). */
static int write_key(const char *cmd, const char *dev, wodan_t *w,
		     const uint8_t *key, uint32_t ks, const uint8_t *val,
		     size_t len, int del, const char *keystr)
{
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		rc = del ? wodan_delete(w, key, ks)
			 : wodan_insert(w, key, ks, val, len);
		if (rc != WODAN_E_NEEDS_FLUSH)
			break;
		rc = wodan_flush(w, NULL);
		if (rc < 0) {
			cli_error(cmd, dev, rc, "flushing to make room failed");
			return cli_exit_code(rc);
		}
		rc = WODAN_E_NEEDS_FLUSH;
	}
	if (rc == WODAN_E_NOT_SUPPORTED && del) {
		cli_error(cmd, dev, rc, "cannot delete key %s: the image has no "
			  "tombstones (made with 'mkfs --no-tombstones')",
			  keystr);
		return cli_exit_code(rc);
	}
	if (rc < 0) {
		cli_error(cmd, dev, rc, "cannot %s key %s%s", del ? "delete"
			  : "store", keystr, rc == WODAN_E_OUT_OF_SPACE ?
			  " (nothing changed)" : "");
		return cli_exit_code(rc);
	}
	rc = wodan_flush(w, NULL);
	if (rc < 0) {
		cli_error(cmd, dev, rc, "flush failed: the %s of key %s is not "
			  "durable", del ? "deletion" : "value", keystr);
		return cli_exit_code(rc);
	}
	return 0;
}

/* ------------------------------------------------------------------ get */

/* wodanc get DEVICE KEY [OPTIONS] */
int cmd_get(int argc, char **argv)
{
	struct wodan_backend *be = NULL;
	struct wodan_info info;
	wodan_t *w = NULL;
	uint8_t key[KEYARG_MAX_KEY], *buf = NULL;
	char keystr[KEYARG_FMT_SIZE(KEYARG_MAX_KEY)];
	static const struct kv_spec spec = {
		"get", ":h", get_opts, get_help, 2
	};
	struct kv_args a;
	const char *dev, *karg;
	size_t vlen = 0, i;
	int rc, ex, attempt;

	ex = kv_args(&spec, argc, argv, &a);
	if (ex || a.help)
		return ex;
	dev = a.dev;
	karg = a.key;
	for (attempt = 1;; attempt++) {
		ex = kv_open("get", dev, 0, &be, &w);
		if (ex)
			goto out;
		wodan_get_info(w, &info);
		if (!buf) {
			ex = parse_key("get", karg, a.text, &info, key, keystr);
			if (ex)
				goto out;
			buf = malloc(info.max_value_bytes ?
				     info.max_value_bytes : 1);
			if (!buf) {
				cli_error("get", dev, WODAN_E_NOMEM, "a buffer "
					  "of %u bytes", info.max_value_bytes);
				ex = CLI_EXIT_OPERATIONAL;
				goto out;
			}
		}
		rc = wodan_lookup(w, key, info.key_size_bytes, buf,
				  info.max_value_bytes, &vlen);
		if (rc != WODAN_E_CHANGED || attempt == KV_CHANGED_RETRIES)
			break;
		/* the writer reused a block: look again in its new state */
		kv_close("get", dev, be, w);
		be = NULL;
		w = NULL;
	}
	if (rc < 0) {
		cli_error("get", dev, rc, "lookup of key %s failed", keystr);
		ex = cli_exit_code(rc);
		goto out;
	}
	if (rc == 0) {
		cli_error("get", dev, 0, "key %s not found", keystr);
		ex = CLI_EXIT_FAIL;
		goto out;
	}
	if (vlen > info.max_value_bytes) {
		cli_error("get", dev, WODAN_E_CORRUPT, "key %s has a value of "
			  "%zu bytes, more than the image's max value size %u",
			  keystr, vlen, info.max_value_bytes);
		ex = CLI_EXIT_PROBLEMS;
		goto out;
	}
	if (a.hex) {
		for (i = 0; i < vlen; i++)
			printf("%02x", buf[i]);
		putchar('\n');
	} else if (vlen) {
		fwrite(buf, 1, vlen, stdout);
	}
	ex = CLI_EXIT_OK;
out:
	free(buf);
	rc = kv_close("get", dev, be, w);
	if (!ex)
		ex = rc;
	rc = cli_finish_stdout("get");
	return ex ? ex : rc;
}

/* ------------------------------------------------------------------ put */

/* Decode VALUE given with --hex (argv: bounded by the kernel's argument
 * limit) into a fresh buffer of at most `max` bytes.  Returns 0, or the
 * exit code after a message. */
static int hex_value(const char *dev, const char *arg, uint32_t max,
		     uint8_t **out, size_t *len)
{
	size_t n = strlen(arg), i;
	char q[KEYARG_QUOTE_SIZE];

	keyarg_quote(arg, q);
	if (n / 2 > max) {
		cli_error("put", dev, WODAN_E_VALUE_TOO_LARGE, "the value is "
			  "%zu bytes, more than the image's max value size of "
			  "%u bytes; nothing written", n / 2, max);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", arg[i]))
			return cli_usage("put", "--hex value %s: '%c' "
					 "(character %zu) is not a hex digit",
					 q, arg[i], i + 1);
	if (n % 2)
		return cli_usage("put", "--hex value %s: an odd number of hex "
				 "digits", q);
	*out = malloc(n / 2 ? n / 2 : 1);
	if (!*out) {
		cli_error("put", dev, WODAN_E_NOMEM, "value buffer");
		return CLI_EXIT_OPERATIONAL;
	}
	for (i = 0; i < n / 2; i++) {
		char two[3] = { arg[2 * i], arg[2 * i + 1], 0 };
		(*out)[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	*len = n / 2;
	return 0;
}

/* Read the value from fd (FILE named `name`), at most `max` bytes: a
 * regular file larger than that is refused before reading; a pipe is read
 * up to max + 1 bytes.  Returns 0, or the exit code after a message. */
static int read_value(const char *dev, int fd, const char *name,
		      uint32_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	size_t got = 0, cap = (size_t)max + 1;
	ssize_t r;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > max) {
		cli_error("put", dev, WODAN_E_VALUE_TOO_LARGE, "%s is %llu "
			  "bytes, more than the image's max value size of %u "
			  "bytes; nothing written", name,
			  (unsigned long long)st.st_size, max);
		return CLI_EXIT_FAIL;
	}
	*out = malloc(cap);
	if (!*out) {
		cli_error("put", dev, WODAN_E_NOMEM, "value buffer of %zu "
			  "bytes", cap);
		return CLI_EXIT_OPERATIONAL;
	}
	while (got < cap) {
		r = read(fd, *out + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error("put", dev, 0, "reading %s: %s; nothing "
				  "written", name, strerror(errno));
			return CLI_EXIT_OPERATIONAL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > max) {
		cli_error("put", dev, WODAN_E_VALUE_TOO_LARGE, "%s holds more "
			  "than the image's max value size of %u bytes; "
			  "nothing written", name, max);
		return CLI_EXIT_FAIL;
	}
	*len = got;
	return 0;
}

/* wodanc put DEVICE KEY [VALUE | -i FILE] [OPTIONS] */
int cmd_put(int argc, char **argv)
{
	struct wodan_backend *be = NULL;
	struct wodan_info info, winfo;
	wodan_t *w = NULL;
	uint8_t key[KEYARG_MAX_KEY], *val = NULL;
	char keystr[KEYARG_FMT_SIZE(KEYARG_MAX_KEY)];
	static const struct kv_spec spec = {
		"put", ":i:h", put_opts, put_help, 3
	};
	struct kv_args a;
	const char *dev, *karg, *varg, *input;
	size_t vlen = 0;
	int c, ex, hex, fd = -1;

	ex = kv_args(&spec, argc, argv, &a);
	if (ex || a.help)
		return ex;
	dev = a.dev;
	karg = a.key;
	varg = a.value;
	input = a.input;
	hex = a.hex;
	if (varg && input)
		return cli_usage("put", "give VALUE or -i FILE, not both");
	if (!varg && !input)
		return cli_usage("put", "missing VALUE (or -i FILE)");
	if (hex && input)
		return cli_usage("put", "--hex applies to VALUE, not to -i "
				 "FILE (convert a hex file with xxd -r -p)");
	/* the input first: a missing FILE leaves the image alone */
	if (input && !strcmp(input, "-")) {
		fd = STDIN_FILENO;
		input = "standard input";
	} else if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_error("put", NULL, 0, "cannot open %s: %s", input,
				  strerror(errno));
			return CLI_EXIT_OPERATIONAL;
		}
	}
	/* a read-only look first: the key size and the value limit, so that
	 * a bad KEY, a value too large and a slow standard input never hold
	 * the writer's lock nor write anything (a writable open of a journal
	 * image makes a checkpoint) */
	ex = kv_open("put", dev, 0, &be, &w);
	if (ex)
		goto out;
	wodan_get_info(w, &info);
	ex = kv_close("put", dev, be, w);
	be = NULL;
	w = NULL;
	if (ex)
		goto out;
	ex = parse_key("put", karg, a.text, &info, key, keystr);
	if (ex)
		goto out;
	if (fd >= 0) {
		ex = read_value(dev, fd, input, info.max_value_bytes, &val,
				&vlen);
	} else if (hex) {
		ex = hex_value(dev, varg, info.max_value_bytes, &val, &vlen);
	} else {
		vlen = strlen(varg);
		if (vlen > info.max_value_bytes) {
			cli_error("put", dev, WODAN_E_VALUE_TOO_LARGE, "the "
				  "value is %zu bytes, more than the image's "
				  "max value size of %u bytes; nothing written",
				  vlen, info.max_value_bytes);
			ex = CLI_EXIT_FAIL;
		}
	}
	if (ex)
		goto out;
	if (vlen == 0 && info.tombstones) {
		cli_error("put", dev, 0, "refusing an empty value for key %s: "
			  "on this image (tombstones) an empty value deletes "
			  "the key; use 'wodanc del'", keystr);
		ex = CLI_EXIT_FAIL;
		goto out;
	}
	ex = kv_open("put", dev, 1, &be, &w);
	if (ex)
		goto out;
	wodan_get_info(w, &winfo);
	if (winfo.key_size_bytes != info.key_size_bytes ||
	    winfo.max_value_bytes != info.max_value_bytes ||
	    winfo.tombstones != info.tombstones) {
		cli_error("put", dev, 0, "the image was formatted again while "
			  "the value was read (key size %u -> %u bytes); "
			  "nothing written", info.key_size_bytes,
			  winfo.key_size_bytes);
		ex = CLI_EXIT_FAIL;
		goto out;
	}
	ex = write_key("put", dev, w, key, info.key_size_bytes,
		       val ? val : (const uint8_t *)varg, vlen, 0, keystr);
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(val);
	if (ex) {
		/* nothing of ours to flush: leave without writing */
		wodan_abandon(w);
		w = NULL;
	}
	c = kv_close("put", dev, be, w);
	return ex ? ex : c;
}

/* ------------------------------------------------------------------ del */

/* wodanc del DEVICE KEY [OPTIONS] */
int cmd_del(int argc, char **argv)
{
	struct wodan_backend *be = NULL;
	struct wodan_info info, winfo;
	wodan_t *w = NULL;
	uint8_t key[KEYARG_MAX_KEY];
	char keystr[KEYARG_FMT_SIZE(KEYARG_MAX_KEY)];
	static const struct kv_spec spec = {
		"del", ":fh", del_opts, del_help, 2
	};
	struct kv_args a;
	const char *dev, *karg;
	int rc, ex, writable;

	ex = kv_args(&spec, argc, argv, &a);
	if (ex || a.help)
		return ex;
	dev = a.dev;
	karg = a.key;
	/* the checks on a read-only handle: a bad KEY, an image without
	 * tombstones and an absent key never take the writer's lock nor
	 * write (a writable open of a journal image makes a checkpoint) */
	for (writable = 0; writable < 2; writable++) {
		ex = kv_open("del", dev, writable, &be, &w);
		if (ex)
			return ex;
		wodan_get_info(w, &winfo);
		if (!writable) {
			info = winfo;
			ex = parse_key("del", karg, a.text, &info, key, keystr);
			if (ex)
				goto out;
		} else if (winfo.key_size_bytes != info.key_size_bytes) {
			cli_error("del", dev, 0, "the image was formatted "
				  "again meanwhile (key size %u -> %u bytes); "
				  "nothing deleted", info.key_size_bytes,
				  winfo.key_size_bytes);
			ex = CLI_EXIT_FAIL;
			goto out;
		}
		if (!winfo.tombstones) {
			cli_error("del", dev, WODAN_E_NOT_SUPPORTED, "cannot "
				  "delete key %s: the image has no tombstones "
				  "(made with 'mkfs --no-tombstones'); keys can "
				  "only be overwritten", keystr);
			ex = cli_exit_code(WODAN_E_NOT_SUPPORTED);
			goto out;
		}
		rc = wodan_lookup(w, key, info.key_size_bytes, NULL, 0, NULL);
		if (rc < 0 && (writable || rc != WODAN_E_CHANGED)) {
			cli_error("del", dev, rc, "lookup of key %s failed",
				  keystr);
			ex = cli_exit_code(rc);
			goto out;
		}
		if (rc == 0) {
			if (!a.force) {
				cli_error("del", dev, 0, "key %s not found",
					  keystr);
				ex = CLI_EXIT_FAIL;
			}
			goto out;
		}
		if (!writable) {
			/* present (or the writer changed the image: look
			 * again on the writable handle) */
			ex = kv_close("del", dev, be, w);
			be = NULL;
			w = NULL;
			if (ex)
				return ex;
		}
	}
	ex = write_key("del", dev, w, key, info.key_size_bytes, NULL, 0, 1,
		       keystr);
out:
	if (ex) {
		wodan_abandon(w);
		w = NULL;
	}
	rc = kv_close("del", dev, be, w);
	return ex ? ex : rc;
}
