/*
 * textfmt.c -- the text form of a wodan dump; the format is defined in
 * textfmt.h.  Uses only the public API (wodan.h, wodan_dump.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "textfmt.h"

#define HEADER_MAX 256u                  /* characters, without the LF */
#define LINE_MAX_CHARS (2u * 255u + 1u + 2u * TEXTFMT_MAX_VALUE)
#define PROGRESS_EVERY 1000u

static const char hexdig[] = "0123456789abcdef";

/* ================================================================ writer */

struct tdump {
	wodan_write_fn fn;
	void *arg;
	uint32_t ks;
	uint64_t records;
	wodan_progress_fn progress;
	void *progress_arg;
	int fail;            /* WODAN_E_IO_WRITE or _ABORTED from the callback */
	char *line;          /* LINE_MAX_CHARS + 1 */
};

/* Hex of n bytes into out (2n characters); returns the end. */
static char *put_hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*out++ = hexdig[p[i] >> 4];
		*out++ = hexdig[p[i] & 15];
	}
	return out;
}

/* wodan_iter_fn: one record line. */
static int dump_line(void *arg, const uint8_t *key, const uint8_t *val,
		     size_t val_len)
{
	struct tdump *t = arg;
	char *p = t->line;

	if (val_len > TEXTFMT_MAX_VALUE) {   /* never from a valid image */
		t->fail = WODAN_E_VALUE_TOO_LARGE;
		return 1;
	}
	p = put_hex(p, key, t->ks);
	*p++ = ' ';
	if (val_len)
		p = put_hex(p, val, val_len);
	else
		*p++ = '-';
	*p++ = '\n';
	if (t->fn(t->arg, t->line, (size_t)(p - t->line)) < 0) {
		t->fail = WODAN_E_IO_WRITE;
		return 1;
	}
	t->records++;
	if (t->progress && t->records % PROGRESS_EVERY == 0 &&
	    t->progress(t->progress_arg, t->records, 0)) {
		t->fail = WODAN_E_ABORTED;
		return 1;
	}
	return 0;
}

int textfmt_dump(wodan_t *w, const void *start, const void *end,
		 wodan_write_fn fn, void *arg, wodan_progress_fn progress,
		 void *progress_arg, uint64_t *records)
{
	struct wodan_info info;
	struct tdump t;
	char hdr[HEADER_MAX + 2], fsid[33];
	int n, r;

	if (records)
		*records = 0;
	wodan_get_info(w, &info);
	memset(&t, 0, sizeof t);
	t.fn = fn;
	t.arg = arg;
	t.ks = info.key_size_bytes;
	t.progress = progress;
	t.progress_arg = progress_arg;
	*put_hex(fsid, info.fsid, 16) = 0;
	n = snprintf(hdr, sizeof hdr, "%s 1 key_size=%" PRIu32 " tombstones=%d "
		     "block_size=%" PRIu32 " generation=%" PRIu64 " fsid=%s\n",
		     TEXTFMT_MAGIC, info.key_size_bytes, info.tombstones ? 1 : 0,
		     info.block_size_bytes, info.generation, fsid);
	if (fn(arg, hdr, (size_t)n) < 0)
		return WODAN_E_IO_WRITE;
	t.line = malloc(LINE_MAX_CHARS + 1);
	if (!t.line)
		return WODAN_E_NOMEM;
	r = wodan_iterate(w, start, end, dump_line, &t);
	if (r == WODAN_E_ABORTED && t.fail)
		r = t.fail;
	free(t.line);
	if (records)
		*records = t.records;
	if (r)
		return r;
	n = snprintf(hdr, sizeof hdr, "end records=%" PRIu64 "\n", t.records);
	if (fn(arg, hdr, (size_t)n) < 0)
		return WODAN_E_IO_WRITE;
	return 0;
}

/* ================================================================ reader */

struct textfmt_reader {
	FILE *f;
	struct wodan_dump_header h;
	uint32_t max_value;
	uint64_t line;       /* number of the line last read, 1-based */
	uint64_t offset;     /* bytes consumed */
	uint64_t records;    /* record lines returned */
	int done;            /* end line read and end of input seen */
	int code;            /* sticky error, 0 if none */
	int read_errno;
	char msg[256];
	char buf[LINE_MAX_CHARS + 2];
	size_t len;          /* characters in buf (without the LF) */
	uint8_t key[255];
	uint8_t val[TEXTFMT_MAX_VALUE];
};

/* Record the (first) error; returns code. */
static int bad(textfmt_reader *r, int code, const char *fmt, ...)
{
	va_list ap;

	if (r->code)
		return r->code;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	return code;
}

/* Describe the character c for a message: 'x' or \xNN. */
static const char *show_char(int c, char buf[8])
{
	if (c > 32 && c < 127 && c != '\'')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", (unsigned)c & 255u);
	return buf;
}

/*
 * Read the next line (without its LF) into r->buf, at most `limit`
 * characters.  Returns 1, 0 at the end of input before any character, or
 * an error (the line is too long, has no LF at the end, or the read
 * failed).
 */
static int read_line(textfmt_reader *r, size_t limit)
{
	int c;

	r->len = 0;
	r->line++;
	for (;;) {
		c = getc(r->f);
		if (c == EOF) {
			if (ferror(r->f)) {
				r->read_errno = errno ? errno : EIO;
				return bad(r, WODAN_E_IO_READ, "line %" PRIu64
					   ": reading: %s", r->line,
					   strerror(r->read_errno));
			}
			if (r->len == 0)
				return 0;
			return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": no line "
				   "feed at its end (the input was cut short?)",
				   r->line);
		}
		r->offset++;
		if (c == '\n')
			break;
		if (r->len >= limit)
			return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": longer "
				   "than %zu characters, the longest line the "
				   "format allows here", r->line, limit);
		if (c == 0)     /* would end the string early */
			return bad(r, WODAN_E_DUMP, "line %" PRIu64 ", column "
				   "%zu: a NUL byte", r->line, r->len + 1);
		r->buf[r->len++] = (char)c;
	}
	r->buf[r->len] = 0;
	return 1;
}

/* Decode n bytes from the hex at r->buf[col0..]; a bad digit is an error
 * naming its column (1-based). */
static int get_hex(textfmt_reader *r, size_t col0, uint8_t *out, size_t n)
{
	char cb[8];

	for (size_t i = 0; i < 2 * n; i++) {
		int v = cli_hex_digit((unsigned char)r->buf[col0 + i]);
		if (v < 0)
			return bad(r, WODAN_E_DUMP, "line %" PRIu64 ", column "
				   "%zu: %s is not a hex digit", r->line,
				   col0 + i + 1,
				   show_char((unsigned char)r->buf[col0 + i],
					     cb));
		if (i & 1)
			out[i / 2] |= (uint8_t)v;
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

/* Parse a decimal field value in [lo, hi]. */
static int parse_dec(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Parse the header line in r->buf. */
static int parse_header(textfmt_reader *r)
{
	/* the fields; the numbers' bounds and the message for a bad one */
	static const struct {
		const char *name;
		uint64_t lo, hi;
		const char *bad;
	} fields[] = {
		{ "key_size", 1, 255, "key_size must be 1..255" },
		{ "tombstones", 0, 1, "tombstones must be 0 or 1" },
		{ "block_size", 1, UINT32_MAX, "bad block_size" },
		{ "generation", 0, UINT64_MAX, "bad generation" },
		{ "fsid", 0, 0, NULL },                /* 32 hex digits */
	};
	char *save = NULL, *tok;
	int seen[5] = { 0 }, i;
	uint64_t v;

	if (r->len == 0)
		return bad(r, WODAN_E_DUMP, "line 1: empty, expected a '"
			   TEXTFMT_MAGIC " 1 ...' header");
	if (r->buf[0] == ' ' || strstr(r->buf, "  ") ||
	    r->buf[r->len - 1] == ' ')
		return bad(r, WODAN_E_DUMP, "line 1: words must be separated "
			   "by exactly one space");
	tok = strtok_r(r->buf, " ", &save);
	if (!tok || strcmp(tok, TEXTFMT_MAGIC))
		return bad(r, WODAN_E_DUMP, "line 1: not a text dump: it must "
			   "start with '" TEXTFMT_MAGIC " 1 key_size=N "
			   "tombstones=0|1'");
	tok = strtok_r(NULL, " ", &save);
	if (!tok || strcmp(tok, "1"))
		return bad(r, WODAN_E_DUMP, "line 1: unsupported text dump "
			   "version '%.20s' (this reader knows 1)",
			   tok ? tok : "");
	r->h.version = 1;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return bad(r, WODAN_E_DUMP, "line 1: '%.40s' is not "
				   "NAME=VALUE", tok);
		*eq++ = 0;
		for (i = 0; i < 5 && strcmp(tok, fields[i].name); i++)
			;
		if (i == 5)
			return bad(r, WODAN_E_DUMP, "line 1: unknown field "
				   "'%.40s'", tok);
		if (seen[i]++)
			return bad(r, WODAN_E_DUMP, "line 1: field %s given "
				   "twice", tok);
		if (fields[i].bad &&
		    parse_dec(eq, fields[i].lo, fields[i].hi, &v) < 0)
			return bad(r, WODAN_E_DUMP, "line 1: %s", fields[i].bad);
		switch (i) {
		case 0:
			r->h.key_size_bytes = (uint32_t)v;
			break;
		case 1:
			r->h.tombstones = (int)v;
			break;
		case 2:
			r->h.has_block_size = 1;
			r->h.block_size_bytes = (uint32_t)v;
			break;
		case 3:
			r->h.has_generation = 1;
			r->h.generation = v;
			break;
		default:
			if (strlen(eq) != 32)
				return bad(r, WODAN_E_DUMP, "line 1: fsid must "
					   "be 32 hex digits");
			if (get_hex(r, (size_t)(eq - r->buf), r->h.fsid, 16))
				return r->code;
			r->h.has_fsid = 1;
			break;
		}
	}
	if (!seen[0] || !seen[1])
		return bad(r, WODAN_E_DUMP, "line 1: key_size and tombstones "
			   "are required");
	return 0;
}

int textfmt_reader_new(FILE *f, textfmt_reader **out)
{
	textfmt_reader *r = calloc(1, sizeof *r);
	int rc;

	*out = r;
	if (!r)
		return WODAN_E_NOMEM;
	r->f = f;
	r->max_value = TEXTFMT_MAX_VALUE;
	rc = read_line(r, HEADER_MAX);
	if (rc == 0)
		return bad(r, WODAN_E_DUMP, "line 1: empty input, expected a "
			   "'" TEXTFMT_MAGIC " 1 ...' header");
	if (rc < 0)
		return rc;
	return parse_header(r);
}

const struct wodan_dump_header *textfmt_reader_header(const textfmt_reader *r)
{
	return &r->h;
}

void textfmt_reader_set_max_value(textfmt_reader *r, uint32_t max_value_bytes)
{
	r->max_value = max_value_bytes && max_value_bytes < TEXTFMT_MAX_VALUE
		       ? max_value_bytes : TEXTFMT_MAX_VALUE;
}

/* The "end records=N" (or bare "end") line in r->buf; then the input
 * must end. */
static int end_line(textfmt_reader *r)
{
	uint64_t n = r->records;

	if (r->len > 3 && parse_dec(r->buf + 12, 0, UINT64_MAX, &n) < 0)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": bad record "
			   "count in the end line", r->line);
	if (n != r->records)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": the end line "
			   "says %" PRIu64 " records but %" PRIu64 " were read",
			   r->line, n, r->records);
	if (getc(r->f) != EOF)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": data after "
			   "the end line", r->line + 1);
	if (ferror(r->f)) {
		r->read_errno = errno ? errno : EIO;
		return bad(r, WODAN_E_IO_READ, "after line %" PRIu64
			   ": reading: %s", r->line, strerror(r->read_errno));
	}
	r->done = 1;
	return 0;
}

int textfmt_reader_next(textfmt_reader *r, const uint8_t **key,
			const uint8_t **val, size_t *val_len)
{
	size_t ks = r->h.key_size_bytes, vhex, vcol;
	const char *sp;
	char cb[8];
	int rc;

	if (r->code)
		return r->code;
	if (r->done)
		return 0;
	rc = read_line(r, 2 * ks + 1 + 2 * TEXTFMT_MAX_VALUE);
	if (rc == 0)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": the input ends "
			   "without an 'end records=N' line (cut short?)",
			   r->line);
	if (rc < 0)
		return rc;
	if (!strcmp(r->buf, "end") || !strncmp(r->buf, "end records=", 12))
		return end_line(r) ? r->code : 0;
	/* KEY: exactly 2*ks hex digits, then one space */
	sp = memchr(r->buf, ' ', r->len);
	if (!sp)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": expected 'KEY "
			   "VALUE' (%zu hex digits, one space, hex digits or "
			   "-)%s", r->line, 2 * ks,
			   r->len ? "" : ", found an empty line");
	if ((size_t)(sp - r->buf) != 2 * ks)
		return bad(r, WODAN_E_BAD_KEY, "line %" PRIu64 ": the key has "
			   "%zu characters, the key size (%zu bytes) needs "
			   "exactly %zu hex digits", r->line,
			   (size_t)(sp - r->buf), ks, 2 * ks);
	if (r->len == 2 * ks + 1)
		return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": missing value "
			   "(write - for an empty value)", r->line);
	if (get_hex(r, 0, r->key, ks))
		return r->code;
	vcol = 2 * ks + 1;
	vhex = r->len - vcol;
	if (vhex == 1 && r->buf[vcol] == '-') {
		*val_len = 0;
	} else {
		if (vhex % 2) {
			/* report a stray character before an odd length */
			for (size_t i = vcol; i < r->len; i++)
				if (cli_hex_digit((unsigned char)r->buf[i]) < 0)
					return bad(r, WODAN_E_DUMP, "line %"
						   PRIu64 ", column %zu: %s is "
						   "not a hex digit", r->line,
						   i + 1,
						   show_char((unsigned char)
							     r->buf[i], cb));
			return bad(r, WODAN_E_DUMP, "line %" PRIu64 ": the "
				   "value has an odd number (%zu) of hex "
				   "digits", r->line, vhex);
		}
		if (vhex / 2 > r->max_value)
			return bad(r, WODAN_E_VALUE_TOO_LARGE, "line %" PRIu64
				   ": the value has %zu bytes, more than the "
				   "limit of %" PRIu32 " bytes", r->line,
				   vhex / 2, r->max_value);
		if (get_hex(r, vcol, r->val, vhex / 2))
			return r->code;
		*val_len = vhex / 2;
	}
	r->records++;
	*key = r->key;
	*val = r->val;
	return 1;
}

const char *textfmt_reader_error(const textfmt_reader *r)
{
	return r ? r->msg : "";
}

int textfmt_reader_errno(const textfmt_reader *r)
{
	return r->read_errno;
}

uint64_t textfmt_reader_offset(const textfmt_reader *r)
{
	return r->offset;
}

uint64_t textfmt_reader_line(const textfmt_reader *r)
{
	return r->line;
}

void textfmt_reader_free(textfmt_reader *r)
{
	free(r);
}
