/*
 * dump_read.c -- the dump reader (doc/DUMP.md §6; wodan_dump.h): a small
 * hand-written CBOR item-head parser over a 64 KiB input window refilled
 * from the read callback; every declared length is bounded before any
 * payload byte is read.  Details in dump.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "dump.h"
#include "error.h"
#include "crc.h"

#define MAX_DEPTH 32             /* nesting bound when skipping items */
#define NONE UINT64_MAX

/* A CBOR item head: offset, major type, additional info, argument (length,
 * count, value or tag number); indef for ai 31 (with mt 7: a break). */
struct head {
	uint64_t off;
	int mt, ai, indef;
	uint64_t v;
};

#define IS_BREAK(h) ((h).mt == 7 && (h).indef)

static const char *const mt_name[8] = {
	"an unsigned integer", "a negative integer", "a byte string",
	"a text string", "an array", "a map", "a tag", "a simple value"
};

/* Raise reader error `code` about the item at byte off; the message is
 * prefixed with the part being read (header, record N, trailer) and off.
 * Returns code. */
static int bad(struct wodan_dump_reader *rd, int code, uint64_t off,
	       const char *fmt, ...) WD_PRINTF(4, 5);
static int bad(struct wodan_dump_reader *rd, int code, uint64_t off,
	       const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rd->phase == PH_HEADER)
		return wd_err_dump(code, off, NONE, "header at byte %" PRIu64
				   ": %s", off, msg);
	if (rd->phase == PH_RECORDS)
		return wd_err_dump(code, off, rd->records, "record %" PRIu64
				   " at byte %" PRIu64 ": %s", rd->records, off,
				   msg);
	return wd_err_dump(code, off, rd->records, "%s at byte %" PRIu64 " (%"
			   PRIu64 " records read): %s", rd->phase == PH_TRAILER
			   ? "trailer" : "end", off, rd->records, msg);
}

/* Make at least need (<= 9) unread bytes available in the window.
 * Returns 0, or at end of input with fewer: 1 when eof_ok, else a
 * "truncated" WODAN_E_DUMP error; or WODAN_E_IO_READ. */
static int rd_fill(struct wodan_dump_reader *rd, size_t need, int eof_ok)
{
	static const char *const where[] = {
		"inside the header", "before the trailer", "inside the trailer"
	};

	while (rd->len - rd->pos < need) {
		long n;

		if (rd->eof && eof_ok)
			return 1;
		if (rd->eof)
			return bad(rd, WODAN_E_DUMP, rd->base + rd->len,
				   "truncated: end of input %s", where[rd->phase]);
		memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
		rd->base += rd->pos;
		rd->len -= rd->pos;
		rd->pos = 0;
		n = rd->fn(rd->arg, rd->buf + rd->len, IOBUF_BYTES - rd->len);
		if (n < 0)
			return bad(rd, WODAN_E_IO_READ, rd->base + rd->len,
				   "reading the dump: %s", strerror((int)-n));
		if ((unsigned long)n > IOBUF_BYTES - rd->len)
			return bad(rd, WODAN_E_IO_READ, rd->base + rd->len,
				   "read callback returned more than asked");
		rd->eof = n == 0;
		rd->len += (size_t)n;
	}
	return 0;
}

/* Consume n available bytes (CRC'd inside a record). */
static void rd_take(struct wodan_dump_reader *rd, size_t n)
{
	if (rd->in_rec)
		rd->crc = wd_crc32c(rd->crc, rd->buf + rd->pos, n);
	rd->pos += n;
}

/* Read and consume one item head.  Errors: WODAN_E_DUMP (truncated,
 * reserved ai 28..30, indefinite integer or tag), WODAN_E_IO_READ. */
static int rd_head(struct wodan_dump_reader *rd, struct head *h)
{
	size_t n = 0;
	uint8_t b;

	TRY(rd_fill(rd, 1, 0));
	h->off = OFF(rd);
	b = rd->buf[rd->pos];
	h->mt = b >> 5;
	h->ai = b & 31;
	h->indef = h->ai == 31;
	h->v = (uint64_t)h->ai;
	if (h->ai >= 28 && h->ai <= 30)
		return bad(rd, WODAN_E_DUMP, h->off, "malformed CBOR: reserved "
			   "initial byte 0x%02x", b);
	if (h->indef && (h->mt <= 1 || h->mt == 6))
		return bad(rd, WODAN_E_DUMP, h->off, "malformed CBOR: "
			   "indefinite length on %s", mt_name[h->mt]);
	if (h->ai >= 24 && h->ai <= 27) {
		n = (size_t)1 << (h->ai - 24);
		TRY(rd_fill(rd, 1 + n, 0));
		h->v = 0;
		for (size_t i = 1; i <= n; i++)
			h->v = h->v << 8 | rd->buf[rd->pos + i];
	}
	rd_take(rd, 1 + n);
	return 0;
}

/* rd_head where a data item is required: a break is an error naming what
 * was expected. */
static int rd_item(struct wodan_dump_reader *rd, struct head *h,
		   const char *what)
{
	TRY(rd_head(rd, h));
	if (IS_BREAK(*h))
		return bad(rd, WODAN_E_DUMP, h->off, "unexpected break (0xff) "
			   "where %s was expected", what);
	return 0;
}

/* Consume n payload bytes; those below cap are copied to dst (may be NULL)
 * at offset *got; *got advances by n. */
static int rd_chunk(struct wodan_dump_reader *rd, uint64_t n, uint8_t *dst,
		    size_t cap, uint64_t *got)
{
	while (n) {
		size_t k;

		TRY(rd_fill(rd, 1, 0));
		k = rd->len - rd->pos < n ? rd->len - rd->pos : (size_t)n;
		if (dst && *got < cap)
			memcpy(dst + *got, rd->buf + rd->pos,
			       k < cap - *got ? k : cap - (size_t)*got);
		rd_take(rd, k);
		*got += k;
		n -= k;
	}
	return 0;
}

/*
 * Read the payload of the byte/text string whose head *h was consumed,
 * definite or chunked: the first cap bytes go to dst (may be NULL), the
 * total length to *len.  Each declared length is checked against limit
 * before its bytes are read: when the total would exceed it, returns 1 with
 * *len = the total declared so far (saturated), consuming nothing more.
 * Else 0, or an error (bad chunk, truncated, I/O).
 */
static int rd_string(struct wodan_dump_reader *rd, const struct head *h,
		     uint8_t *dst, size_t cap, uint64_t limit, uint64_t *len)
{
	struct head c;

	*len = 0;
	if (!h->indef) {
		if (h->v > limit)
			return *len = h->v, 1;
		return rd_chunk(rd, h->v, dst, cap, len);
	}
	for (;;) {
		TRY(rd_head(rd, &c));
		if (IS_BREAK(c))
			return 0;
		if (c.mt != h->mt || c.indef)
			return bad(rd, WODAN_E_DUMP, c.off, "malformed CBOR: chunk "
				   "of an indefinite %s is not a definite one",
				   mt_name[h->mt] + 2);
		if (c.v > limit - *len) {
			*len = c.v > UINT64_MAX - *len ? UINT64_MAX : *len + c.v;
			return 1;
		}
		TRY(rd_chunk(rd, c.v, dst, cap, len));
	}
}

/* Skip the item whose head *h was consumed, at nesting level depth:
 * streams through strings and nested items, allocates nothing. */
static int rd_skip(struct wodan_dump_reader *rd, const struct head *h,
		   int depth)
{
	struct head c;
	uint64_t len;

	if (depth > MAX_DEPTH)
		return bad(rd, WODAN_E_DUMP, h->off, "items nested deeper than "
			   "%d levels", MAX_DEPTH);
	if (h->mt == 2 || h->mt == 3)
		return rd_string(rd, h, NULL, 0, UINT64_MAX, &len);
	if (h->mt == 6) {
		TRY(rd_item(rd, &c, "a tagged item"));
		return rd_skip(rd, &c, depth + 1);
	}
	if (h->mt != 4 && h->mt != 5)
		return 0;
	for (uint64_t i = 0; h->indef || i < h->v; i++) {
		for (int k = 0; k < (h->mt == 5 ? 2 : 1); k++) {
			TRY(rd_head(rd, &c));
			if (IS_BREAK(c) && h->indef && k == 0)
				return 0;
			if (IS_BREAK(c))
				return bad(rd, WODAN_E_DUMP, c.off, "malformed "
					   "CBOR: misplaced break");
			TRY(rd_skip(rd, &c, depth + 1));
		}
	}
	return 0;
}

/* The keys of the header and trailer maps we know, with the major type of
 * their value (7: a bool). */
struct field {
	const char *name;
	int mt;
};

static const struct field hdr_fields[] = {
	{ "wodan-dump", 0 }, { "key-size", 0 }, { "tombstones", 7 },
	{ "block-size", 0 }, { "generation", 0 }, { "fsid", 2 }
};
static const struct field trl_fields[] = { { "records", 0 }, { "crc32c", 0 } };

/* What a map held: bit i of seen for fields[i], its value (bool: 0/1; byte
 * string: its length, the bytes copied to dst) and offset, and the first
 * problem (wrong type, duplicate key) with its offset. */
struct map_vals {
	unsigned seen;
	uint64_t v[6], off[6], err_off;
	char err[120];
};

/*
 * Read the pairs of the map whose head *m was consumed (definite or
 * indefinite).  Values of known text keys are checked for type and stored
 * in *mv; the first 16 bytes of a byte string value go to dst.  Unknown keys
 * (of any type) and their values are skipped (doc/DUMP.md §2: forward
 * compatibility).  A wrong type or duplicate key is recorded in mv->err and
 * the value skipped, for the caller to report in its own order.
 */
static int rd_map(struct wodan_dump_reader *rd, const struct head *m,
		  const struct field *fields, int nfields, struct map_vals *mv,
		  uint8_t *dst)
{
	for (uint64_t i = 0; m->indef || i < m->v; i++) {
		struct head k, v;
		char name[16] = "";
		uint64_t n;
		int f, ok;

		TRY(rd_head(rd, &k));
		if (IS_BREAK(k) && m->indef)
			return 0;
		if (IS_BREAK(k))
			return bad(rd, WODAN_E_DUMP, k.off, "malformed CBOR: "
				   "misplaced break");
		if (k.mt == 3)    /* name: "" unless 1..15 bytes without NUL */
			TRY(rd_string(rd, &k, (uint8_t *)name, sizeof name - 1,
				      UINT64_MAX, &n));
		else
			TRY(rd_skip(rd, &k, 1));
		if (k.mt != 3 || n >= sizeof name || strlen(name) != n)
			name[0] = 0;
		TRY(rd_item(rd, &v, "a map value"));
		for (f = 0; f < nfields && strcmp(name, fields[f].name); f++)
			;
		ok = f < nfields && (fields[f].mt == 7 ? v.mt == 7 &&
			(v.ai == 20 || v.ai == 21) : v.mt == fields[f].mt);
		if (f < nfields && (!ok || mv->seen & 1u << f) && !mv->err[0]) {
			mv->err_off = v.off;
			snprintf(mv->err, sizeof mv->err, ok ? "\"%s\" appears "
				 "twice" : "\"%s\" is %s, expected %s", name,
				 mt_name[v.mt], fields[f].mt == 7 ? "a bool" :
				 mt_name[fields[f].mt]);
		}
		if (!ok || mv->seen & 1u << f) {
			TRY(rd_skip(rd, &v, 1));
			continue;
		}
		mv->seen |= 1u << f;
		mv->off[f] = v.off;
		mv->v[f] = v.mt == 7 ? v.ai == 21 : v.v;
		if (v.mt == 2)
			TRY(rd_string(rd, &v, dst, 16, UINT64_MAX, &mv->v[f]));
	}
	return 0;
}

/* Read and validate the tagged header map (doc/DUMP.md §2).  The version
 * is checked first, so a future version is reported as such rather than by
 * a confusing type error. */
static int rd_header(struct wodan_dump_reader *rd)
{
	struct wodan_dump_header *h = &rd->h;
	struct map_vals mv;
	struct head t, m;

	memset(&mv, 0, sizeof mv);
	TRY(rd_item(rd, &t, "the tag 55799"));
	if (t.mt != 6 || t.v != DUMP_TAG)
		return bad(rd, WODAN_E_DUMP, t.off, "not a wodan dump: it does "
			   "not start with tag 55799 (d9 d9 f7)");
	TRY(rd_item(rd, &m, "the header map"));
	if (m.mt != 5)
		return bad(rd, WODAN_E_DUMP, m.off, "header is %s, expected a map",
			   mt_name[m.mt]);
	TRY(rd_map(rd, &m, hdr_fields, 6, &mv, h->fsid));
	if ((mv.seen & 1u) && mv.v[0] != DUMP_VERSION)
		return bad(rd, WODAN_E_DUMP, mv.off[0], "unsupported dump version "
			   "%" PRIu64 " (this reader knows 1)", mv.v[0]);
	if (mv.err[0])
		return bad(rd, WODAN_E_DUMP, mv.err_off, "%s", mv.err);
	for (int i = 0; i < 3; i++)
		if (!(mv.seen & 1u << i))
			return bad(rd, WODAN_E_DUMP, m.off, "no \"%s\" key",
				   hdr_fields[i].name);
	if (mv.v[1] == 0 || mv.v[1] > 255)
		return bad(rd, WODAN_E_DUMP, mv.off[1], "key-size %" PRIu64
			   " is outside 1..255", mv.v[1]);
	if (mv.v[3] > UINT32_MAX)
		return bad(rd, WODAN_E_DUMP, mv.off[3], "block-size %" PRIu64
			   " is 4 GiB or more", mv.v[3]);
	if ((mv.seen & 1u << 5) && mv.v[5] != 16)
		return bad(rd, WODAN_E_DUMP, mv.off[5], "fsid is %" PRIu64
			   " bytes, expected 16", mv.v[5]);
	h->version = DUMP_VERSION;
	h->key_size_bytes = (uint32_t)mv.v[1];
	h->tombstones = (int)mv.v[2];
	h->has_block_size = !!(mv.seen & 1u << 3);
	h->block_size_bytes = (uint32_t)mv.v[3];
	h->has_generation = !!(mv.seen & 1u << 4);
	h->generation = mv.v[4];
	h->has_fsid = !!(mv.seen & 1u << 5);
	return 0;
}

/* Read the trailer whose map head *m was consumed, check it against the
 * records read and that nothing follows it.  Returns 0 at a valid end. */
static int rd_trailer(struct wodan_dump_reader *rd, const struct head *m)
{
	struct map_vals mv;
	int r;

	memset(&mv, 0, sizeof mv);
	rd->phase = PH_TRAILER;
	TRY(rd_map(rd, m, trl_fields, 2, &mv, NULL));
	if (mv.err[0])
		return bad(rd, WODAN_E_DUMP, mv.err_off, "%s", mv.err);
	if (mv.seen != 3)
		return bad(rd, WODAN_E_DUMP, m->off, "no \"%s\" key",
			   mv.seen & 1 ? "crc32c" : "records");
	if (mv.v[0] != rd->records)
		return bad(rd, WODAN_E_DUMP, mv.off[0], "trailer says %" PRIu64
			   " records, the dump holds %" PRIu64, mv.v[0],
			   rd->records);
	if (mv.v[1] != rd->crc)
		return bad(rd, WODAN_E_DUMP, mv.off[1], "crc32c mismatch: trailer "
			   "says 0x%08" PRIx64 ", the records give 0x%08" PRIx32,
			   mv.v[1], rd->crc);
	rd->phase = PH_DONE;
	r = rd_fill(rd, 1, 1);
	if (r == 0)
		return bad(rd, WODAN_E_DUMP, OFF(rd), "bytes after the trailer");
	return r == 1 ? 0 : r;
}

/* Allocate a reader and read the header.  Errors: WODAN_E_DUMP,
 * _IO_READ, _INVAL, _NOMEM.  *out owned by the caller. */
int wodan_dump_reader_new(wodan_read_fn fn, void *arg,
			  uint32_t max_value_bytes, wodan_dump_reader **out)
{
	struct wodan_dump_reader *rd;
	int r;

	wd_err_clear();
	if (!out || !fn)
		return wd_err(WODAN_E_INVAL, "dump reader: NULL argument");
	*out = NULL;
	rd = calloc(1, sizeof *rd);
	if (!rd)
		return wd_err(WODAN_E_NOMEM, "dump reader: out of memory");
	rd->fn = fn;
	rd->arg = arg;
	wodan_dump_reader_set_max_value(rd, max_value_bytes);
	r = rd_header(rd);
	if (r) {
		free(rd);
		return r;
	}
	rd->phase = PH_RECORDS;
	*out = rd;
	return 0;
}

/* The header read at creation (owned by rd). */
const struct wodan_dump_header *
wodan_dump_reader_header(const wodan_dump_reader *rd)
{
	return &rd->h;
}

/* Bound record values to max_value_bytes (0 or more than 65535: 65535). */
void wodan_dump_reader_set_max_value(wodan_dump_reader *rd,
				     uint32_t max_value_bytes)
{
	rd->max_value_bytes = max_value_bytes == 0 ||
		max_value_bytes > DUMP_MAX_VALUE ? DUMP_MAX_VALUE :
		max_value_bytes;
}

/* Read the rest of the record whose array head *a was consumed into
 * rd->key and rd->val; *val_len gets the value length in bytes. */
static int rd_record(struct wodan_dump_reader *rd, const struct head *a,
		     size_t *val_len)
{
	uint32_t ks = rd->h.key_size_bytes, max = rd->max_value_bytes;
	struct head k, v, e;
	uint64_t n;
	int r;

	if (!a->indef && a->v != 2)
		return bad(rd, WODAN_E_DUMP, a->off, "array of %" PRIu64
			   " elements, expected [key, value]", a->v);
	TRY(rd_item(rd, &k, "the key"));
	if (k.mt != 2)
		return bad(rd, WODAN_E_DUMP, k.off, "key is %s, expected a byte "
			   "string", mt_name[k.mt]);
	if (!k.indef && k.v != ks)     /* rejected before it is read */
		return bad(rd, WODAN_E_BAD_KEY, k.off, "key is %" PRIu64
			   " bytes, expected %" PRIu32, k.v, ks);
	if ((r = rd_string(rd, &k, rd->key, ks, ks, &n)) < 0)
		return r;
	if (r == 1 || n != ks)
		return bad(rd, WODAN_E_BAD_KEY, k.off, "key is %s%" PRIu64
			   " bytes, expected %" PRIu32, r ? "at least " : "", n,
			   ks);
	TRY(rd_item(rd, &v, "the value"));
	if (v.mt != 2)
		return bad(rd, WODAN_E_DUMP, v.off, "value is %s, expected a "
			   "byte string", mt_name[v.mt]);
	if ((r = rd_string(rd, &v, rd->val, max, max, &n)) < 0)
		return r;
	if (r == 1)
		return bad(rd, WODAN_E_VALUE_TOO_LARGE, v.off, "value is %s%"
			   PRIu64 " bytes, more than the maximum %" PRIu32,
			   v.indef ? "at least " : "", n, max);
	if (a->indef) {
		TRY(rd_head(rd, &e));
		if (!IS_BREAK(e))
			return bad(rd, WODAN_E_DUMP, a->off, "array has more than "
				   "2 elements, expected [key, value]");
	}
	*val_len = (size_t)n;
	return 0;
}

/* Next record (1), or 0 at a valid end.  Errors are sticky: later calls
 * repeat the first one.  See wodan_dump.h. */
int wodan_dump_reader_next(wodan_dump_reader *rd, const uint8_t **key,
			   const uint8_t **val, size_t *val_len)
{
	uint32_t crc = rd->crc;
	struct head a;
	int r;

	wd_err_clear();
	if (rd->fail.code)
		return wd_err_dump(rd->fail.code, rd->fail.offset_bytes,
				   rd->fail.record, "%s", rd->fail.message);
	if (rd->phase == PH_DONE)
		return 0;
	rd->in_rec = 1;
	r = rd_head(rd, &a);
	if (!r && a.mt == 5) {          /* the trailer: not record bytes */
		rd->in_rec = 0;
		rd->crc = crc;
		r = rd_trailer(rd, &a);
	} else if (!r && a.mt != 4) {
		r = bad(rd, WODAN_E_DUMP, a.off, "found %s where a [key, value] "
			"array or the trailer map was expected",
			IS_BREAK(a) ? "a break" : mt_name[a.mt]);
	} else if (!r) {
		r = rd_record(rd, &a, val_len);
	}
	rd->in_rec = 0;
	if (r < 0) {
		rd->fail = *wodan_last_error();
		rd->fail.code = r;
		return r;
	}
	if (rd->phase == PH_DONE)
		return 0;
	rd->rec_off = a.off;
	rd->records++;
	*key = rd->key;
	*val = rd->val;
	return 1;
}

/* Bytes consumed so far. */
uint64_t wodan_dump_reader_offset(const wodan_dump_reader *rd)
{
	return OFF(rd);
}

/* Records returned so far. */
uint64_t wodan_dump_reader_records(const wodan_dump_reader *rd)
{
	return rd->records;
}

/* Free the reader (NULL is ok). */
void wodan_dump_reader_free(wodan_dump_reader *rd)
{
	free(rd);
}
