/*
 * gitobj.c -- code shared by wodan-git2dump and wodan-verify-git: git object
 * types and ids, the `git cat-file --batch` parser, dump file helpers.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

#include "gitobj.h"

/* ---------------------------------------------------------- types, ids */

static const char *const type_names[] = {
	NULL, "commit", "tree", "blob", "tag",
};

const char *gitobj_type_name(int type)
{
	if (type < GITOBJ_COMMIT || type > GITOBJ_TAG)
		return NULL;
	return type_names[type];
}

int gitobj_type_from_name(const char *name, size_t len)
{
	int t;

	for (t = GITOBJ_COMMIT; t <= GITOBJ_TAG; t++)
		if (strlen(type_names[t]) == len &&
		    memcmp(type_names[t], name, len) == 0)
			return t;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gitobj_hex_to_bin(const char *hex, uint8_t out[GITOBJ_KEY_SIZE])
{
	unsigned i;

	for (i = 0; i < GITOBJ_KEY_SIZE; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void gitobj_bin_to_hex(const uint8_t bin[GITOBJ_KEY_SIZE],
		       char out[GITOBJ_HEX_SIZE + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < GITOBJ_KEY_SIZE; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[GITOBJ_HEX_SIZE] = '\0';
}

int gitobj_hash(int type, const uint8_t *content, size_t len,
		uint8_t out[GITOBJ_KEY_SIZE])
{
	const char *name = gitobj_type_name(type);
	struct sha1_ctx ctx;
	char hdr[64];
	int n;

	if (!name)
		return -1;
	/* "<type> <len>" and its terminating NUL are hashed */
	n = snprintf(hdr, sizeof hdr, "%s %zu", name, len);
	if (n < 0 || (size_t)n >= sizeof hdr)
		return -1;
	sha1_init(&ctx);
	sha1_update(&ctx, (size_t)n + 1, (const uint8_t *)hdr);
	if (len)
		sha1_update(&ctx, len, content);
	sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
	return 0;
}

/* ------------------------------------------------ cat-file --batch parser */

/* Longest header line accepted: 64 hex digits (SHA-256, refused with a clear
 * message), a type name, a 20-digit size, separators; generous margin. */
#define BATCH_LINE_MAX 256

int gitobj_batch_init(struct gitobj_batch *b, FILE *in, size_t max_content)
{
	memset(b, 0, sizeof *b);
	b->in = in;
	b->max_content = max_content;
	if (max_content) {
		b->buf = malloc(max_content);
		if (!b->buf)
			return -1;
	}
	return 0;
}

void gitobj_batch_free(struct gitobj_batch *b)
{
	free(b->buf);
	b->buf = NULL;
}

/* Printable copy of a (possibly binary) header line for messages. */
static void quote_line(const char *line, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (!outlen)
		return;
	for (i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < len && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int gitobj_parse_header(const char *line, size_t len, struct gitobj_entry *e,
			char *err, size_t errlen)
{
	const char *sp1, *sp2, *p, *end = line + len;
	char q[96];
	uint64_t size = 0;
	size_t hexlen;

	memset(e, 0, sizeof *e);
	quote_line(line, len, q, sizeof q);
	sp1 = memchr(line, ' ', len);
	if (!sp1) {
		snprintf(err, errlen, "bad header line \"%s\"", q);
		return -1;
	}
	hexlen = (size_t)(sp1 - line);
	if ((size_t)(end - sp1) == 8 && memcmp(sp1, " missing", 8) == 0) {
		snprintf(err, errlen, "git reports a missing object: \"%s\"",
			 q);
		return -1;
	}
	if (hexlen == 64) {
		snprintf(err, errlen,
			 "object id of 64 hex digits (a SHA-256 repository): "
			 "only SHA-1 repositories (20-byte keys) are supported");
		return -1;
	}
	if (hexlen != GITOBJ_HEX_SIZE || gitobj_hex_to_bin(line, e->id) < 0) {
		snprintf(err, errlen,
			 "bad object id in header line \"%s\" (want %u hex "
			 "digits)", q, GITOBJ_HEX_SIZE);
		return -1;
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2) {
		snprintf(err, errlen, "bad header line \"%s\"", q);
		return -1;
	}
	e->type = gitobj_type_from_name(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (!e->type) {
		snprintf(err, errlen, "unknown object type in \"%s\"", q);
		return -1;
	}
	p = sp2 + 1;
	if (p == end || end - p > 20) {
		snprintf(err, errlen, "bad object size in \"%s\"", q);
		return -1;
	}
	for (; p < end; p++) {
		unsigned d;

		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "bad object size in \"%s\"", q);
			return -1;
		}
		d = (unsigned)(*p - '0');
		if (size > (UINT64_MAX - d) / 10) {
			snprintf(err, errlen, "object size overflows in \"%s\"",
				 q);
			return -1;
		}
		size = size * 10 + d;
	}
	e->size = size;
	return 0;
}

static void batch_err_io(struct gitobj_batch *b, const char *what)
{
	if (ferror(b->in))
		snprintf(b->err, sizeof b->err,
			 "read error %s at byte %" PRIu64 ": %s", what,
			 b->offset, strerror(errno ? errno : EIO));
	else
		snprintf(b->err, sizeof b->err,
			 "input truncated %s at byte %" PRIu64
			 " (object %" PRIu64 ")", what, b->offset,
			 b->objects);
}

int gitobj_batch_next(struct gitobj_batch *b, struct gitobj_entry *e)
{
	char line[BATCH_LINE_MAX + 1];
	size_t len = 0;
	uint64_t start = b->offset, left;
	char perr[200];
	int c;

	/* header line, bounded */
	for (;;) {
		c = getc(b->in);
		if (c == EOF) {
			if (len == 0 && !ferror(b->in))
				return 0;       /* clean end between entries */
			batch_err_io(b, "in a header line");
			return -1;
		}
		b->offset++;
		if (c == '\n')
			break;
		if (len == BATCH_LINE_MAX) {
			snprintf(b->err, sizeof b->err,
				 "header line at byte %" PRIu64
				 " longer than %d bytes", start,
				 BATCH_LINE_MAX);
			return -1;
		}
		line[len++] = (char)c;
	}
	if (gitobj_parse_header(line, len, e, perr, sizeof perr) < 0) {
		snprintf(b->err, sizeof b->err, "at byte %" PRIu64 ": %s",
			 start, perr);
		return -1;
	}

	/* content: kept when it fits, else read and discarded */
	if (e->size <= b->max_content) {
		size_t n = (size_t)e->size;

		if (n && fread(b->buf, 1, n, b->in) != n) {
			batch_err_io(b, "in object content");
			return -1;
		}
		b->offset += n;
		e->content = b->buf ? b->buf : (const uint8_t *)"";
	} else {
		uint8_t scratch[8192];

		for (left = e->size; left > 0;) {
			size_t want = left < sizeof scratch ?
				(size_t)left : sizeof scratch;
			size_t got = fread(scratch, 1, want, b->in);

			b->offset += got;
			left -= got;
			if (got != want) {
				batch_err_io(b, "in object content");
				return -1;
			}
		}
		e->content = NULL;
	}

	/* the newline after the content */
	c = getc(b->in);
	if (c == EOF) {
		batch_err_io(b, "after object content");
		return -1;
	}
	b->offset++;
	if (c != '\n') {
		snprintf(b->err, sizeof b->err,
			 "byte 0x%02x instead of a newline after the content "
			 "of the object at byte %" PRIu64, (unsigned)c, start);
		return -1;
	}
	b->objects++;
	return 1;
}

/* ------------------------------------------------------------- dump files */

long gitobj_read_cb(void *arg, void *buf, size_t len)
{
	struct gitobj_dump_in *in = arg;
	size_t n = fread(buf, 1, len, in->fp);

	if (n == 0 && ferror(in->fp)) {
		in->read_errno = errno ? errno : EIO;
		return -in->read_errno;
	}
	return (long)n;
}

int gitobj_write_cb(void *arg, const void *buf, size_t len)
{
	struct gitobj_dump_out *out = arg;

	if (len && fwrite(buf, 1, len, out->fp) != len) {
		out->write_errno = errno ? errno : EIO;
		return -out->write_errno;
	}
	out->bytes += len;
	return 0;
}

void gitobj_print_wodan_error(const char *prog, const char *what, int err)
{
	const struct wodan_error_detail *d = wodan_last_error();

	fprintf(stderr, "%s: %s: %s", prog, what, wodan_strerror(err));
	if (d && d->code == err) {
		if (d->message[0])
			fprintf(stderr, ": %s", d->message);
		if (d->offset_bytes != UINT64_MAX)
			fprintf(stderr, " (at byte %" PRIu64, d->offset_bytes);
		if (d->record != UINT64_MAX)
			fprintf(stderr, "%s record %" PRIu64,
				d->offset_bytes != UINT64_MAX ? "," : " (at",
				d->record);
		if (d->offset_bytes != UINT64_MAX || d->record != UINT64_MAX)
			fputc(')', stderr);
	}
	fputc('\n', stderr);
}

int gitobj_dump_open(const char *prog, const char *path,
		     struct gitobj_dump_in *in)
{
	const struct wodan_dump_header *h;
	int rc;

	memset(in, 0, sizeof *in);
	in->name = path;
	if (strcmp(path, "-") == 0) {
		in->name = "(stdin)";
		in->fp = stdin;
	} else {
		in->fp = fopen(path, "rb");
		if (!in->fp) {
			fprintf(stderr, "%s: %s: %s\n", prog, path,
				strerror(errno));
			return -1;
		}
		in->close_fp = 1;
	}
	rc = wodan_dump_reader_new(gitobj_read_cb, in, GITOBJ_MAX_VALUE,
				   &in->rd);
	if (rc < 0) {
		if (in->read_errno)
			fprintf(stderr, "%s: %s: read error: %s\n", prog,
				in->name, strerror(in->read_errno));
		else
			gitobj_print_wodan_error(prog, in->name, rc);
		in->rd = NULL;
		gitobj_dump_close(in);
		return -1;
	}
	h = wodan_dump_reader_header(in->rd);
	if (h->key_size_bytes != GITOBJ_KEY_SIZE) {
		fprintf(stderr,
			"%s: %s: key size %" PRIu32 " in the dump header, "
			"git object dumps have %u-byte keys\n", prog,
			in->name, h->key_size_bytes, GITOBJ_KEY_SIZE);
		gitobj_dump_close(in);
		return -1;
	}
	return 0;
}

void gitobj_dump_close(struct gitobj_dump_in *in)
{
	if (in->rd)
		wodan_dump_reader_free(in->rd);
	in->rd = NULL;
	if (in->fp && in->close_fp)
		fclose(in->fp);
	in->fp = NULL;
}
