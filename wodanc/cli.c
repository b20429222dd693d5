/*
 * cli.c -- shared helpers of wodanc (see cli.h): messages, parsing,
 * formatting, device opening and probing, progress lines, JSON output.
 */
#include <blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

/* ------------------------------------------------------------ messages */

/* Append the last-error detail for `code` to stderr: " (message, block N,
 * byte offset N, record N)", leaving out what the message already names. */
static void print_detail(int code)
{
	const struct wodan_error_detail *d = wodan_last_error();
	const char *sep = " (";
	int any = 0;

	if (!d || d->code != code)
		return;
	if (d->message[0]) {
		fprintf(stderr, "%s%s", sep, d->message);
		sep = ", ";
		any = 1;
	}
	if (d->block != UINT64_MAX && !strstr(d->message, "block")) {
		fprintf(stderr, "%sblock %llu", sep,
			(unsigned long long)d->block);
		sep = ", ";
		any = 1;
	}
	if (d->offset_bytes != UINT64_MAX && !strstr(d->message, "offset") &&
	    !strstr(d->message, "byte")) {
		fprintf(stderr, "%sat byte offset %llu", sep,
			(unsigned long long)d->offset_bytes);
		sep = ", ";
		any = 1;
	}
	if (d->record != UINT64_MAX && !strstr(d->message, "record")) {
		fprintf(stderr, "%srecord %llu", sep,
			(unsigned long long)d->record);
		any = 1;
	}
	if (any)
		fputc(')', stderr);
}

/* Exit code for a library error (see cli.h). */
int cli_exit_code(int err)
{
	switch (err) {
	case 0:
		return CLI_EXIT_OK;
	case WODAN_E_IO_READ:
	case WODAN_E_IO_WRITE:
	case WODAN_E_IO_DISCARD:
	case WODAN_E_IO_BARRIER:
	case WODAN_E_NOMEM:
	case WODAN_E_LOCKED:
	case WODAN_E_CHANGED:
		return CLI_EXIT_OPERATIONAL;
	case WODAN_E_BAD_CRC:
	case WODAN_E_CORRUPT:
	case WODAN_E_BAD_NODE_TYPE:
	case WODAN_E_FSID:
	case WODAN_E_NO_ROOT:
		return CLI_EXIT_PROBLEMS;
	default:
		return CLI_EXIT_FAIL;
	}
}

static int json_errors;        /* cli_json_errors(1) was called */
static int json_error_printed; /* the one JSON error object is out */

void cli_json_errors(int on)
{
	json_errors = on;
}

int cli_json_error_printed(void)
{
	return json_error_printed;
}

/* A short machine name for an error code: "io-read", "bad-crc", ... (the
 * wodan_strerror text would change with wording). */
static const char *err_name(int code)
{
	switch (code) {
	case WODAN_E_BAD_MAGIC: return "bad-magic";
	case WODAN_E_BAD_VERSION: return "bad-version";
	case WODAN_E_BAD_FLAGS: return "bad-flags";
	case WODAN_E_BAD_CRC: return "bad-crc";
	case WODAN_E_BAD_PARAMS: return "bad-params";
	case WODAN_E_IO_READ: return "io-read";
	case WODAN_E_IO_WRITE: return "io-write";
	case WODAN_E_IO_DISCARD: return "io-discard";
	case WODAN_E_IO_BARRIER: return "io-barrier";
	case WODAN_E_NEEDS_FLUSH: return "needs-flush";
	case WODAN_E_OUT_OF_SPACE: return "out-of-space";
	case WODAN_E_BAD_KEY: return "bad-key";
	case WODAN_E_VALUE_TOO_LARGE: return "value-too-large";
	case WODAN_E_BAD_NODE_TYPE: return "bad-node-type";
	case WODAN_E_FSID: return "fsid";
	case WODAN_E_CORRUPT: return "corrupt";
	case WODAN_E_INVAL: return "invalid";
	case WODAN_E_NOMEM: return "nomem";
	case WODAN_E_NO_ROOT: return "no-root";
	case WODAN_E_READONLY: return "readonly";
	case WODAN_E_NOT_SUPPORTED: return "not-supported";
	case WODAN_E_DUMP: return "dump";
	case WODAN_E_ABORTED: return "aborted";
	case WODAN_E_LOCKED: return "locked";
	case WODAN_E_CHANGED: return "changed";
	case 0: return "failed";
	default: return "unknown";
	}
}

/* The JSON error object on stdout (see cli_json_errors). */
static void json_error(const char *dev, int code, const char *msg)
{
	const struct wodan_error_detail *d = wodan_last_error();
	struct cli_json j;
	int have = code && d && d->code == code;

	json_error_printed = 1;
	cj_begin(&j, stdout);
	cj_obj(&j, "error");
	cj_int(&j, "code", code);
	cj_str(&j, "name", err_name(code));
	cj_str(&j, "message", msg);
	if (have && d->message[0])
		cj_str(&j, "detail", d->message);
	if (dev)
		cj_str(&j, "device", dev);
	if (have && d->block != UINT64_MAX)
		cj_u64(&j, "block", d->block);
	if (have && d->offset_bytes != UINT64_MAX)
		cj_u64(&j, "offset", d->offset_bytes);
	if (have && d->record != UINT64_MAX)
		cj_u64(&j, "record", d->record);
	cj_close_obj(&j);
	cj_end(&j);
	fflush(stdout);
}

/* One error line on stderr (see cli.h). */
void cli_error(const char *cmd, const char *dev, int code, const char *fmt,
	       ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "wodanc %s: ", cmd);
	if (dev)
		fprintf(stderr, "%s: ", dev);
	fputs(msg, stderr);
	if (code) {
		fprintf(stderr, ": %s", wodan_strerror(code));
		print_detail(code);
	}
	fputc('\n', stderr);
	if (json_errors && !json_error_printed)
		json_error(dev, code, msg);
}

/* Check that stdout got everything (see cli.h). */
int cli_finish_stdout(const char *cmd)
{
	int bad, e;

	errno = 0;
	bad = fflush(stdout) != 0 || ferror(stdout);
	e = errno;
	if (!bad)
		return 0;
	fprintf(stderr, "wodanc %s: cannot write to standard output: %s\n",
		cmd, strerror(e ? e : EIO));
	return CLI_EXIT_OPERATIONAL;
}

/* A usage error line plus a --help hint; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wodanc %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'wodanc %s --help' for more information.\n",
		cmd);
	return CLI_EXIT_USAGE;
}

/* Turn getopt_long's '?' / ':' (optstring starting with ':') into a
 * message naming the offending option. */
int cli_getopt_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (!arg)
		arg = "?";
	if (c == ':') {
		if (arg[0] == '-' && arg[1] == '-')
			return cli_usage(cmd, "option '%s' requires an argument",
					 arg);
		return cli_usage(cmd, "option requires an argument -- '%c'",
				 optopt);
	}
	/* glibc: optopt is 0 for an unknown long option, the option's value
	 * for a long option given "=ARG" it does not take, else the char */
	if (optopt == 0)
		return cli_usage(cmd, "unrecognized option '%s'", arg);
	if (arg[0] == '-' && arg[1] == '-' && strchr(arg, '='))
		return cli_usage(cmd, "option '%s' does not take an argument",
				 arg);
	if (optopt < 256 && isprint(optopt))
		return cli_usage(cmd, "invalid option -- '%c'", optopt);
	return cli_usage(cmd, "unrecognized option '%s'", arg);
}

/* --help of a command (see cli.h). */
int cli_help(const char *cmd, const char *text)
{
	fputs(text, stdout);
	return cli_finish_stdout(cmd);
}

/* Operand count check (see cli.h). */
int cli_operands(const char *cmd, int argc, char **argv,
		 const char *const *need, int n_need, int most)
{
	int have = argc - optind, i;
	char names[256];
	size_t o = 0;

	if (have < n_need) {
		names[0] = 0;
		for (i = have < 0 ? 0 : have; i < n_need; i++) {
			int n = snprintf(names + o, sizeof names - o, "%s%s",
					 o ? " and " : "", need[i]);

			if (n < 0 || (size_t)n >= sizeof names - o)
				break; /* the names are short constants */
			o += (size_t)n;
		}
		return cli_usage(cmd, "missing %s", names);
	}
	if (have > most)
		return cli_usage(cmd, "unexpected argument '%s'",
				 argv[optind + most]);
	return 0;
}

/* One DEVICE operand (see cli.h). */
int cli_device_operand(const char *cmd, int argc, char **argv,
		       const char **dev)
{
	static const char *const need[] = { "DEVICE" };
	int rc = cli_operands(cmd, argc, argv, need, 1, 1);

	if (!rc)
		*dev = argv[optind];
	return rc;
}

/* ------------------------------------------------------------- parsing */

/* Parse the leading decimal digits of s into *out; *end gets the first
 * non-digit.  Fails on no digits or overflow. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	char *e;

	if (!isdigit((unsigned char)s[0]))
		return -1; /* refuses "", " 1", "-1", "+1" */
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE || e == s)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

/* Decimal unsigned number, whole string. */
int cli_parse_u64(const char *s, uint64_t *out)
{
	const char *end;

	if (!s || parse_digits(s, out, &end) < 0 || *end)
		return -1;
	return 0;
}

/* Decimal number with optional K/M/G/T (1024-based) suffix. */
int cli_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	unsigned shift = 0;

	if (!s || parse_digits(s, &v, &end) < 0)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
		if (strcmp(end, "iB") && strcmp(end, "B") && *end)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}

/* Value of one hex digit, or -1 (see cli.h). */
int cli_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly len bytes as 2*len hex digits. */
int cli_parse_hex(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (!s || strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		int hi = cli_hex_digit((unsigned char)s[2 * i]);
		int lo = cli_hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Block size rule of mkfs (doc/SPEC.md §2). */
int cli_check_block_size(uint64_t bs)
{
	if (bs < 512 || bs > 64u * 1024 * 1024 || bs % 512)
		return -1;
	if (bs >= 4096 && bs % 4096)
		return -1;
	return 0;
}

/* ---------------------------------------------------------- formatting */

/* Human readable size, binary units, one decimal when not whole. */
void cli_human_size(uint64_t bytes, char *buf, size_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB",
				       "PiB", "EiB" };
	unsigned u = 0;
	uint64_t whole = bytes, tenths;

	while (whole >= 1024 && u < 6) {
		whole >>= 10;
		u++;
	}
	if (u == 0) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return;
	}
	/* tenths of the unit, rounded */
	tenths = (uint64_t)((long double)bytes * 10 /
			    (long double)(1ULL << (10 * u)) + 0.5L);
	if (tenths % 10 == 0)
		snprintf(buf, n, "%llu %s", (unsigned long long)(tenths / 10),
			 units[u]);
	else
		snprintf(buf, n, "%llu.%llu %s",
			 (unsigned long long)(tenths / 10),
			 (unsigned long long)(tenths % 10), units[u]);
}

/* UUID-style hex of the 16 fsid bytes. */
void cli_fsid_str(const uint8_t fsid[16], char buf[37])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[fsid[i] >> 4];
		buf[o++] = hex[fsid[i] & 15];
	}
	buf[o] = 0;
}

/* Seconds on the monotonic clock. */
double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- devices */

/* Path of a plain-file spec: "file:PATH" -> PATH; "PATH" -> PATH unless it
 * looks like "name:..." for another backend and no such file exists. */
const char *cli_device_path(const char *spec)
{
	const char *p;
	struct stat st;

	if (!strncmp(spec, "file:", 5))
		return spec + 5;
	if (!strncmp(spec, "direct:", 7))
		return spec + 7;
	for (p = spec; isalnum((unsigned char)*p) || *p == '_'; p++)
		;
	if (*p == ':' && p != spec && stat(spec, &st) != 0)
		return NULL; /* "ram:64M", "direct:/dev/x", ... */
	return spec;
}

/* 1 when a plain-file device does not exist. */
int cli_device_missing(const char *spec)
{
	const char *path = cli_device_path(spec);
	struct stat st;

	if (!path)
		return 0;
	return stat(path, &st) != 0 && errno == ENOENT;
}

/* An error line without the wodan_strerror part; the JSON error object
 * (JSON error mode) still carries `code`. */
static void open_error(const char *cmd, const char *dev, int code,
		       const char *fmt, ...) CLI_PRINTF(4, 5);
static void open_error(const char *cmd, const char *dev, int code,
		       const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "wodanc %s: %s: %s\n", cmd, dev, msg);
	if (json_errors && !json_error_printed)
		json_error(dev, code, msg);
}

static uint64_t le_u(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/* What the first 512 bytes of PATH say about a failed open.  Returns the
 * exit code after printing a line, or -1 when they tell nothing. */
static int superblock_diag(const char *cmd, const char *dev, const char *path,
			   int err, int is_blk)
{
	static const uint8_t magic[16] = {
		'M', 'I', 'R', 'A', 'G', 'E', ' ', 'K', 'V', 'F', 'S', ' ',
		0xf0, 0x9f, 0x90, 0xaa
	};
	uint8_t sb[512];
	ssize_t got;
	off_t end;
	int fd = open(path, O_RDONLY | O_CLOEXEC), i, zero = 1;

	if (fd < 0) {
		open_error(cmd, dev, err, "%s", strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	end = lseek(fd, 0, SEEK_END);
	got = pread(fd, sb, sizeof sb, 0);
	close(fd);
	if (end < 0 || got < 0)
		return -1;
	for (i = 0; i < got; i++)
		if (sb[i]) {
			zero = 0;
			break;
		}
	if (got < (ssize_t)sizeof sb || memcmp(sb, magic, sizeof magic)) {
		char what[256];

		if (err != WODAN_E_BAD_MAGIC)
			return -1;
		if (end > 0 && cli_probe_foreign(cmd, path, what,
						 sizeof what) == 1 &&
		    !strncmp(what, "contains ", 9))
			open_error(cmd, dev, err, "holds no wodan image (it %s)",
				   what);
		else if (end == 0)
			open_error(cmd, dev, err, "is empty: holds no wodan "
				   "image");
		else if (zero)
			open_error(cmd, dev, err, "holds no wodan image (no "
				   "superblock)");
		else
			open_error(cmd, dev, err, "holds no wodan image (the "
				   "superblock magic is not Wodan's)");
		return CLI_EXIT_OPERATIONAL;
	}
	{
		uint64_t bs = le_u(sb + 28, 4), lsize = le_u(sb + 41, 8);
		char have[32], want[64];

		if (cli_check_block_size(bs) < 0 || lsize < 2 ||
		    lsize <= (uint64_t)end / bs)
			return -1;
		cli_human_size((uint64_t)end, have, sizeof have);
		if (lsize > UINT64_MAX / bs)
			snprintf(want, sizeof want, "%llu blocks of %llu bytes",
				 (unsigned long long)lsize,
				 (unsigned long long)bs);
		else
			cli_human_size(lsize * bs, want, sizeof want);
		open_error(cmd, dev, err, "the %s is %s but its superblock "
			   "records %s (truncated or copied short?)",
			   is_blk ? "device" : "file", have, want);
		return CLI_EXIT_PROBLEMS;
	}
}

/* Name the cause of a failed open (see cli_open_failed); returns the exit
 * code after printing one line. */
static int open_diag(const char *cmd, const char *dev, int err)
{
	const char *path = cli_device_path(dev);
	struct stat st;
	int rc;

	if (path) {
		if (stat(path, &st) != 0) {
			open_error(cmd, dev, err, "%s", strerror(errno));
			return CLI_EXIT_OPERATIONAL;
		}
		if (S_ISDIR(st.st_mode)) {
			open_error(cmd, dev, err, "is a directory");
			return CLI_EXIT_OPERATIONAL;
		}
		if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
			rc = superblock_diag(cmd, dev, path, err,
					     S_ISBLK(st.st_mode));
			if (rc >= 0)
				return rc;
		}
	} else if (err == WODAN_E_BAD_MAGIC && !strncmp(dev, "ram:", 4)) {
		/* a RAM device starts all zeros */
		open_error(cmd, dev, err, "holds no wodan image (no "
			   "superblock)");
		return CLI_EXIT_OPERATIONAL;
	}
	if (err == WODAN_E_BAD_MAGIC) {
		open_error(cmd, dev, err, "holds no wodan image (the "
			   "superblock magic is not Wodan's)");
		return CLI_EXIT_OPERATIONAL;
	}
	cli_error(cmd, dev, err, "cannot open");
	return cli_exit_code(err);
}

/* The failure cli_open_backend() already reported (see cli_open_failed). */
static int reported_err, reported_exit, reported_pending;

/* Open a backend, printing an error line on failure. */
int cli_open_backend(const char *cmd, const char *dev, unsigned flags,
		     uint64_t size_bytes, struct wodan_backend **out)
{
	int rc = wodan_backend_open(dev, flags, size_bytes, out);

	reported_pending = 0;
	if (rc < 0) {
		*out = NULL;
		reported_exit = open_diag(cmd, dev, rc);
		reported_err = rc;
		reported_pending = 1;
	}
	return rc;
}

/* Open a backend or report why not (see cli.h). */
int cli_open_device(const char *cmd, const char *dev, unsigned flags,
		    uint64_t size_bytes, struct wodan_backend **out)
{
	int rc = cli_open_backend(cmd, dev, flags, size_bytes, out);

	return rc < 0 ? cli_open_failed(cmd, dev, rc) : 0;
}

/* Message and exit code for a failed open (see cli.h). */
int cli_open_failed(const char *cmd, const char *dev, int err)
{
	if (reported_pending && err == reported_err) {
		reported_pending = 0;
		return reported_exit;
	}
	reported_pending = 0;
	return open_diag(cmd, dev, err);
}

/* Foreign signatures on PATH (see cli.h). */
int cli_probe_foreign(const char *cmd, const char *path, char *what,
		      size_t n)
{
	struct stat st;
	blkid_probe pr;
	const char *type = NULL, *label = NULL, *uuid = NULL, *usage = NULL;
	int rc, fd;

	what[0] = 0;
	if (!path || stat(path, &st) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return 0;
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(cmd, path, 0, "cannot read it to look for existing "
			  "data: %s", strerror(errno));
		return -1;
	}
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0) != 0) {
		if (pr)
			blkid_free_probe(pr);
		close(fd);
		cli_error(cmd, path, 0, "cannot probe it for existing data");
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	rc = blkid_do_safeprobe(pr);
	if (rc == -2) {
		snprintf(what, n, "contains several conflicting signatures "
			 "(file systems or partition tables)");
		rc = 1;
	} else if (rc == 0) {
		if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
			snprintf(what, n, "contains a %s partition table",
				 type);
		} else if (blkid_probe_lookup_value(pr, "TYPE", &type,
						    NULL) == 0) {
			size_t o;

			blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
			blkid_probe_lookup_value(pr, "UUID", &uuid, NULL);
			blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
			snprintf(what, n, "contains %s %s %s", 
				 strchr("aeiou", type[0]) ? "an" : "a", type,
				 usage && !strcmp(usage, "filesystem")
				 ? "file system" : "signature");
			o = strlen(what);
			if (label && uuid)
				snprintf(what + o, n - o, " (label '%s', UUID "
					 "%s)", label, uuid);
			else if (label || uuid)
				snprintf(what + o, n - o, " (%s %s%s%s)",
					 label ? "label" : "UUID",
					 label ? "'" : "", label ? label : uuid,
					 label ? "'" : "");
		} else {
			snprintf(what, n, "contains a known signature");
		}
		rc = 1;
	} else {
		rc = 0; /* 1: nothing found; -1: probing failed (treated
			 * below by the byte scan of a regular file) */
	}
	blkid_free_probe(pr);
	if (rc == 0 && S_ISREG(st.st_mode)) {
		/* any data in the first MiB is somebody's */
		static uint8_t buf[1 << 20];
		ssize_t got = pread(fd, buf, sizeof buf, 0), i;

		if (got < 0) {
			cli_error(cmd, path, 0, "cannot read it to look for "
				  "existing data: %s", strerror(errno));
			close(fd);
			return -1;
		}
		for (i = 0; i < got; i++)
			if (buf[i]) {
				snprintf(what, n, "holds data (a non-zero byte "
					 "at offset %lld)", (long long)i);
				rc = 1;
				break;
			}
	}
	close(fd);
	return rc;
}

/* Does `be` hold a wodan image already?  (See cli.h.) */
int cli_probe_image(struct wodan_backend *be, uint64_t *gen)
{
	static const uint8_t magic[16] = {
		'M', 'I', 'R', 'A', 'G', 'E', ' ', 'K', 'V', 'F', 'S', ' ',
		0xf0, 0x9f, 0x90, 0xaa
	};
	struct wodan_open_opts o;
	wodan_t *w = NULL;
	uint8_t *sb;
	size_t io;
	int rc, magic_found = 0;

	*gen = 0;
	memset(&o, 0, sizeof o);
	o.flags = WODAN_OPEN_READONLY | WODAN_OPEN_FAST_SCAN;
	rc = wodan_open(be, &o, &w);
	if (rc == 0) {
		struct wodan_info info;
		wodan_get_info(w, &info);
		*gen = info.generation;
		wodan_close(w);
		return 1;
	}
	/* block 0 read as one I/O of the device's size from an aligned buffer
	 * (O_DIRECT devices refuse anything else) */
	io = be->io_size_bytes > 512 ? be->io_size_bytes : 512;
	sb = aligned_alloc(4096, (io + 4095) / 4096 * 4096);
	if (sb && be->read && be->size_bytes >= io &&
	    be->read(be, 0, sb, io) == 0 && !memcmp(sb, magic, sizeof magic))
		magic_found = 1;
	free(sb);
	if (magic_found)
		return 1;
	if (rc == WODAN_E_BAD_MAGIC || rc == WODAN_E_IO_READ ||
	    rc == WODAN_E_INVAL || rc == WODAN_E_NOMEM)
		return 0;
	return 1;
}

/* ------------------------------------------------------------ progress */

/* Start a progress line (only drawn when stderr is a terminal). */
void cli_progress_init(struct cli_progress *p, const char *cmd,
		       const char *unit)
{
	memset(p, 0, sizeof *p);
	p->on = isatty(STDERR_FILENO);
	p->cmd = cmd;
	p->unit = unit;
	p->last = cli_now();
}

/* wodan_progress_fn: redraw at most every 0.25 s.  Never aborts. */
int cli_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct cli_progress *p = arg;
	char line[160], hs[32];
	double t;
	int n;

	if (!p || !p->on)
		return 0;
	t = cli_now();
	if (t - p->last < 0.25)
		return 0;
	p->last = t;
	if (total)
		n = snprintf(line, sizeof line, "%s: %llu/%llu %s (%d%%)",
			     p->cmd, (unsigned long long)done,
			     (unsigned long long)total, p->unit,
			     (int)(done * 100.0 / (double)total));
	else
		n = snprintf(line, sizeof line, "%s: %llu %s", p->cmd,
			     (unsigned long long)done, p->unit);
	if (p->rd && n > 0 && (size_t)n < sizeof line) {
		cli_human_size(wodan_dump_reader_offset(p->rd), hs, sizeof hs);
		n += snprintf(line + n, sizeof line - (size_t)n, ", %s read",
			      hs);
	}
	if (n < 0)
		return 0;
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	fprintf(stderr, "\r%s%*s", line, p->len > n ? p->len - n : 0, "");
	fflush(stderr);
	p->len = n;
	return 0;
}

/* Blank out the progress line and return the cursor to column 0. */
void cli_progress_end(struct cli_progress *p)
{
	if (!p->on || !p->len)
		return;
	fprintf(stderr, "\r%*s\r", p->len, "");
	fflush(stderr);
	p->len = 0;
}

/* ---------------------------------------------------------------- JSON */

/* Write s as a JSON string literal: escapes quotes, backslashes and
 * control characters; invalid UTF-8 bytes become U+FFFD. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*u) {
		unsigned c = *u;
		int len = 0, i;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			u++;
			continue;
		}
		if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			u++;
			continue;
		}
		if (c < 0x80) {
			fputc((int)c, f);
			u++;
			continue;
		}
		/* multi-byte UTF-8: check the lead byte and continuations */
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		for (i = 1; i < len; i++)
			if ((u[i] & 0xc0) != 0x80)
				break;
		if (len == 0 || i < len ||
		    (c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] > 0x9f) ||
		    (c == 0xf0 && u[1] < 0x90) || (c == 0xf4 && u[1] > 0x8f)) {
			fputs("\\ufffd", f);
			u++;
			continue;
		}
		fwrite(u, 1, (size_t)len, f);
		u += len;
	}
	fputc('"', f);
}

/* Separator and member name before a value. */
static void cj_prefix(struct cli_json *j, const char *key)
{
	if (j->count[j->depth]++)
		fputs(", ", j->f);
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
}

/* Open a container with the given bracket. */
static void cj_open(struct cli_json *j, const char *key, int bracket)
{
	cj_prefix(j, key);
	fputc(bracket, j->f);
	if (j->depth < 15)
		j->depth++;
	j->count[j->depth] = 0;
}

/* Close the innermost container. */
static void cj_close(struct cli_json *j, int bracket)
{
	fputc(bracket, j->f);
	if (j->depth > 0)
		j->depth--;
}

void cj_begin(struct cli_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->count[0] = 0;
	cj_open(j, NULL, '{');
}

void cj_end(struct cli_json *j)
{
	cj_close(j, '}');
	fputc('\n', j->f);
	fflush(j->f);
}

void cj_obj(struct cli_json *j, const char *key) { cj_open(j, key, '{'); }
void cj_arr(struct cli_json *j, const char *key) { cj_open(j, key, '['); }
void cj_close_obj(struct cli_json *j) { cj_close(j, '}'); }
void cj_close_arr(struct cli_json *j) { cj_close(j, ']'); }

void cj_u64(struct cli_json *j, const char *key, uint64_t v)
{
	cj_prefix(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void cj_int(struct cli_json *j, const char *key, long long v)
{
	cj_prefix(j, key);
	fprintf(j->f, "%lld", v);
}

/* Non-finite numbers are not JSON: they are written as null. */
void cj_double(struct cli_json *j, const char *key, double v)
{
	cj_prefix(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void cj_bool(struct cli_json *j, const char *key, int v)
{
	cj_prefix(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cj_str(struct cli_json *j, const char *key, const char *s)
{
	cj_prefix(j, key);
	json_string(j->f, s);
}

void cj_null(struct cli_json *j, const char *key)
{
	cj_prefix(j, key);
	fputs("null", j->f);
}
