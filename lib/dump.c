/*
 * dump.c -- the CBOR dump format of `wodanc dump` / `wodanc restore`
 * (doc/DUMP.md, version 1; API and ownership in wodan_dump.h).
 *
 * A dump is a CBOR sequence (doc/DUMP.md §1): tag 55799 + header
 * map, zero or more [key, value] records, then a trailer map {records,
 * crc32c} whose crc32c covers the exact encoded bytes of every record item.
 *
 * Writer: libcbor's encoders (cbor_encode_*) into a 64 KiB buffer handed to
 * the write callback in large chunks; definite lengths only.
 *
 * Reader (doc/DUMP.md §6): a small hand-written CBOR item-head
 * parser over a 64 KiB input window refilled from the read callback.  It
 * replaces libcbor's cbor_stream_decode, which reports a definite string only
 * once all of it sits in its buffer, so a declared length could not be
 * bounded before buffering.  Here every declared length is checked against
 * its bound (key size, maximum value) before any payload byte is read, and
 * unknown items are skipped by streaming through them (nesting bounded),
 * never by allocating: memory is the window plus one record (255 + 65535
 * bytes).  Indefinite-length strings (chunks), arrays and maps are accepted
 * wherever CBOR allows them.  The absolute byte offset of every item is
 * tracked; the CRC32C is computed over record bytes as they are consumed.
 *
 * Errors set wodan_last_error(): offset_bytes = offset of the offending item
 * (end of input when truncated), record = 0-based number of the record being
 * read (the count read so far in the trailer; UINT64_MAX in the header).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cbor.h>
#include "wodan_dump.h"
#include "error.h"
#include "crc.h"

#define DUMP_VERSION 1u
#define DUMP_TAG 55799u          /* self-described CBOR: d9 d9 f7 */
#define DUMP_MAX_VALUE 65535u    /* largest value any image holds, bytes */
#define IOBUF_BYTES 65536u       /* writer buffer and reader input window */
#define MAX_DEPTH 32             /* nesting bound when skipping items */
#define PROGRESS_EVERY 1000u     /* records between progress callbacks */
#define NONE UINT64_MAX

/* Evaluate e (an int expression); return its value from the caller if
 * non-zero. */
#define TRY(e) do { int try_r_ = (e); if (try_r_) return try_r_; } while (0)

/* ================================================================ writer */

struct wodan_dump_writer {
	wodan_write_fn fn;
	void *arg;
	uint32_t key_size_bytes;
	int err;             /* sticky: first failure, 0 if none */
	uint64_t records;    /* records written */
	uint64_t off;        /* bytes encoded so far (written + buffered) */
	uint32_t crc;        /* CRC32C of all record bytes so far */
	size_t len;          /* bytes buffered in buf */
	uint8_t buf[IOBUF_BYTES];
};

enum { H_UINT, H_BYTES, H_TEXT, H_ARRAY, H_MAP, H_TAG, H_BOOL };

/* Hand the buffered bytes to the write callback.  Returns 0 or
 * WODAN_E_IO_WRITE (sticky: later calls do nothing and return it). */
static int wr_flush(struct wodan_dump_writer *wr)
{
	int r;

	if (wr->err || wr->len == 0)
		return wr->err;
	r = wr->fn(wr->arg, wr->buf, wr->len);
	if (r < 0)
		return wr->err = wd_err_dump(WODAN_E_IO_WRITE, wr->off,
					     wr->records, "writing the dump: %s",
					     strerror(-r));
	wr->len = 0;
	return 0;
}

/* Append n raw bytes (CRC'd when in_rec), flushing whenever the buffer is
 * full.  Returns 0 or the sticky error. */
static int wr_put(struct wodan_dump_writer *wr, const void *p, size_t n,
		  int in_rec)
{
	const uint8_t *s = p;

	if (in_rec && n)
		wr->crc = wd_crc32c(wr->crc, s, n);
	wr->off += n;
	while (n && !wr->err) {
		size_t k = IOBUF_BYTES - wr->len;

		if (k > n)
			k = n;
		memcpy(wr->buf + wr->len, s, k);
		wr->len += k;
		s += k;
		n -= k;
		if (wr->len == IOBUF_BYTES)
			wr_flush(wr);
	}
	return wr->err;
}

/* Encode with libcbor one item head of the given kind (or a whole uint or
 * bool), at most 9 bytes, CRC'd when in_rec.  Returns 0 or the sticky
 * error. */
static int wr_head(struct wodan_dump_writer *wr, int kind, uint64_t v,
		   int in_rec)
{
	unsigned char *p;
	size_t room, n = 0;

	if (IOBUF_BYTES - wr->len < 9)
		wr_flush(wr);
	if (wr->err)
		return wr->err;
	p = wr->buf + wr->len;
	room = IOBUF_BYTES - wr->len;
	switch (kind) {
	case H_UINT: n = cbor_encode_uint(v, p, room); break;
	case H_BYTES: n = cbor_encode_bytestring_start((size_t)v, p, room); break;
	case H_TEXT: n = cbor_encode_string_start((size_t)v, p, room); break;
	case H_ARRAY: n = cbor_encode_array_start((size_t)v, p, room); break;
	case H_MAP: n = cbor_encode_map_start((size_t)v, p, room); break;
	case H_TAG: n = cbor_encode_tag(v, p, room); break;
	case H_BOOL: n = cbor_encode_bool(v != 0, p, room); break;
	}
	if (in_rec)
		wr->crc = wd_crc32c(wr->crc, p, n);
	wr->len += n;
	wr->off += n;
	return 0;
}

/* Encode a map pair: text key, then a head of the given kind (for uint and
 * bool: the whole value). */
static int wr_pair(struct wodan_dump_writer *wr, const char *key, int kind,
		   uint64_t v)
{
	wr_head(wr, H_TEXT, strlen(key), 0);
	wr_put(wr, key, strlen(key), 0);
	return wr_head(wr, kind, v, 0);
}

/* Start a dump: validate *h, encode the header and write it at once (so a
 * failing callback shows here).  Errors: WODAN_E_INVAL, _IO_WRITE, _NOMEM. */
int wodan_dump_writer_new(const struct wodan_dump_header *h,
			  wodan_write_fn fn, void *arg,
			  wodan_dump_writer **out)
{
	struct wodan_dump_writer *wr;
	int r;

	wd_err_clear();
	if (!out || !h || !fn)
		return wd_err(WODAN_E_INVAL, "dump writer: NULL argument");
	*out = NULL;
	if (h->version > DUMP_VERSION)   /* 0 is taken as 1 */
		return wd_err(WODAN_E_INVAL, "dump writer: version %" PRIu32
			      " unsupported (only 1)", h->version);
	if (h->key_size_bytes == 0 || h->key_size_bytes > 255)
		return wd_err(WODAN_E_INVAL, "dump writer: key size %" PRIu32
			      " bytes outside 1..255", h->key_size_bytes);
	wr = calloc(1, sizeof *wr);
	if (!wr)
		return wd_err(WODAN_E_NOMEM, "dump writer: out of memory");
	wr->fn = fn;
	wr->arg = arg;
	wr->key_size_bytes = h->key_size_bytes;
	wr_head(wr, H_TAG, DUMP_TAG, 0);
	wr_head(wr, H_MAP, 3u + !!h->has_block_size + !!h->has_generation +
		!!h->has_fsid, 0);
	wr_pair(wr, "wodan-dump", H_UINT, DUMP_VERSION);
	wr_pair(wr, "key-size", H_UINT, h->key_size_bytes);
	wr_pair(wr, "tombstones", H_BOOL, h->tombstones != 0);
	if (h->has_block_size)
		wr_pair(wr, "block-size", H_UINT, h->block_size_bytes);
	if (h->has_generation)
		wr_pair(wr, "generation", H_UINT, h->generation);
	if (h->has_fsid && !wr_pair(wr, "fsid", H_BYTES, 16))
		wr_put(wr, h->fsid, 16, 0);
	if ((r = wr_flush(wr))) {
		free(wr);
		return r;
	}
	*out = wr;
	return 0;
}

/* Append [key, value]: key_len must be the key size, val_len <= 65535
 * bytes.  Errors: WODAN_E_BAD_KEY, _VALUE_TOO_LARGE, _IO_WRITE (sticky). */
int wodan_dump_writer_record(wodan_dump_writer *wr, const void *key,
			     size_t key_len, const void *val, size_t val_len)
{
	wd_err_clear();
	if (wr->err)
		return wd_err_dump(wr->err, wr->off, wr->records,
				   "dump writer already failed");
	if (key_len != wr->key_size_bytes)
		return wd_err_dump(WODAN_E_BAD_KEY, wr->off, wr->records,
				   "record %" PRIu64 ": key is %zu bytes, expected %"
				   PRIu32, wr->records, key_len, wr->key_size_bytes);
	if (val_len > DUMP_MAX_VALUE)
		return wd_err_dump(WODAN_E_VALUE_TOO_LARGE, wr->off, wr->records,
				   "record %" PRIu64 ": value is %zu bytes, more "
				   "than %u", wr->records, val_len, DUMP_MAX_VALUE);
	wr_head(wr, H_ARRAY, 2, 1);
	wr_head(wr, H_BYTES, key_len, 1);
	wr_put(wr, key, key_len, 1);
	wr_head(wr, H_BYTES, val_len, 1);
	TRY(wr_put(wr, val, val_len, 1));
	wr->records++;
	return 0;
}

/* Encode the trailer, write all buffered bytes, free wr (always).  *records
 * (may be NULL) gets the count.  Errors: WODAN_E_IO_WRITE. */
int wodan_dump_writer_finish(wodan_dump_writer *wr, uint64_t *records)
{
	int r;

	wd_err_clear();
	if (records)
		*records = wr->records;
	if (wr->err) {
		r = wd_err_dump(wr->err, wr->off, wr->records,
				"dump writer already failed");
	} else {
		wr_head(wr, H_MAP, 2, 0);
		wr_pair(wr, "records", H_UINT, wr->records);
		wr_pair(wr, "crc32c", H_UINT, wr->crc);
		r = wr_flush(wr);
	}
	free(wr);
	return r;
}

/* Free without writing a trailer (NULL is ok). */
void wodan_dump_writer_free(wodan_dump_writer *wr)
{
	free(wr);
}

/* ================================================================ reader */

enum { PH_HEADER, PH_RECORDS, PH_TRAILER, PH_DONE };

struct wodan_dump_reader {
	wodan_read_fn fn;
	void *arg;
	struct wodan_dump_header h;
	uint32_t max_value_bytes;
	int phase;           /* PH_*: which part is being read */
	int eof;             /* the read callback returned 0 */
	int in_rec;          /* consumed bytes go into crc */
	uint32_t crc;        /* CRC32C of the record bytes so far */
	uint64_t records;    /* records returned */
	uint64_t rec_off;    /* offset of the last record returned */
	uint64_t base;       /* absolute offset of buf[0] */
	size_t pos, len;     /* unread input is buf[pos..len) */
	struct wodan_error_detail fail; /* sticky error (fail.code != 0) */
	uint8_t key[255];
	uint8_t val[DUMP_MAX_VALUE];
	uint8_t buf[IOBUF_BYTES];
};

/* A CBOR item head: offset, major type, additional info, argument (length,
 * count, value or tag number); indef for ai 31 (with mt 7: a break). */
struct head {
	uint64_t off;
	int mt, ai, indef;
	uint64_t v;
};

#define OFF(rd) ((rd)->base + (rd)->pos)
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

/* ================================================== image <-> dump helpers */

/* Re-raise the current error `code` with a dump byte offset and record
 * number, keeping the original message (and block).  final: the error is
 * from the final flush, after rec records. */
static int annotate(int code, uint64_t off, uint64_t rec, int final)
{
	const struct wodan_error_detail *d = wodan_last_error();
	char msg[300];

	if (d->code != code)
		snprintf(msg, sizeof msg, "%s", wodan_strerror(code));
	else if (d->block != UINT64_MAX)
		snprintf(msg, sizeof msg, "%s (block %" PRIu64 ")", d->message,
			 d->block);
	else
		snprintf(msg, sizeof msg, "%s", d->message);
	if (final)
		return wd_err_dump(code, off, rec, "final flush after %" PRIu64
				   " records (byte %" PRIu64 "): %s", rec, off,
				   msg);
	return wd_err_dump(code, off, rec, "record %" PRIu64 " at byte %"
			   PRIu64 ": %s", rec, off, msg);
}

/* wodan_dump's iteration state. */
struct dump_ctx {
	wodan_dump_writer *wr;
	uint32_t key_size_bytes;
	wodan_progress_fn progress;
	void *progress_arg;
	struct wodan_error_detail fail;  /* why the callback stopped */
};

/* wodan_iter_fn: write one record; progress every PROGRESS_EVERY. */
static int dump_one(void *arg, const uint8_t *key, const uint8_t *val,
		    size_t val_len)
{
	struct dump_ctx *c = arg;
	int r = wodan_dump_writer_record(c->wr, key, c->key_size_bytes, val,
					 val_len);

	if (!r && c->progress && c->wr->records % PROGRESS_EVERY == 0 &&
	    c->progress(c->progress_arg, c->wr->records, 0))
		r = wd_err(WODAN_E_ABORTED, "dump aborted by the progress "
			   "callback after %" PRIu64 " records", c->wr->records);
	if (r)
		c->fail = *wodan_last_error();
	return r != 0;
}

/* Dump the live keys of w in [start, end) with a full header.  Errors: as
 * wodan_iterate, WODAN_E_IO_WRITE, _ABORTED (progress).  See wodan_dump.h. */
int wodan_dump(wodan_t *w, const void *start, const void *end,
	       wodan_write_fn fn, void *arg, wodan_progress_fn progress,
	       void *progress_arg, uint64_t *records)
{
	struct wodan_dump_header h;
	struct wodan_info info;
	struct dump_ctx c;
	int r;

	wd_err_clear();
	if (records)
		*records = 0;
	TRY(wodan_get_info(w, &info));
	memset(&h, 0, sizeof h);
	h.version = DUMP_VERSION;
	h.key_size_bytes = info.key_size_bytes;
	h.tombstones = info.tombstones;
	h.has_block_size = h.has_generation = h.has_fsid = 1;
	h.block_size_bytes = info.block_size_bytes;
	h.generation = info.generation;
	memcpy(h.fsid, info.fsid, 16);
	memset(&c, 0, sizeof c);
	TRY(wodan_dump_writer_new(&h, fn, arg, &c.wr));
	c.key_size_bytes = info.key_size_bytes;
	c.progress = progress;
	c.progress_arg = progress_arg;
	r = wodan_iterate(w, start, end, dump_one, &c);
	if (r == WODAN_E_ABORTED && c.fail.code)   /* the callback's reason */
		r = wd_err_dump(c.fail.code, c.fail.offset_bytes, c.fail.record,
				"%s", c.fail.message);
	if (r) {
		if (records)
			*records = c.wr->records;
		wodan_dump_writer_free(c.wr);
		return r;
	}
	return wodan_dump_writer_finish(c.wr, records);
}

/* Apply record number rec (at byte off) to w: insert, or delete for an
 * empty value in a tombstone dump; on NEEDS_FLUSH flush and retry.  A
 * retry that needs a flush again has reorganised the tree (what it did is
 * kept); after RESTORE_MAX_FLUSHES rounds the record counts as out of
 * space (the library itself answers OUT_OF_SPACE once nothing is dirty). */
#define RESTORE_MAX_FLUSHES 16
static int restore_one(wodan_t *w, const struct wodan_info *info,
		       const struct wodan_dump_header *h, uint64_t off,
		       uint64_t rec, const uint8_t *key, const uint8_t *val,
		       size_t val_len)
{
	int del = val_len == 0 && h->tombstones, flushed = 0, r;


	/* an empty value means deletion on one side only: not restorable */
	if (val_len == 0 && !h->tombstones != !info->tombstones)
		return wd_err_dump(WODAN_E_NOT_SUPPORTED, off, rec, "record %"
				   PRIu64 " at byte %" PRIu64 ": %s", rec, off,
				   h->tombstones ? "empty value (a deletion) but "
				   "the image has no tombstones" : "empty value, "
				   "but the image has tombstones: it would "
				   "delete the key");
	for (;;) {
		r = del ? wodan_delete(w, key, info->key_size_bytes)
			: wodan_insert(w, key, info->key_size_bytes, val,
				       val_len);
		if (r != WODAN_E_NEEDS_FLUSH)
			break;
		if (flushed >= RESTORE_MAX_FLUSHES)
			return wd_err_dump(WODAN_E_OUT_OF_SPACE, off, rec,
					   "record %" PRIu64 " at byte %" PRIu64
					   ": no room after %d flushes",
					   rec, off, flushed);
		if ((r = wodan_flush(w, NULL)))
			break;
		flushed++;
	}
	return r ? annotate(r, off, rec, 0) : 0;
}

/* Insert every record of rd into w, flush at the end.  *records gets the
 * count applied.  Errors: WODAN_E_BAD_PARAMS (key size), reader errors,
 * insert/delete/flush errors (annotated with record and offset),
 * _NOT_SUPPORTED, _OUT_OF_SPACE, _ABORTED (progress).  See wodan_dump.h. */
int wodan_restore(wodan_t *w, wodan_dump_reader *rd,
		  wodan_progress_fn progress, void *progress_arg,
		  uint64_t *records)
{
	const uint8_t *key, *val;
	struct wodan_info info;
	uint64_t done = 0;
	size_t val_len;
	int r;

	wd_err_clear();
	if (records)
		*records = 0;
	if (!w || !rd)
		return wd_err(WODAN_E_INVAL, "restore: NULL argument");
	TRY(wodan_get_info(w, &info));
	if (rd->h.key_size_bytes != info.key_size_bytes)
		return wd_err(WODAN_E_BAD_PARAMS, "dump key size is %" PRIu32
			      " bytes, the image's key size is %" PRIu32 " bytes",
			      rd->h.key_size_bytes, info.key_size_bytes);
	wodan_dump_reader_set_max_value(rd, info.max_value_bytes);
	while ((r = wodan_dump_reader_next(rd, &key, &val, &val_len)) == 1) {
		r = restore_one(w, &info, &rd->h, rd->rec_off, rd->records - 1,
				key, val, val_len);
		if (r)
			break;
		done++;
		if (progress && done % PROGRESS_EVERY == 0 &&
		    progress(progress_arg, done, 0)) {
			r = wd_err_dump(WODAN_E_ABORTED, OFF(rd), done, "restore "
					"aborted by the progress callback after %"
					PRIu64 " records", done);
			break;
		}
	}
	if (r == 0 && (r = wodan_flush(w, NULL)))
		r = annotate(r, OFF(rd), done, 1);
	if (records)
		*records = done;
	return r;
}
