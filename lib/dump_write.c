/*
 * dump_write.c -- the dump writer (doc/DUMP.md; wodan_dump.h): libcbor's
 * encoders (cbor_encode_*) into a 64 KiB buffer handed to the write
 * callback in large chunks; definite lengths only.  Format overview in
 * dump.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cbor.h>
#include "dump.h"
#include "error.h"
#include "crc.h"

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
